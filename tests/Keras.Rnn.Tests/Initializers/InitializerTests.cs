using Keras.Rnn.Initializers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Initializers;

/// <summary>Initializers against their defining distributions (Keras' formulas for the bounds and variances).</summary>
public class InitializerTests
{
    [Fact]
    public void GlorotUniformStaysWithinItsLimitAndHasItsVariance()
    {
        KerasApi.SetRandomSeed(3);
        using var w = new GlorotUniform().Call([300, 200]);
        double limit = Math.Sqrt(6.0 / (300 + 200));
        Assert.True(w.abs().max().item<float>() <= limit);
        Assert.Equal(limit * limit / 3, w.var().item<float>(), 1e-3);
        Assert.Equal(0, w.mean().item<float>(), 1e-2);
    }

    [Theory]
    [InlineData("glorot_normal", 1.0, "fan_avg")]
    [InlineData("he_normal", 2.0, "fan_in")]
    [InlineData("lecun_normal", 1.0, "fan_in")]
    public void TruncatedNormalFamiliesHaveKerasStandardDeviationAndTruncation(string id, double scale, string mode)
    {
        KerasApi.SetRandomSeed(5);
        long fanIn = 400, fanOut = 100;
        using var w = Initializer.Get(id).Call([fanIn, fanOut]);
        double n = mode == "fan_in" ? fanIn : (fanIn + fanOut) / 2.0;
        double target = Math.Sqrt(scale / n);
        // Keras divides by 0.8796..., the std of a standard normal truncated to ±2, so the result has std `target`.
        Assert.Equal(target, w.std().item<float>(), 1e-3);
        Assert.True(w.abs().max().item<float>() <= 2 * target / 0.87962566103423978 + 1e-6);
    }

    [Fact]
    public void HeUniformAndLecunUniformLimits()
    {
        using var he = new HeUniform(seed: 1).Call([50, 20]);
        Assert.True(he.abs().max().item<float>() <= Math.Sqrt(6.0 / 50));
        using var lecun = new LecunUniform(seed: 1).Call([50, 20]);
        Assert.True(lecun.abs().max().item<float>() <= Math.Sqrt(3.0 / 50));
    }

    [Theory]
    [InlineData(8, 32)]
    [InlineData(32, 8)]
    [InlineData(16, 16)]
    public void OrthogonalRowsOrColumnsAreOrthonormal(int rows, int cols)
    {
        using var q = new Orthogonal(gain: 1.0, seed: 7).Call([rows, cols]);
        using var gram = rows >= cols ? q.t().matmul(q) : q.matmul(q.t());
        using var eye = torch.eye(Math.Min(rows, cols));
        Assert.True(gram.allclose(eye, atol: 1e-5));
        using var scaled = new Orthogonal(gain: 2.0, seed: 7).Call([rows, cols]);
        Assert.True(scaled.allclose(q.mul(2), atol: 1e-6));
    }

    [Fact]
    public void SeededInitializersRepeatAndUnseededDiffer()
    {
        using var a = new RandomNormal(seed: 11).Call([5, 5]);
        using var b = new RandomNormal(seed: 11).Call([5, 5]);
        Assert.True(a.EqualsExactly(b));
        using var c = new RandomNormal().Call([5, 5]);
        using var d = new RandomNormal().Call([5, 5]);
        Assert.False(c.EqualsExactly(d));
        using var u = new RandomUniform(-0.5, 0.25, seed: 2).Call([1000]);
        Assert.True(u.min().item<float>() >= -0.5 && u.max().item<float>() < 0.25);
    }

    [Fact]
    public void ConstantFamilies()
    {
        Assert.Equal(0, new Zeros().Call([3]).sum().item<float>());
        Assert.Equal(6, new Ones().Call([2, 3]).sum().item<float>());
        Assert.Equal(new float[] { 2.5f, 2.5f }, new Constant(2.5).Call([2]).data<float>().ToArray());
        Assert.True(new Identity(3).Call([2, 2]).EqualsExactly(torch.tensor(new float[] { 3, 0, 0, 3 }).reshape(2, 2)));
    }

    [Fact]
    public void KerasIdentifiersAndErrors()
    {
        Assert.IsType<GlorotUniform>(Initializer.Get("GlorotUniform"));
        Assert.IsType<Orthogonal>((Initializer)"orthogonal");
        Assert.IsType<RandomUniform>(Initializer.Get("uniform"));
        var e = Assert.Throws<ArgumentException>(() => Initializer.Get("glorot_triangular"));
        Assert.Contains("glorot_triangular", e.Message);
        Assert.Throws<ArgumentException>(() => new VarianceScaling(scale: -1));
        Assert.Throws<ArgumentException>(() => new VarianceScaling(mode: "fan_middle"));
    }
}
