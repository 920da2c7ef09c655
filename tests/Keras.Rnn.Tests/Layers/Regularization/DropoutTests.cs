using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Regularization;

/// <summary>Dropout against Keras 3.15's regularization/dropout_test.py.</summary>
public class DropoutTests
{
    [Fact]
    public void InferenceIsIdentity()
    {
        var x = torch.rand(3, 4);
        var y = new Dropout(0.5).Apply(x, training: false);
        Assert.Equal(x.data<float>().ToArray(), y.data<float>().ToArray());
    }

    [Fact]
    public void Rescaling()
    {
        // test_dropout_rescaling: ones (20, 500), rate 0.5 → mean ≈ 1 (atol 0.02), max 2; kept values are exactly 2.
        // Seeded, and 5 standard deviations (0.01 each for 10,000 draws) so the test is not flaky.
        KerasApi.SetRandomSeed(20);
        var y = new Dropout(0.5).Apply(torch.ones(20, 500), training: true);
        Assert.InRange(y.mean().item<float>(), 0.95f, 1.05f);
        Assert.Equal(2f, y.max().item<float>());
        Assert.True(y.eq(0).logical_or(y.eq(2)).all().item<bool>());
    }

    [Fact]
    public void NoiseShapeBroadcastsOverTime()
    {
        // test_dropout_partial_noise_shape_dynamic / _static: noise_shape (None, 1, None) and (20, 1, 10).
        foreach (var noise in new Shape[] { new(null, 1, null), new(20, 1, 10) })
        {
            var y = new Dropout(0.5, noiseShape: noise).Apply(torch.ones(20, 5, 10), training: true);
            for (int t = 1; t < 5; t++) Assert.True(y.select(1, 0).eq(y.select(1, t)).all().item<bool>(), $"step {t} differs from step 0");
            Assert.True(y.eq(0).any().item<bool>() && y.eq(2).any().item<bool>());
        }
    }

    [Fact]
    public void InvalidRate()
    {
        // test_dropout_negative_rate / _rate_greater_than_one.
        Assert.Contains("between 0 and 1", Assert.Throws<ArgumentException>(() => new Dropout(-0.5)).Message);
        Assert.Contains("between 0 and 1", Assert.Throws<ArgumentException>(() => new Dropout(1.5)).Message);
    }

    [Fact]
    public void PassesMaskOn()
    {
        var mask = torch.tensor(new[] { true, false, true }, [1, 3]);
        var y = new Dropout(0.3).Apply(torch.ones(1, 3, 2), mask);
        Assert.Same(mask, Layer.GetMask(y));
    }
}
