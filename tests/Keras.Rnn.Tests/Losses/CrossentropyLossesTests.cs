using Keras.Rnn.Losses;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Losses;

/// <summary>
/// Cross-entropy losses against keras/src/losses/losses_test.py golden values (BinaryCrossentropyTest,
/// CategoricalCrossentropyTest, SparseCategoricalCrossentropyTest) and hand-derived values for the 1e-7 clipping,
/// masks and label formats.
/// </summary>
public class CrossentropyLossesTests
{
    private static Tensor Eye3 => F([3, 3], 1, 0, 0, 0, 1, 0, 0, 0, 1);

    [Fact]
    public void Binary_KerasGoldenValues()
    {
        var yPred = F([3, 3], 0.9, 0.1, 0.2, 0.3, 0.8, 0.1, 0.1, 0.2, 0.7);
        Near(0.20046903, S(new BinaryCrossentropy().Compute(Eye3, yPred)), 1e-5);
        Near(0.0, S(new BinaryCrossentropy().Compute(Eye3, Eye3)), 1e-6);
        var logitsCorrect = F([3, 3], 10, -10, -10, -10, 10, -10, -10, -10, 10);
        Near(0.0, S(new BinaryCrossentropy(fromLogits: true).Compute(Eye3, logitsCorrect)), 1e-3);

        // 0/1 predictions go through the clipping: 3.98559 (test_unweighted), 9.1668 (x2.3), 4.7827 ((2,1) weights).
        var t = I([2, 2], 1, 0, 1, 0);
        var p = F([2, 2], 1, 1, 1, 0);
        Near(3.98559, S(new BinaryCrossentropy().Compute(t, p)), 1e-4);
        Near(9.1668, S(new BinaryCrossentropy().Compute(t, p, F([], 2.3))), 1e-3);
        Near(4.7827, S(new BinaryCrossentropy().Compute(t, p, F([2, 1], 1.2, 3.4))), 1e-3);

        var tl = I([2, 3], 1, 0, 1, 0, 1, 1);
        var logits = F([2, 3], 10, -10, 10, 10, 10, -10);
        Near(3.3333, S(new BinaryCrossentropy(fromLogits: true).Compute(tl, logits)), 1e-3);
        Near(7.666, S(new BinaryCrossentropy(fromLogits: true).Compute(tl, logits, F([], 2.3))), 1e-3);
        Near(10.0, S(new BinaryCrossentropy(fromLogits: true).Compute(tl, logits, F1(4, 3))), 1e-3);
        Near([0.0, 6.666], V(new BinaryCrossentropy(fromLogits: true, reduction: "none").Compute(tl, logits)), 1e-3);
        // test_label_smoothing: (10 + 5 * 0.1) / 3.
        Near((10.0 + 5.0 * 0.1) / 3.0, S(new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1).Compute(I([1, 3], 1, 0, 1), F([1, 3], 10, -10, -10))), 1e-3);
    }

    [Fact]
    public void Binary_ClipsProbabilitiesToEpsilon_HandDerived()
    {
        // y_true 1 with p = 0 -> -log(1e-7); y_true 0 with p = 1 -> -log(1 - (1 - 1e-7 in float32)).
        double viaZero = -Math.Log(EpsF);
        double viaOne = -Math.Log(1.0 - OneMinusEpsF);
        var loss = new BinaryCrossentropy(reduction: "none").Compute(F([1, 2], 1, 0), F([1, 2], 0, 1));
        Near((viaZero + viaOne) / 2, S(loss), 1e-4);
        Assert.True(viaZero > viaOne); // the float32 upper bound 0.99999988 is further from 1 than 1e-7 is from 0
        // From logits nothing is clipped: a logit of 30 for label 0 costs about 30.
        Near(30.0, S(new BinaryCrossentropy(fromLogits: true).Compute(F([1, 1], 0), F([1, 1], 30))), 1e-4);
        // Label smoothing on probabilities: t' = t (1 - s) + s / 2.
        double s = 0.2, tp = 1 * (1 - s) + s / 2;
        double expected = -(tp * Math.Log(0.7) + (1 - tp) * Math.Log(0.3));
        Near(expected, S(new BinaryCrossentropy(labelSmoothing: s).Compute(F([1, 1], 1), F([1, 1], 0.7))), 1e-6);
    }

    [Fact]
    public void Binary_LabelShapes_AndMismatch()
    {
        // Labels (B,) against predictions (B, 1) are aligned (Keras' LossFunctionWrapper expands the labels).
        var p = F([3, 1], 0.9, 0.2, 0.6);
        double expected = -(Math.Log(0.9) + Math.Log(0.8) + Math.Log(0.6)) / 3;
        Near(expected, S(new BinaryCrossentropy().Compute(F1(1, 0, 1), p)), 1e-6);
        Near(expected, S(new BinaryCrossentropy().Compute(I([3, 1], 1, 0, 1), p)), 1e-6);
        // test_shape_mismatch: (3, 1) labels with (3, 3) predictions.
        var e = Assert.Throws<ArgumentException>(() => new BinaryCrossentropy().Compute(I([3, 1], 0, 1, 2), Eye3));
        Assert.Contains("must have the same shape", e.Message);
        Assert.Contains("(3, 1)", e.Message);
        Assert.Contains("(3, 3)", e.Message);
        Assert.Contains("BinaryCrossentropy", e.Message);
    }

    private static Tensor CcePred => F([3, 3], 0.9, 0.05, 0.05, 0.5, 0.89, 0.6, 0.05, 0.01, 0.94);
    // The same loss in double precision: rows divided by their sums, -log of the true class, averaged.
    private static readonly double CceExact = (-Math.Log(0.9) - Math.Log(0.89 / 1.99) - Math.Log(0.94)) / 3;
    private static Tensor CceLogits => F([3, 3], 8, 1, 1, 0, 9, 1, 2, 3, 5);

    [Fact]
    public void Categorical_KerasGoldenValues()
    {
        var t = I([3, 3], 1, 0, 0, 0, 1, 0, 0, 0, 1);
        Near(0.0, S(new CategoricalCrossentropy().Compute(t, Eye3)), 1e-5);
        Near(0.0, S(new CategoricalCrossentropy(fromLogits: true).Compute(t, F([3, 3], 10, 0, 0, 0, 10, 0, 0, 0, 10))), 1e-3);
        Near(0.3239, S(new CategoricalCrossentropy().Compute(t, CcePred)), 1e-4);
        Near(0.0573, S(new CategoricalCrossentropy(fromLogits: true).Compute(t, CceLogits)), 1e-4);
        // Keras checks these to 3 decimals (assertAlmostEqual); the exact value is 2.3 * 0.323968... = 0.745127.
        Near(0.7449, S(new CategoricalCrossentropy().Compute(t, CcePred, F([], 2.3))), 1e-3);
        Near(2.3 * CceExact, S(new CategoricalCrossentropy().Compute(t, CcePred, F([], 2.3))), 1e-5);
        Near(0.1317, S(new CategoricalCrossentropy(fromLogits: true).Compute(t, CceLogits, F([], 2.3))), 1e-3);
        var sw = F([3, 1], 1.2, 3.4, 5.6);
        Near(1.0696, S(new CategoricalCrossentropy().Compute(t, CcePred, sw)), 1e-3);
        Near(0.31829, S(new CategoricalCrossentropy(fromLogits: true).Compute(t, CceLogits, sw)), 1e-3);
        Near([0.001822, 0.000459, 0.169846], V(new CategoricalCrossentropy(fromLogits: true, reduction: "none").Compute(t, CceLogits)), 1e-5);
        // test_label_smoothing: 400 * 0.1 / 3.
        Near(400.0 * 0.1 / 3.0, S(new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1).Compute(I([1, 3], 1, 0, 0), F([1, 3], 100, -100, -100))), 1e-3);
        var e = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy().Compute(I([3, 1], 0, 1, 2), CcePred));
        Assert.Contains("must have the same shape", e.Message);
        Assert.Contains("(3, 1)", e.Message);
    }

    [Fact]
    public void Categorical_NormalisesThenClips_HandDerived()
    {
        // Probabilities are divided by their sum: [2, 1, 1] -> [0.5, 0.25, 0.25].
        Near(-Math.Log(0.5), S(new CategoricalCrossentropy().Compute(F([1, 3], 1, 0, 0), F([1, 3], 2, 1, 1))), 1e-6);
        // A zero probability on the true class is clipped to 1e-7.
        Near(-Math.Log(EpsF), S(new CategoricalCrossentropy().Compute(F([1, 3], 1, 0, 0), F([1, 3], 0, 1, 0))), 1e-4);
        // Label smoothing with probabilities: y' = y (1 - s) + s / 3.
        double s = 0.3;
        double[] p = [0.7, 0.2, 0.1];
        double[] y = [1 * (1 - s) + s / 3, s / 3, s / 3];
        Near(-Enumerable.Range(0, 3).Sum(i => y[i] * Math.Log(p[i])),
            S(new CategoricalCrossentropy(labelSmoothing: s).Compute(F([1, 3], 1, 0, 0), F([1, 3], p))), 1e-6);
    }

    [Fact]
    public void Sparse_KerasGoldenValues_AllLabelFormats()
    {
        Tensor[] labelForms =
        [
            I([3], 0, 1, 2),
            I([3, 1], 0, 1, 2),
            torch.tensor(new[] { 0, 1, 2 }),            // int32
            F1(0, 1, 2),                                 // float labels
        ];
        foreach (var labels in labelForms)
        {
            Near(0.3239, S(new SparseCategoricalCrossentropy().Compute(labels, CcePred)), 1e-4);
            Near(0.0573, S(new SparseCategoricalCrossentropy(fromLogits: true).Compute(labels, CceLogits)), 1e-4);
            Near(0.7449, S(new SparseCategoricalCrossentropy().Compute(labels, CcePred, F([], 2.3))), 1e-3);
            Near(2.3 * CceExact, S(new SparseCategoricalCrossentropy().Compute(labels, CcePred, F([], 2.3))), 1e-5);
            Near(1.0696, S(new SparseCategoricalCrossentropy().Compute(labels, CcePred, F([3, 1], 1.2, 3.4, 5.6))), 1e-3);
            Near(0.31829, S(new SparseCategoricalCrossentropy(fromLogits: true).Compute(labels, CceLogits, F([3, 1], 1.2, 3.4, 5.6))), 1e-3);
            Near([0.001822, 0.000459, 0.169846],
                V(new SparseCategoricalCrossentropy(fromLogits: true, reduction: "none").Compute(labels, CceLogits)), 1e-5);
        }
        // Docstring example: labels [1, 2], probabilities [[0.05, 0.95, 0], [0.1, 0.8, 0.1]] -> 1.177, sum 2.354.
        var p = F([2, 3], 0.05, 0.95, 0, 0.1, 0.8, 0.1);
        Near(1.177, S(new SparseCategoricalCrossentropy().Compute(I([2], 1, 2), p)), 1e-3);
        Near(0.814, S(new SparseCategoricalCrossentropy().Compute(I([2], 1, 2), p, F1(0.3, 0.7))), 1e-3);
        Near(2.354, S(new SparseCategoricalCrossentropy(reduction: "sum").Compute(I([2], 1, 2), p)), 1e-3);
    }

    [Fact]
    public void Sparse_IgnoreClass_KerasGoldenValues()
    {
        // test_ignore_class: labels [[-1, 2]] (and [[[-1], [2]]]), ignore_class=-1 -> [[0, 1.480129]].
        var logits = F([1, 2, 3], 0.854, 0.698, 0.598, 0.088, 0.86, 0.018);
        var scce = new SparseCategoricalCrossentropy(fromLogits: true, ignoreClass: -1, reduction: "none");
        Near([0.0, 1.480129], V(scce.Compute(I([1, 2], -1, 2), logits)), 1e-5);
        Near([0.0, 1.480129], V(scce.Compute(I([1, 2, 1], -1, 2), logits)), 1e-5);
        // With the default reduction, ignored entries leave the average: 1.480129 / 1 kept entry.
        var mean = new SparseCategoricalCrossentropy(fromLogits: true, ignoreClass: -1);
        Near(1.480129, S(mean.Compute(I([1, 2], -1, 2), logits)), 1e-5);

        // On probabilities the ignored rows become all-zero, yet the gradient stays finite.
        var probs = F([1, 2, 3], 0.2, 0.3, 0.5, 0.1, 0.1, 0.8).requires_grad_(true);
        var loss = new SparseCategoricalCrossentropy(ignoreClass: 0).Compute(I([1, 2], 0, 2), probs);
        Near(-Math.Log(0.8), S(loss), 1e-5);
        loss.backward();
        Assert.All(V(probs.grad!), g => Assert.False(double.IsNaN(g)));
    }

    [Fact]
    public void Sparse_Segmentation_KerasGoldenValues()
    {
        // test_binary_segmentation: (4, 4) labels with (4, 4, 2) probabilities; two wrong pixels out of 16.
        var labels = I([4, 4], 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1);
        var probs = F([4, 4, 2],
            1, 0, 0, 1, 0, 1, 0.2, 0.8,
            0, 1, 1, 0, 0, 1, 1, 0,
            1, 0, 1, 0, 0, 1, 0, 1,
            0, 1, 0, 1, 1, 0, 0.6, 0.4);
        double expected = (-Math.Log(0.2) - Math.Log(0.4)) / 16.0;
        Near(expected, S(new SparseCategoricalCrossentropy().Compute(labels, probs)), 1e-5);
        // test_binary_segmentation_different_axis (torch): classes on axis 0.
        Near(expected, S(new SparseCategoricalCrossentropy(axis: 0).Compute(labels, probs.permute(2, 0, 1))), 1e-5);
    }

    [Fact]
    public void Sparse_SequenceWithMask_HandDerived()
    {
        // (2, 3) labels, (2, 3, 3) probabilities, (2, 3) mask: mean of -log p[label] over the kept steps.
        double[] p =
        [
            0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4,
            0.25, 0.25, 0.5, 0.6, 0.3, 0.1, 0.2, 0.2, 0.6,
        ];
        long[] y = [0, 1, 2, 2, 1, 0];
        bool[] m = [true, true, false, true, true, false];
        double Nll(int i) => -Math.Log(p[i * 3 + y[i]]);
        double expected = Enumerable.Range(0, 6).Where(i => m[i]).Sum(Nll) / m.Count(b => b);
        var probs = F([2, 3, 3], p);
        var mask = B([2, 3], m);
        Near(expected, S(new SparseCategoricalCrossentropy().Compute(I([2, 3], y), probs, mask: mask)), 1e-5);
        Near(expected, S(new SparseCategoricalCrossentropy().Compute(I([2, 3, 1], y), probs, mask: mask)), 1e-5);
        // From logits: log p used as logits gives the same numbers (softmax of log p = p, rows sum to 1).
        Near(expected, S(new SparseCategoricalCrossentropy(fromLogits: true).Compute(I([2, 3], y), probs.log(), mask: mask)), 1e-5);
        Assert.Equal(new long[] { 2, 3 }, new SparseCategoricalCrossentropy().Call(I([2, 3], y), probs).shape);
    }

    [Fact]
    public void Sparse_BadShapesAndLabels_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy(name: "scce").Compute(I([3, 2], 0, 1, 2, 0, 1, 2), CcePred));
        Assert.Contains("SparseCategoricalCrossentropy 'scce'", e.Message);
        Assert.Contains("(3, 2)", e.Message);
        Assert.Contains("(3, 3)", e.Message);
        var range = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy().Compute(I([3], 0, 1, 7), CcePred));
        Assert.Contains("[0, 3)", range.Message);
    }
}
