using Keras.Rnn.Constraints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>Helpers shared by the optimizer tests.</summary>
internal static class OptimizerTestUtil
{
    /// <summary>A trainable weight with the given values; its name is the last part of <paramref name="path"/>.</summary>
    public static Variable Var(double[] values, string path = "x", ScalarType dtype = ScalarType.Float32, Constraint? constraint = null)
    {
        var name = path.Contains('/') ? path[(path.LastIndexOf('/') + 1)..] : path;
        using var t = torch.tensor(values, dtype);
        return new Variable(name, path, t, trainable: true, regularizer: null, constraint: constraint);
    }

    /// <summary>A scalar trainable weight.</summary>
    public static Variable Scalar(double value, string name = "x", ScalarType dtype = ScalarType.Float32)
    {
        using var t = torch.tensor(value, dtype);
        return new Variable(name, name, t, trainable: true, regularizer: null, constraint: null);
    }

    /// <summary>A gradient tensor.</summary>
    public static Tensor Grad(double[] values, ScalarType dtype = ScalarType.Float32) => torch.tensor(values, dtype);

    /// <summary>The values of a tensor as doubles.</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.detach().cpu().to(ScalarType.Float64).flatten();
        return d.data<double>().ToArray();
    }

    /// <summary>The values of a weight as doubles.</summary>
    public static double[] Values(Variable v) => Values(v.Value);

    /// <summary>Applies one step with one gradient per weight.</summary>
    public static void Step(Keras.Rnn.Optimizers.Optimizer opt, Variable[] vars, params double[][] grads)
    {
        var dtype = vars[0].Value.dtype;
        var g = grads.Select(x => (Tensor?)torch.tensor(x, dtype)).ToArray();
        try { opt.ApplyGradients(g, vars); }
        finally { foreach (var t in g) t!.Dispose(); }
    }

    /// <summary>Asserts element-wise closeness: |a − e| ≤ atol + rtol·|e| (numpy's assert_allclose rule).</summary>
    public static void AssertClose(double[] expected, double[] actual, double atol, double rtol = 0.0, string? what = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = atol + rtol * Math.Abs(expected[i]);
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol,
                $"{what ?? "value"}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {Math.Abs(actual[i] - expected[i]):E3} > {tol:E3})");
        }
    }
}
