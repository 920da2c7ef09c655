using Keras.Rnn.Losses;
using Keras.Rnn.Metrics;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>Accuracy metrics against keras/src/metrics/accuracy_metrics_test.py, masks on sequence outputs (derived
/// by hand), and the "accuracy" resolution rules of keras/src/trainers/compile_utils.py.</summary>
public class AccuracyMetricsTests
{
    private static double Run(Metric m, Tensor yTrue, Tensor yPred, Tensor? sw = null, Tensor? mask = null)
    {
        m.UpdateState(yTrue, yPred, sw, mask);
        return m.Result();
    }

    [Fact]
    public void Accuracy_KerasGoldenValues()
    {
        Near(0.75, Run(new Accuracy(), I([4, 1], 1, 2, 3, 4), I([4, 1], 0, 2, 3, 4)));
        Near(0.5, Run(new Accuracy(), I([4, 1], 1, 2, 3, 4), I([4, 1], 0, 2, 3, 4), I([4], 1, 1, 0, 0)));
        Near(0.5, Run(new Accuracy(), I([4], 1, 2, 3, 4), I([4], 0, 2, 3, 4), I([4], 1, 1, 0, 0)));
        Near(0.5, Run(new Accuracy(), I([2, 2], 1, 2, 3, 4), I([2, 2], 0, 2, 3, 4), I([2, 2], 1, 0, 0, 1)));
        Near(0.5, Run(new Accuracy(), I([2, 2], 1, 2, 3, 4), I([2, 2], 0, 2, 3, 4), I([1, 2], 1, 0)));
    }

    [Fact]
    public void BinaryAccuracy_KerasGoldenValues()
    {
        var p = F([4, 1], 0.98, 1, 0, 0.6);
        Near(0.75, Run(new BinaryAccuracy(), I([4, 1], 1, 1, 0, 0), p));
        Near(0.75, Run(new BinaryAccuracy(), I([4], 1, 1, 0, 0), p));
        Near(0.5, Run(new BinaryAccuracy(), I([4, 1], 1, 1, 0, 0), p, I([4], 1, 0, 0, 1)));
        Near(0.5, Run(new BinaryAccuracy(), I([4], 1, 1, 0, 0), F1(0.98, 1, 0, 0.6), I([4], 1, 0, 0, 1)));
        Near(0.5, Run(new BinaryAccuracy(), I([2, 2], 1, 1, 0, 0), F([2, 2], 0.98, 1, 0, 0.6), I([2, 2], 1, 0, 0, 1)));
        Near(1.0, Run(new BinaryAccuracy(), I([2, 2], 1, 1, 0, 0), F([2, 2], 0.98, 1, 0, 0.6), I([1, 2], 1, 0)));
        var pt = F([4, 1], 0.98, 0.5, 0.1, 0.2);
        Near(1.0, Run(new BinaryAccuracy(threshold: 0.3), I([4, 1], 1, 1, 0, 0), pt));
        Near(0.75, Run(new BinaryAccuracy(threshold: 0.9), I([4, 1], 1, 1, 0, 0), pt));
        // test_binary_accuracy_with_boolean_inputs
        var x = F([5, 1], 0.1, 0.7, 0.4, 0.9, 0.55);
        Near(1.0, Run(new BinaryAccuracy(), x.gt(0.5), x.gt(0.5)));
    }

    [Fact]
    public void CategoricalAndSparse_KerasGoldenValues()
    {
        var t = I([2, 3], 0, 0, 1, 0, 1, 0);
        var p = F([2, 3], 0.1, 0.9, 0.8, 0.05, 0.95, 0);
        Near(0.5, Run(new CategoricalAccuracy(), t, p));
        Near(0.3, Run(new CategoricalAccuracy(), t, p, F1(0.7, 0.3)));

        var sp = F([2, 3], 0.1, 0.6, 0.3, 0.05, 0.95, 0);
        Near(0.5, Run(new SparseCategoricalAccuracy(), I([2, 1], 2, 1), sp));
        Near(0.3, Run(new SparseCategoricalAccuracy(), I([2, 1], 2, 1), sp, F1(0.7, 0.3)));
        Near(0.5, Run(new SparseCategoricalAccuracy(), I([2], 2, 1), sp));
        Near(1.0, Run(new SparseCategoricalAccuracy(), torch.tensor(new[] { 0, 1, 2 }),
            torch.tensor(new[] { 0.9, 0.1, 0.0, 0.0, 0.9, 0.1, 0.1, 0.0, 0.9 }, [3, 3], ScalarType.Float64)));
        Near(1.0, Run(new SparseCategoricalAccuracy(), F1(2, 1, 0), F([3, 3], 0, 0, 1, 0, 1, 0, 1, 0, 0)));
        // test_reshape_matches: y_true (2, 1) against y_pred (1, 2, 3) — labels per step of one sequence.
        Near(1.0, Run(new SparseCategoricalAccuracy(), I([2, 1], 0, 0), F([1, 2, 3], 0.9, 0.1, 0.0, 0.8, 0.15, 0.05)));
    }

    [Fact]
    public void TopK_KerasGoldenValues()
    {
        var t = I([2, 3], 0, 0, 1, 0, 1, 0);
        var p = F([2, 3], 0.1, 0.9, 0.8, 0.05, 0.95, 0);
        Near(0.5, Run(new TopKCategoricalAccuracy(k: 1), t, p));
        Near(0.3, Run(new TopKCategoricalAccuracy(k: 1), t, p, F1(0.7, 0.3)));
        Near(1.0, Run(new TopKCategoricalAccuracy(k: 2), t, p));
        Near(0.5, Run(new SparseTopKCategoricalAccuracy(k: 1), I([2], 2, 1), p));
        Near(0.3, Run(new SparseTopKCategoricalAccuracy(k: 1), I([2], 2, 1), p, F1(0.7, 0.3)));
        Near(0.5, Run(new SparseTopKCategoricalAccuracy(k: 1, fromSortedIds: true), I([2], 2, 1), I([2, 3], 1, 0, 3, 1, 2, 3)));
        Near(0.3, Run(new SparseTopKCategoricalAccuracy(k: 1, fromSortedIds: true), I([2], 2, 1), I([2, 3], 1, 0, 3, 1, 2, 3), F1(0.7, 0.3)));
        // Default k = 5 with 3 classes: every label is in the top 5.
        Near(1.0, Run(new SparseTopKCategoricalAccuracy(), I([2], 2, 0), p));
        // Ties with the k-th score count as hits (Keras' in_top_k compares scores).
        Near(1.0, Run(new SparseTopKCategoricalAccuracy(k: 1), I([1], 1), F([1, 3], 0.4, 0.4, 0.2)));
    }

    // Sequence output (2, 3, 3) with labels (2, 3) and a (2, 3) mask.
    private static readonly double[] SeqP =
    [
        0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4,
        0.25, 0.25, 0.5, 0.6, 0.3, 0.1, 0.2, 0.2, 0.6,
    ];
    private static readonly long[] SeqY = [0, 1, 0, 2, 1, 0];           // hits: 1, 1, 0, 1, 0, 0
    private static readonly bool[] SeqM = [true, true, true, true, true, false];

    [Fact]
    public void SequenceMask_AveragesOverKeptSteps_AndCombinesWithWeights()
    {
        double[] hits = [1, 1, 0, 1, 0, 0];
        var p = F([2, 3, 3], SeqP);
        var mask = B([2, 3], SeqM);
        double kept = SeqM.Count(m => m);
        Near(Enumerable.Range(0, 6).Where(i => SeqM[i]).Sum(i => hits[i]) / kept,
            Run(new SparseCategoricalAccuracy(), I([2, 3], SeqY), p, mask: mask));
        // Labels (2, 3, 1) behave the same.
        Near(3.0 / 5.0, Run(new SparseCategoricalAccuracy(), I([2, 3, 1], SeqY), p, mask: mask));
        // Per-sample weights apply to each kept step of the sample: Σ w_b m h / Σ w_b m.
        double[] w = [2.0, 0.5];
        double num = Enumerable.Range(0, 6).Where(i => SeqM[i]).Sum(i => w[i / 3] * hits[i]);
        double den = Enumerable.Range(0, 6).Where(i => SeqM[i]).Sum(i => w[i / 3]);
        Near(num / den, Run(new SparseCategoricalAccuracy(), I([2, 3], SeqY), p, F1(w), mask));
        // Per-step weights: Σ w m h / Σ w m.
        double[] ws = [1, 2, 3, 4, 5, 6];
        num = Enumerable.Range(0, 6).Where(i => SeqM[i]).Sum(i => ws[i] * hits[i]);
        den = Enumerable.Range(0, 6).Where(i => SeqM[i]).Sum(i => ws[i]);
        Near(num / den, Run(new SparseCategoricalAccuracy(), I([2, 3], SeqY), p, F([2, 3], ws), mask));
        // Streaming one sequence at a time gives the same as the whole batch.
        var s = new SparseCategoricalAccuracy();
        s.UpdateState(I([1, 3], 0, 1, 0), p.narrow(0, 0, 1), mask: mask.narrow(0, 0, 1));
        s.UpdateState(I([1, 3], 2, 1, 0), p.narrow(0, 1, 1), mask: mask.narrow(0, 1, 1));
        Near(3.0 / 5.0, s.Result());
    }

    [Fact]
    public void SequenceMask_BinaryOutputs()
    {
        // y_pred (2, 3, 1), y_true (2, 3): Keras squeezes y_pred, so accuracy is per step and the mask applies.
        var p = F([2, 3, 1], 0.9, 0.2, 0.7, 0.4, 0.6, 0.8);
        var t = F([2, 3], 1, 0, 0, 0, 0, 1);                  // hits: 1, 1, 0, 1, 0, 1
        var mask = B([2, 3], true, true, false, true, false, true);
        Near(1.0, Run(new BinaryAccuracy(), t, p, mask: mask));
        Near(4.0 / 6.0, Run(new BinaryAccuracy(), t, p));
    }

    [Theory]
    [InlineData(new long[] { 8, 1 }, new long[] { 8, 1 }, typeof(BinaryAccuracy))]
    [InlineData(new long[] { 8 }, new long[] { 8, 1 }, typeof(BinaryAccuracy))]
    [InlineData(new long[] { 8, 5, 1 }, new long[] { 8, 5, 1 }, typeof(BinaryAccuracy))]
    [InlineData(new long[] { 8 }, new long[] { 8, 4 }, typeof(SparseCategoricalAccuracy))]
    [InlineData(new long[] { 8, 1 }, new long[] { 8, 4 }, typeof(SparseCategoricalAccuracy))]
    [InlineData(new long[] { 8, 5 }, new long[] { 8, 5, 4 }, typeof(SparseCategoricalAccuracy))]
    [InlineData(new long[] { 8, 4 }, new long[] { 8, 4 }, typeof(CategoricalAccuracy))]
    [InlineData(new long[] { 8, 5, 4 }, new long[] { 8, 5, 4 }, typeof(CategoricalAccuracy))]
    public void Accuracy_ResolvesLikeCompileUtils(long[] yTrue, long[] yPred, Type expected)
    {
        foreach (var id in new[] { "accuracy", "acc", "Accuracy" })
        {
            Metric placeholder = id;
            var resolved = Metric.Resolve(placeholder, yTrue, yPred, null);
            Assert.IsType(expected, resolved);
            Assert.Equal(id, resolved.Name);
        }
        var concrete = new CategoricalAccuracy();
        Assert.Same(concrete, Metric.Resolve(concrete, yTrue, yPred, null));
    }

    [Theory]
    [InlineData(new long[] { 8, 1 }, new long[] { 8, 1 }, typeof(Keras.Rnn.Metrics.BinaryCrossentropy))]
    [InlineData(new long[] { 8 }, new long[] { 8, 4 }, typeof(Keras.Rnn.Metrics.SparseCategoricalCrossentropy))]
    [InlineData(new long[] { 8, 4 }, new long[] { 8, 4 }, typeof(Keras.Rnn.Metrics.CategoricalCrossentropy))]
    public void Crossentropy_ResolvesFromShapes_AndTakesFromLogitsFromTheLoss(long[] yTrue, long[] yPred, Type expected)
    {
        var resolved = Metric.Resolve(Metric.Get("ce"), yTrue, yPred, new Keras.Rnn.Losses.SparseCategoricalCrossentropy(fromLogits: true));
        Assert.IsType(expected, resolved);
        Assert.Equal("ce", resolved.Name);
        Assert.Equal(true, resolved.GetConfig()["from_logits"]);
        var plain = Metric.Resolve(Metric.Get("crossentropy"), yTrue, yPred, new Keras.Rnn.Losses.MeanSquaredError());
        Assert.Equal(false, plain.GetConfig()["from_logits"]);
    }

    [Fact]
    public void Placeholder_ResolvesItselfAtFirstUpdate()
    {
        Metric acc = "accuracy";
        acc.UpdateState(I([2], 2, 1), F([2, 3], 0.1, 0.6, 0.3, 0.05, 0.95, 0));
        Near(0.5, acc.Result());
        Assert.Equal("SparseCategoricalAccuracy", acc.ClassName);
        Assert.Equal("accuracy", acc.Name);
    }

    [Fact]
    public void ShapeMismatch_NamesMetricAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new SparseCategoricalAccuracy().UpdateState(I([3], 0, 1, 2), F([2, 3], 0, 0, 1, 0, 1, 0)));
        Assert.Contains("SparseCategoricalAccuracy", e.Message);
        Assert.Contains("(3,)", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        var m = Assert.Throws<ArgumentException>(() => new SparseCategoricalAccuracy().UpdateState(I([2, 3], SeqY), F([2, 3, 3], SeqP), mask: B([3, 2], SeqM)));
        Assert.Contains("(3, 2)", m.Message);
    }
}
