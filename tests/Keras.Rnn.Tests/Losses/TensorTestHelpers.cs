using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Losses;

/// <summary>Small builders and checks shared by the loss and metric tests.</summary>
internal static class TT
{
    /// <summary>A float32 tensor of <paramref name="shape"/> from values given in row-major order.</summary>
    public static Tensor F(long[] shape, params double[] values) =>
        torch.tensor(values.Select(v => (float)v).ToArray(), shape);

    /// <summary>A rank-1 float32 tensor.</summary>
    public static Tensor F1(params double[] values) => F([values.Length], values);

    /// <summary>An int64 tensor.</summary>
    public static Tensor I(long[] shape, params long[] values) => torch.tensor(values, shape);

    /// <summary>A bool tensor.</summary>
    public static Tensor B(long[] shape, params bool[] values) => torch.tensor(values, shape);

    /// <summary>The value of a scalar tensor.</summary>
    public static double S(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    /// <summary>The values of a tensor, flattened.</summary>
    public static double[] V(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

    /// <summary>Asserts |expected - actual| ≤ tol.</summary>
    public static void Near(double expected, double actual, double tol = 1e-5) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"expected {expected}, got {actual} (tolerance {tol})");

    /// <summary>Element-wise <see cref="Near(double, double, double)"/>.</summary>
    public static void Near(double[] expected, double[] actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"[{i}] expected {expected[i]}, got {actual[i]} (tolerance {tol}); all: [{string.Join(", ", actual)}]");
    }

    /// <summary>float32 value of the clip bounds Keras uses (1e-7 and 1 - 1e-7 rounded to float32).</summary>
    public static readonly double EpsF = (float)1e-7;

    /// <summary>1 - 1e-7 rounded to float32 (0.99999988...).</summary>
    public static readonly double OneMinusEpsF = (float)(1 - 1e-7);
}
