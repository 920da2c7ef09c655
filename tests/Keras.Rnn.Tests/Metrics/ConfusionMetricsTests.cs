using Keras.Rnn.Metrics;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>Precision, Recall and AUC against keras/src/metrics/confusion_metrics_test.py (PrecisionTest, RecallTest,
/// AUCTest, MultiAUCTest).</summary>
public class ConfusionMetricsTests
{
    private static double Run(Metric m, Tensor yTrue, Tensor yPred, Tensor? sw = null)
    {
        m.UpdateState(yTrue, yPred, sw);
        return m.Result();
    }

    [Fact]
    public void Precision_KerasGoldenValues()
    {
        Near(0.5, Run(new Precision(), I([4], 0, 1, 1, 0), I([4], 1, 0, 1, 0)));
        Near(0.0, Run(new Precision(thresholds: [0.5]), I([5, 1], 1, 0, 0, 1, 1), I([5, 1], 0, 1, 1, 0, 0)));
        Near((3.0 + 4.0) / (1.0 + 3.0 + 4.0 + 2.0),
            Run(new Precision(), I([2, 4], 0, 1, 1, 0, 1, 0, 0, 1), I([2, 4], 1, 0, 1, 0, 1, 0, 1, 0), I([2, 4], 1, 2, 3, 4, 4, 3, 2, 1)));
        Assert.Equal(0.0, Run(new Precision(), I([4], 0, 0, 0, 0), I([4], 0, 0, 0, 0)));

        var two = new Precision(thresholds: [0.5, 0.7]);
        two.UpdateState(I([4], 0, 1, 1, 0), F1(1, 0, 0.6, 0));
        Near([0.5, 0.0], two.ResultPerThreshold());
        Assert.Throws<InvalidOperationException>(() => two.Result());

        var w = new Precision(thresholds: [0.5, 1.0]);
        for (int i = 0; i < 2; i++) w.UpdateState(I([2, 2], 0, 1, 1, 0), F([2, 2], 1, 0, 0.6, 0), F([2, 2], 4, 0, 3, 1));
        Near([3.0 / 7.0, 0.0], w.ResultPerThreshold());
    }

    [Fact]
    public void Precision_TopKAndClassId_KerasGoldenValues()
    {
        Near(1.0 / 3, Run(new Precision(topK: 3), I([5], 0, 1, 1, 0, 0), F1(0.2, 0.1, 0.5, 0, 0.2)));
        var p = new Precision(topK: 3);
        p.UpdateState(I([1, 5], 0, 1, 1, 0, 1), F([1, 5], 0.2, 0.1, 0.4, 0, 0.2), F([1, 5], 1, 4, 2, 3, 5));
        p.UpdateState(I([5], 1, 0, 1, 1, 1), F1(0.2, 0.6, 0.4, 0.2, 0.2), F([], 3));
        Near((2.0 + 5 + 3 + 3) / (1.0 + 2 + 5 + 3 + 3 + 3), p.Result());
        Near(1.0, Run(new Precision(thresholds: [0.7], topK: 2), I([5], 0, 1, 1, 0, 1), F1(0.2, 0.8, 0.6, 0, 0.2)));

        var e = Assert.Throws<ArgumentException>(() => new Precision(classId: 2).UpdateState(I([5], 0, 1, 1, 0, 0), F1(0.2, 0.1, 0.6, 0, 0.2)));
        Assert.Contains("must be a 2D array with shape (num_samples, num_classes), found shape: (5,)", e.Message);

        var yPred = F([5, 3], 0.1, 0.2, 0.7, 0.5, 0.3, 0.2, 0.2, 0.6, 0.2, 0.7, 0.2, 0.1, 0.1, 0.1, 0.8);
        var yTrue = F([5, 3], 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1);
        Near(1.0, Run(new Precision(classId: 1), yTrue, yPred));
        Near(1.0, Run(new Recall(classId: 1), yTrue, yPred));
    }

    [Fact]
    public void Recall_KerasGoldenValues()
    {
        Near(0.5, Run(new Recall(), I([4], 0, 1, 1, 0), I([4], 1, 0, 1, 0)));
        Near((3.0 + 1.0) / (2.0 + 3.0 + 4.0 + 1.0),
            Run(new Recall(), I([2, 4], 0, 1, 1, 0, 1, 0, 0, 1), I([2, 4], 1, 0, 1, 0, 0, 1, 0, 1), I([2, 4], 1, 2, 3, 4, 4, 3, 2, 1)));
        Assert.Equal(0.0, Run(new Recall(), I([4], 0, 0, 0, 0), I([4], 0, 0, 0, 0)));
        var two = new Recall(thresholds: [0.5, 0.7]);
        two.UpdateState(I([4], 0, 1, 1, 0), F1(1, 0, 0.6, 0));
        Near([0.5, 0.0], two.ResultPerThreshold());
        var w = new Recall(thresholds: [0.5, 1.0]);
        for (int i = 0; i < 2; i++) w.UpdateState(I([2, 2], 0, 1, 1, 0), F([2, 2], 1, 0, 0.6, 0), F([2, 2], 1, 4, 3, 2));
        Near([3.0 / 7.0, 0.0], w.ResultPerThreshold());
        Near(0.5, Run(new Recall(topK: 3), I([5], 0, 1, 1, 0, 0), F1(0.2, 0.1, 0.5, 0, 0.2)));
        var r = new Recall(topK: 3);
        r.UpdateState(I([1, 5], 0, 1, 1, 0, 1), F([1, 5], 0.2, 0.1, 0.4, 0, 0.2), F([1, 5], 1, 4, 2, 3, 5));
        r.UpdateState(I([5], 1, 0, 1, 1, 1), F1(0.2, 0.6, 0.4, 0.2, 0.2), F([], 3));
        Near((2.0 + 5 + 3 + 3) / (4.0 + 2 + 5 + 3 + 3 + 3 + 3), r.Result());
        Near(0.25, Run(new Recall(thresholds: [0.7], topK: 2), I([5], 1, 1, 1, 0, 1), F1(0.2, 0.8, 0.6, 0, 0.2)));
    }

    [Fact]
    public void Thresholds_OutOfRange_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => new Precision(thresholds: [0.5, 1.5]));
        Assert.Contains("Threshold values must be in [0, 1]", e.Message);
        Assert.Throws<ArgumentException>(() => new Recall(thresholds: [-0.1]));
    }

    // AUCTest data: 3 thresholds [-1e-7, 0.5, 1 + 1e-7].
    private static Tensor AucPred => F1(0, 0.5, 0.3, 0.9);
    private static Tensor AucTrue => I([4], 0, 0, 1, 1);
    private static Tensor AucWeights => F1(1, 2, 3, 4);

    [Fact]
    public void Auc_KerasGoldenValues()
    {
        Near(1.0, Run(new AUC(), AucTrue, AucTrue.to_type(ScalarType.Float32)));
        Near(0.75, Run(new AUC(numThresholds: 3), AucTrue, AucPred), 1e-3);
        var logits = AucPred.add(1e-12).reciprocal().sub(1).log().neg();
        Near(0.75, Run(new AUC(numThresholds: 3, fromLogits: true), AucTrue, logits), 1e-3);
        var manual = new AUC(numThresholds: 2, thresholds: [0.5]);
        Assert.Equal(3, manual.NumThresholds);
        Near([0.0, 0.5, 1.0], manual.Thresholds.ToArray(), 1e-6);
        Near(0.75, Run(manual, AucTrue, AucPred), 1e-3);

        Near(0.7855, Run(new AUC(numThresholds: 3), AucTrue, AucPred, AucWeights), 1e-3);
        Near(1.0, Run(new AUC(numThresholds: 3, summationMethod: "majoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.571, Run(new AUC(numThresholds: 3, summationMethod: "minoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(1 * 0.429 + 1 * 0.571, Run(new AUC(numThresholds: 3, curve: "PR", summationMethod: "majoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.7 * 0.429, Run(new AUC(numThresholds: 3, curve: "PR", summationMethod: "minoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(2.416 / 7 + 4.0 / 7, Run(new AUC(numThresholds: 3, curve: "PR"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.0, Run(new AUC(numThresholds: 3, curve: "PR"), AucTrue, AucPred, F1(-1, -2, -3, -4)), 1e-3);
        Near(1.0, Run(new AUC(numThresholds: 3, curve: "PRGAIN", summationMethod: "majoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.0, Run(new AUC(numThresholds: 3, curve: "PRGAIN", summationMethod: "minoring"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.5, Run(new AUC(numThresholds: 3, curve: "PRGAIN"), AucTrue, AucPred, AucWeights), 1e-3);
        Near(0.666666 * 0.333333 + 0.333333 * 0.833333,
            Run(new AUC(numThresholds: 3, curve: "PRGAIN"), I([10], 0, 0, 0, 1, 0, 1, 0, 1, 1, 1), F1(0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.6, 0.6, 0.8, 0.9)), 1e-3);
    }

    [Fact]
    public void Auc_ExtraDims_AndDefaultThresholds()
    {
        // test_extra_dims: sigmoid(-x) of ±10/±12 scores with (2, 2, 3) labels -> 0.5.
        double[] x = [-10, 10, -10, 10, -10, 10, -12, 12, -12, 12, -12, 12];
        var probs = F([2, 2, 3], x.Select(v => 1 / (1 + Math.Exp(v))).ToArray());
        Near(0.5, Run(new AUC(), I([2, 2, 3], 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1), probs), 1e-6);
        // A perfectly ranked set with 200 thresholds.
        Near(1.0, Run(new AUC(), I([4], 0, 0, 1, 1), F1(0.1, 0.2, 0.8, 0.9)), 1e-6);
    }

    [Fact]
    public void Auc_InvalidArguments_Throw()
    {
        Assert.Contains("Argument `num_thresholds` must be an integer > 1", Assert.Throws<ArgumentException>(() => new AUC(numThresholds: -1)).Message);
        Assert.Contains("Argument `num_thresholds` must be an integer > 1", Assert.Throws<ArgumentException>(() => new AUC(numThresholds: 1)).Message);
        Assert.Contains("Invalid AUC curve value: \"Invalid\"", Assert.Throws<ArgumentException>(() => new AUC(curve: "Invalid")).Message);
        Assert.Contains("Invalid AUC summation method value: \"Invalid\"", Assert.Throws<ArgumentException>(() => new AUC(summationMethod: "Invalid")).Message);
        Assert.Throws<ArgumentException>(() => new AUC(numLabels: 3));
    }

    // MultiAUCTest data: 5 thresholds, y_pred (4, 2).
    private static Tensor MPred => F([4, 2], 0, 0.1, 0.5, 0.2, 0.3, 0.3, 0.9, 0.4);
    private static Tensor MTrue => I([4, 2], 0, 0, 0, 0, 1, 1, 1, 1);

    [Fact]
    public void MultiLabelAuc_KerasGoldenValues()
    {
        Near(1.0, Run(new AUC(multiLabel: true), MTrue, MTrue.to_type(ScalarType.Float32)));
        Near(1.0, Run(new AUC(multiLabel: false), MTrue, MTrue.to_type(ScalarType.Float32)));
        Near((0.875 + 1.0) / 2.0, Run(new AUC(numThresholds: 5, multiLabel: true), MTrue, MPred), 1e-3);
        Near((0.875 + 1.0) / 2.0, Run(new AUC(numThresholds: 5, multiLabel: true, numLabels: 2), MTrue, MPred), 1e-3);
        Near(1.0 - 0.3333 * (1.0 - 0.2857) / 2.0, Run(new AUC(numThresholds: 5), MTrue, MPred, F1(1, 2, 3, 4)), 1e-3);
        Near(1.0 - 0.3333 * (1.0 - 0.2727) / 2.0, Run(new AUC(numThresholds: 5), MTrue, MPred, F([4, 2], 0, 1, 2, 3, 4, 5, 6, 7)), 1e-3);
        Near((0.875 * 0.75 + 1.0 * 0.25) / (0.75 + 0.25), Run(new AUC(numThresholds: 5, multiLabel: true, labelWeights: [0.75, 0.25]), MTrue, MPred), 1e-3);
        Near(1.0 - (1.0 - 0.375) * 0.375 / 2.0, Run(new AUC(numThresholds: 5, labelWeights: [0.75, 0.25]), MTrue, MPred), 1e-2);
        Near(1.0 - 3.0 / 32.0, Run(new AUC(numThresholds: 5), MTrue, MPred), 1e-3);
    }

    [Fact]
    public void Auc_NonEvenThresholds_UseExactComparisons()
    {
        // Thresholds [0.3, 0.6] are not evenly spaced: y_pred > t is compared directly (0.3 is not above 0.3).
        // tp = [2, 1, 1, 0], fp = [2, 1, 0, 0], fn = [0, 1, 1, 2], tn = [0, 1, 2, 2].
        // ROC points (fpr, tpr): (1, 1), (0.5, 0.5), (0, 0.5), (0, 0) -> 0.5 · 0.75 + 0.5 · 0.5 = 0.625
        // (a >= comparison would give 0.875).
        Near(0.625, Run(new AUC(thresholds: [0.3, 0.6]), AucTrue, AucPred), 1e-6);
    }

    [Fact]
    public void Streaming_EqualsOneShot_AndReset()
    {
        var one = new AUC(numThresholds: 5);
        one.UpdateState(MTrue, MPred, F1(1, 2, 3, 4));
        var streamed = new AUC(numThresholds: 5);
        streamed.UpdateState(MTrue.narrow(0, 0, 2), MPred.narrow(0, 0, 2), F1(1, 2));
        streamed.UpdateState(MTrue.narrow(0, 2, 2), MPred.narrow(0, 2, 2), F1(3, 4));
        Near(one.Result(), streamed.Result(), 1e-9);
        streamed.ResetState();
        Assert.Equal(0.0, streamed.Result());
        var p = new Precision();
        p.UpdateState(I([2], 0, 1), F1(0.9, 0.9));
        p.ResetState();
        Near(1.0, Run(p, I([2], 1, 1), F1(0.9, 0.9)));
    }
}
