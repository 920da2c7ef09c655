using Keras.Rnn.Metrics;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>Regression and probabilistic metrics against keras/src/metrics/regression_metrics_test.py and
/// probabilistic_metrics_test.py (golden values there are checked to about 1e-3).</summary>
public class RegressionAndProbabilisticMetricsTests
{
    private static double Run(Metric m, Tensor yTrue, Tensor yPred, Tensor? sw = null, Tensor? mask = null)
    {
        m.UpdateState(yTrue, yPred, sw, mask);
        return m.Result();
    }

    private static readonly double[] WT = [0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1];
    private static readonly double[] WP = [0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1];

    [Fact]
    public void MseMae_KerasGoldenValues()
    {
        Near(0.5, Run(new MeanSquaredError(), F([4, 5], WT), F([4, 5], WP)));
        Near(0.54285, Run(new MeanSquaredError(), F([4, 5], WT), F([4, 5], WP), F1(1.0, 1.5, 2.0, 2.5)), 1e-5);
        Near(0.5, Run(new MeanAbsoluteError(), F([4, 5], WT), F([4, 5], WP)));
        Near(0.54285, Run(new MeanAbsoluteError(), F([4, 5], WT), F([4, 5], WP), F1(1.0, 1.5, 2.0, 2.5)), 1e-5);
    }

    [Fact]
    public void RootMeanSquaredError_KerasGoldenValues_IgnoresMask()
    {
        Near(Math.Sqrt(6), Run(new RootMeanSquaredError(), I([3], 2, 4, 6), I([3], 1, 3, 2)), 1e-6);
        Near(Math.Sqrt(13), Run(new RootMeanSquaredError(), I([4], 2, 4, 6, 8), I([4], 1, 3, 2, 3), I([4], 0, 1, 0, 1)), 1e-6);
        // Keras 3.15's RootMeanSquaredError derives from Mean and does not look at the mask.
        var t = F([2, 2, 1], 0, 0, 0, 0);
        var p = F([2, 2, 1], 1, 2, 3, 4);
        Near(Math.Sqrt((1 + 4 + 9 + 16) / 4.0), Run(new RootMeanSquaredError(), t, p, mask: B([2, 2], true, false, true, false)), 1e-6);
    }

    [Fact]
    public void LogCoshAndCosine_MatchDoublePrecision()
    {
        double[] t = [1, 9, 2, -5, -2, 6];
        double[] p = [4, 8, 12, 8, 1, 3];
        double LC(int i) { double e = p[i] - t[i]; return Math.Log((Math.Exp(e) + Math.Exp(-e)) / 2); }
        Near(Enumerable.Range(0, 6).Sum(LC) / 6, Run(new LogCoshError(), F([2, 3], t), F([2, 3], p)), 1e-4);
        Assert.Equal("logcosh", new LogCoshError().Name);
        double Cos(int r) => Enumerable.Range(0, 3).Sum(j => t[r * 3 + j] * p[r * 3 + j])
                             / Math.Sqrt(Enumerable.Range(0, 3).Sum(j => t[r * 3 + j] * t[r * 3 + j]) * Enumerable.Range(0, 3).Sum(j => p[r * 3 + j] * p[r * 3 + j]));
        Near((Cos(0) + Cos(1)) / 2, Run(new CosineSimilarity(), F([2, 3], t), F([2, 3], p)), 1e-6);
    }

    [Fact]
    public void KLDivergenceAndPoisson_KerasTests()
    {
        double[] kp = [0.4, 0.9, 0.12, 0.36, 0.3, 0.4];
        double[] kt = [0.5, 0.8, 0.12, 0.7, 0.43, 0.8];
        double K(int i) => kt[i] * Math.Log(kt[i] / kp[i]);
        Near(Enumerable.Range(0, 6).Sum(K) / 2, Run(new KLDivergence(), F([2, 3], kt), F([2, 3], kp)), 1e-5);
        double[] w = [1.2, 3.4];
        Near(Enumerable.Range(0, 6).Sum(i => w[i / 3] * K(i)) / (1.2 + 3.4) / 1.0 * 1.0,
            Run(new KLDivergence(), F([2, 3], kt), F([2, 3], kp), F([2, 1], w)) , 1e-5);
        double[] pp = [1, 9, 2, 5, 2, 6];
        double[] pt = [4, 8, 12, 8, 1, 3];
        double P(int i) => pp[i] - pt[i] * Math.Log(pp[i]);
        Near(Enumerable.Range(0, 6).Sum(P) / 6, Run(new Poisson(), F([2, 3], pt), F([2, 3], pp)), 1e-4);
        Near(Enumerable.Range(0, 6).Sum(i => w[i / 3] * P(i)) / (3 * 1.2 + 3 * 3.4),
            Run(new Poisson(), F([2, 3], pt), F([2, 3], pp), F([2, 1], w)), 1e-4);
    }

    [Fact]
    public void BinaryCrossentropy_KerasGoldenValues()
    {
        var t = I([2, 2], 1, 0, 1, 0);
        var p = F([2, 2], 1, 1, 1, 0);
        Near(3.9855, Run(new BinaryCrossentropy(), t, p), 1e-3);
        Near(3.4162, Run(new BinaryCrossentropy(), t, p, F1(1.5, 2.0)), 1e-3);
        var tl = I([2, 3], 1, 0, 1, 0, 1, 1);
        var logits = F([2, 3], 10, -10, 10, 10, 10, -10);
        Near(3.333, Run(new BinaryCrossentropy(fromLogits: true), tl, logits), 1e-3);
        Near(3.7037, Run(new BinaryCrossentropy(fromLogits: true), tl, logits, F1(2.0, 2.5)), 1e-3);
        Near((10.0 + 5.0 * 0.1) / 3.0, Run(new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1), I([1, 3], 1, 0, 1), F([1, 3], 10, -10, -10)), 1e-3);
        // Labels (B,) with predictions (B, 1), as the loss accepts them.
        Near(-(Math.Log(0.9) + Math.Log(0.8)) / 2, Run(new BinaryCrossentropy(), F1(1, 0), F([2, 1], 0.9, 0.2)), 1e-6);
    }

    [Fact]
    public void CategoricalCrossentropies_KerasGoldenValues()
    {
        var t = I([2, 3], 0, 1, 0, 0, 0, 1);
        var p = F([2, 3], 0.05, 0.95, 0, 0.1, 0.8, 0.1);
        var logits = F([2, 3], 1, 9, 0, 1, 8, 1);
        Near(1.176, Run(new CategoricalCrossentropy(), t, p), 1e-3);
        Near(3.5011, Run(new CategoricalCrossentropy(fromLogits: true), t, logits), 1e-3);
        Near(1.338, Run(new CategoricalCrossentropy(), t, p, F1(1.5, 2.0)), 1e-3);
        Near(4.0012, Run(new CategoricalCrossentropy(fromLogits: true), t, logits, F1(1.5, 2.0)), 1e-3);
        Near(3.667, Run(new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1), t, logits), 1e-3);

        var y = I([2], 1, 2);
        Near(1.176, Run(new SparseCategoricalCrossentropy(), y, p), 1e-3);
        Near(3.5011, Run(new SparseCategoricalCrossentropy(fromLogits: true), y, logits), 1e-3);
        Near(1.338, Run(new SparseCategoricalCrossentropy(), y, p, F1(1.5, 2.0)), 1e-3);
        Near(4.0012, Run(new SparseCategoricalCrossentropy(fromLogits: true), y, logits, F1(1.5, 2.0)), 1e-3);
    }

    [Fact]
    public void SparseCrossentropy_IgnoreClass_KerasQuirk()
    {
        // probabilistic_metrics_test.py test_ignore_class: without weights the ignored entry still counts
        // (0.78462 = (0 + 0.0513 + 2.3026) / 3); with weights it leaves the count (1.33774646).
        var y = I([3], 0, 1, 2);
        var p = F([3, 3], 0.8, 0.1, 0.1, 0.05, 0.95, 0, 0.1, 0.8, 0.1);
        Near(0.78462, Run(new SparseCategoricalCrossentropy(ignoreClass: 0), y, p), 1e-4);
        Near(1.33774646, Run(new SparseCategoricalCrossentropy(ignoreClass: 0), y, p, F1(0.5, 1.5, 2.0)), 1e-4);
        Near(2.33409, Run(new SparseCategoricalCrossentropy(fromLogits: true, ignoreClass: 0), y, F([3, 3], 10, 1, 1, 1, 9, 0, 1, 8, 1)), 1e-3);
    }

    [Fact]
    public void CrossentropyMetric_OnMaskedSequence_HandDerived()
    {
        double[] p =
        [
            0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4,
            0.25, 0.25, 0.5, 0.6, 0.3, 0.1, 0.2, 0.2, 0.6,
        ];
        long[] y = [0, 1, 2, 2, 1, 0];
        bool[] m = [true, true, false, true, true, false];
        double expected = Enumerable.Range(0, 6).Where(i => m[i]).Sum(i => -Math.Log(p[i * 3 + y[i]])) / m.Count(b => b);
        Near(expected, Run(new SparseCategoricalCrossentropy(), I([2, 3], y), F([2, 3, 3], p), mask: B([2, 3], m)), 1e-5);
    }
}
