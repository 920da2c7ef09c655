using System.Runtime.Intrinsics;
using Keras.Rnn.Backend;
using Xunit;

namespace Keras.Rnn.Tests.Backend;

/// <summary>
/// The vectorised <c>exp</c>, <c>sigmoid</c> and <c>tanh</c> of the fused CPU recurrent steps (<see cref="FastMath"/>)
/// against double-precision <see cref="Math"/> over the whole float range: a few units in the last place, saturation
/// at the ends, NaN propagated (a diverging model must not be hidden).
/// </summary>
public class FastMathTests
{
    /// <summary>Arguments: a dense grid near zero, a coarse one to ±100, the switch points and the ends of the range.</summary>
    private static float[] Arguments()
    {
        var values = new List<float>();
        for (int i = -20000; i <= 20000; i++) values.Add(i * 1e-4f);          // [-2, 2] in steps of 1e-4
        for (int i = -10000; i <= 10000; i++) values.Add(i * 1e-2f);          // [-100, 100]
        for (int e = -40; e <= 0; e++) { values.Add(MathF.Pow(2, e)); values.Add(-MathF.Pow(2, e)); }
        values.AddRange([0.625f, -0.625f, 0.62499994f, 9f, -9f, 87.3f, -87.3f, 88.3f, -88.3f, 1e-30f, -1e-30f, 0f, -0f]);
        while (values.Count % 8 != 0) values.Add(0.5f);
        return [.. values];
    }

    private static float[] Apply(Func<Vector256<float>, Vector256<float>> f, float[] x)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 8) f(Vector256.Create(x, i)).CopyTo(y, i);
        return y;
    }

    private static void AssertClose(double expected, float actual, double relative, double absolute, float x, string what)
    {
        double error = Math.Abs(actual - expected);
        Assert.True(error <= absolute || error <= relative * Math.Abs(expected),
            $"{what}({x:R}) = {actual:R}, expected {expected:R} (error {error:E2})");
    }

    [Fact]
    public void ExpIsAccurateToAFewUlpsInTheNormalRange()
    {
        var x = Arguments().Where(v => v is > -87f and < 88f).ToArray();
        while (x.Length % 8 != 0) x = [.. x, 1f];
        var y = Apply(FastMath.Exp, x);
        for (int i = 0; i < x.Length; i++) AssertClose(Math.Exp(x[i]), y[i], 3e-7, 0, x[i], "exp");
    }

    [Fact]
    public void SigmoidIsAccurateAndSaturates()
    {
        var x = Arguments();
        var y = Apply(FastMath.Sigmoid, x);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = 1 / (1 + Math.Exp(-(double)x[i]));
            // Below e^-87 the result is denormal or zero in float; an absolute bound covers it.
            AssertClose(expected, y[i], 4e-7, 1e-37, x[i], "sigmoid");
            Assert.InRange(y[i], 0f, 1f);
        }
    }

    [Fact]
    public void TanhIsAccurateOddAndSaturates()
    {
        var x = Arguments();
        var y = Apply(FastMath.Tanh, x);
        for (int i = 0; i < x.Length; i++)
        {
            AssertClose(Math.Tanh(x[i]), y[i], 3e-7, 1e-38, x[i], "tanh");
            Assert.InRange(y[i], -1f, 1f);
        }
        var negated = Apply(FastMath.Tanh, x.Select(v => -v).ToArray());
        for (int i = 0; i < x.Length; i++) Assert.Equal(-y[i], negated[i]);
        // The pointer overload (SIMD blocks and a scalar tail) agrees with double precision too.
        var buffer = x.Take(1003).ToArray();
        var result = new float[buffer.Length];
        unsafe
        {
            fixed (float* source = buffer, destination = result) FastMath.Tanh(source, destination, buffer.Length);
        }
        for (int i = 0; i < buffer.Length; i++) AssertClose(Math.Tanh(buffer[i]), result[i], 3e-7, 1e-38, buffer[i], "tanh (span)");
    }

    [Fact]
    public void InfinitiesSaturateAndNaNPropagates()
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1000f, -1000f, float.MaxValue, float.MinValue, 0f];
        var s = Apply(FastMath.Sigmoid, x);
        var t = Apply(FastMath.Tanh, x);
        Assert.Equal(1f, s[0]);
        Assert.Equal(0f, s[1], 1e-37f);
        Assert.True(float.IsNaN(s[2]), $"sigmoid(NaN) = {s[2]}");
        Assert.Equal(1f, s[3]);
        Assert.Equal(0f, s[4], 1e-37f);
        Assert.Equal(0.5f, s[7]);
        Assert.Equal([1f, -1f], t[..2]);
        Assert.True(float.IsNaN(t[2]), $"tanh(NaN) = {t[2]}");
        Assert.Equal([1f, -1f, 1f, -1f, 0f], t[3..]);
        Assert.True(float.IsNaN(FastMath.Exp(Vector256.Create(float.NaN)).GetElement(0)), "exp(NaN)");
    }
}
