using Keras.Rnn.Losses;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Losses;

/// <summary>
/// The Keras loss plumbing: reductions, sample weights, masks and their normalisation. Golden values come from
/// keras/src/losses/loss_test.py (an element-wise squared error "ExampleLoss") unless derived by hand here.
/// </summary>
public class LossReductionTests
{
    private static LossFunctionWrapper Example(string reduction = "sum_over_batch_size") =>
        new((t, p) => t.sub(p).square(), reduction: reduction, name: "example");

    private static readonly double[] Yt = [1.0, 0.0, 1.0, 0.0];
    private static readonly double[] Yp = [0.1, 0.2, 0.3, 0.4];
    private static double Sq(int i) => (Yt[i] - Yp[i]) * (Yt[i] - Yp[i]);

    [Fact]
    public void Reductions_MatchKerasLossTest()
    {
        // loss_test.py test_reduction
        var none = Example("none").Compute(F1(Yt), F1(Yp));
        Near(Enumerable.Range(0, 4).Select(Sq).ToArray(), V(none));
        Near(Enumerable.Range(0, 4).Sum(Sq), S(Example("sum").Compute(F1(Yt), F1(Yp))));
        Near(Enumerable.Range(0, 4).Sum(Sq) / 4, S(Example().Compute(F1(Yt), F1(Yp))));
        Near(Enumerable.Range(0, 4).Sum(Sq) / 4, S(Example("mean").Compute(F1(Yt), F1(Yp))));
        Assert.Equal(ScalarType.Float32, Example().Compute(F1(Yt), F1(Yp)).dtype);
    }

    [Fact]
    public void BadReduction_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => Example("abc"));
        Assert.Contains("Invalid value for argument `reduction`", e.Message);
        Assert.Contains("sum_over_batch_size", e.Message);
        Assert.Throws<ArgumentException>(() => new MeanSquaredError(reduction: "auto"));
    }

    [Fact]
    public void Mask_AveragesOverKeptEntries_AndAllMaskedGivesZero()
    {
        // loss_test.py test_mask: mask [T, F, T, T] -> mean over the 3 kept entries.
        var mask = B([4], true, false, true, true);
        Near((Sq(0) + Sq(2) + Sq(3)) / 3, S(Example().Compute(F1(Yt), F1(Yp), mask: mask)));
        var none = B([4], false, false, false, false);
        var loss = S(Example().Compute(F1(Yt), F1(Yp), mask: none));
        Assert.Equal(0.0, loss);
    }

    [Fact]
    public void SampleWeight_AndZeroWeights()
    {
        // loss_test.py test_sample_weight
        double[] sw = [0.4, 0.3, 0.2, 0.1];
        Near(Enumerable.Range(0, 4).Sum(i => sw[i] * Sq(i)) / 4, S(Example().Compute(F1(Yt), F1(Yp), F1(sw))));
        Assert.Equal(0.0, S(Example().Compute(F1(Yt), F1(Yp), F1(0, 0, 0, 0))));
    }

    [Fact]
    public void MaskAndSampleWeight_AndRankAdjustments()
    {
        // loss_test.py test_mask_and_sample_weight / test_rank_adjustment: kept weights [0.4, 0.2, 0.1], divided by 3.
        double expected = (0.4 * Sq(0) + 0.2 * Sq(2) + 0.1 * Sq(3)) / 3;
        var sw = F1(0.4, 0.3, 0.2, 0.1);
        var mask = B([4], true, false, true, true);
        Near(expected, S(Example().Compute(F1(Yt), F1(Yp), sw, mask)));
        Near(expected, S(Example().Compute(F1(Yt), F1(Yp), sw.reshape(4, 1), mask)));
        Near(expected, S(Example().Compute(F1(Yt).reshape(4, 1), F1(Yp).reshape(4, 1), sw, mask)));
        // test_mask_and_sample_weight_rank2: duplicated rows give the same loss.
        var t2 = F1(Yt).unsqueeze(0).tile([2L, 1L]);
        var p2 = F1(Yp).unsqueeze(0).tile([2L, 1L]);
        var m2 = mask.unsqueeze(0).tile([2L, 1L]);
        var w2 = sw.unsqueeze(0).tile([2L, 1L]);
        Near(expected, S(Example().Compute(t2, p2, w2, m2)));
    }

    // A sequence output: y (2, 3, 1), mask (2, 3). MSE per step is (t - p)^2 (mean over the last axis of size 1).
    private static readonly double[] SeqT = [1, 2, 3, 4, 5, 6];
    private static readonly double[] SeqP = [1.5, 2, 2, 4, 7, 9];
    private static readonly bool[] SeqMask = [true, true, false, true, false, false];
    private static double SeqSq(int i) => (SeqT[i] - SeqP[i]) * (SeqT[i] - SeqP[i]);

    [Fact]
    public void SequenceMask_EachReduction()
    {
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP);
        var mask = B([2, 3], SeqMask);
        var kept = Enumerable.Range(0, 6).Where(i => SeqMask[i]).ToArray();
        double keptSum = kept.Sum(SeqSq);

        // sum_over_batch_size / mean: each kept step weighs total/kept = 6/3, then / 6 -> mean over kept steps.
        Near(keptSum / kept.Length, S(new MeanSquaredError().Compute(t, p, mask: mask)));
        Near(keptSum / kept.Length, S(new MeanSquaredError(reduction: "mean").Compute(t, p, mask: mask)));
        // sum: the mask is a 0/1 weight.
        Near(keptSum, S(new MeanSquaredError(reduction: "sum").Compute(t, p, mask: mask)));
        // mean_with_sample_weight: sum of weighted values / sum of the 0/1 mask.
        Near(keptSum / kept.Length, S(new MeanSquaredError(reduction: "mean_with_sample_weight").Compute(t, p, mask: mask)));
        // none: per-step values times the 0/1 mask.
        var none = new MeanSquaredError(reduction: "none").Compute(t, p, mask: mask);
        Assert.Equal(new long[] { 2, 3 }, none.shape);
        Near(Enumerable.Range(0, 6).Select(i => SeqMask[i] ? SeqSq(i) : 0.0).ToArray(), V(none));
    }

    [Fact]
    public void SequenceMask_WithPerSampleAndPerStepWeights()
    {
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP);
        var mask = B([2, 3], SeqMask);
        double[] perSample = [2.0, 0.5];
        double[] perStep = [1, 2, 3, 4, 5, 6];
        int kept = SeqMask.Count(m => m);

        // A per-sample weight (B,) applies to every step of its sample; Keras' normalisation divides by the kept count.
        double expectedSample = Enumerable.Range(0, 6).Where(i => SeqMask[i]).Sum(i => perSample[i / 3] * SeqSq(i)) / kept;
        Near(expectedSample, S(new MeanSquaredError().Compute(t, p, F1(perSample), mask)));
        // Same with (B, 1) weights, which Keras itself broadcasts.
        Near(expectedSample, S(new MeanSquaredError().Compute(t, p, F([2, 1], perSample), mask)));
        double expectedStep = Enumerable.Range(0, 6).Where(i => SeqMask[i]).Sum(i => perStep[i] * SeqSq(i)) / kept;
        Near(expectedStep, S(new MeanSquaredError().Compute(t, p, F([2, 3], perStep), mask)));
        // mean_with_sample_weight divides by the sum of mask * weight.
        double denom = Enumerable.Range(0, 6).Where(i => SeqMask[i]).Sum(i => perStep[i]);
        Near(expectedStep * kept / denom,
            S(new MeanSquaredError(reduction: "mean_with_sample_weight").Compute(t, p, F([2, 3], perStep), mask)));
    }

    [Fact]
    public void PerSampleWeight_OnSequenceValues_WithoutMask()
    {
        // (B,) weights on (B, T) values weigh every step of the sample (Keras needs (B, 1) for this).
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP);
        double[] w = [3.0, 1.0];
        double expected = Enumerable.Range(0, 6).Sum(i => w[i / 3] * SeqSq(i)) / 6;
        Near(expected, S(new MeanSquaredError().Compute(t, p, F1(w))));
        Near(expected, S(new MeanSquaredError().Compute(t, p, F([2, 1], w))));
    }

    [Fact]
    public void Mask_WithWrongShape_Throws()
    {
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP);
        var e = Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(t, p, mask: B([3, 2], SeqMask)));
        Assert.Contains("(3, 2)", e.Message);
        Assert.Contains("(2, 3, 1)", e.Message);
    }

    [Fact]
    public void TimeMaskOnPerSampleValues_ThrowsClearError()
    {
        // y_true (2, 3) vs y_pred (2, 3, 1): binary cross-entropy averages over time (Keras squeezes y_pred), so a
        // (2, 3) mask cannot apply; Keras fails with a broadcasting error, we explain.
        var t = F([2, 3], 1, 0, 1, 0, 1, 1);
        var p = F([2, 3, 1], 0.9, 0.2, 0.7, 0.4, 0.6, 0.8);
        var e = Assert.Throws<ArgumentException>(() => new BinaryCrossentropy().Compute(t, p, mask: B([2, 3], SeqMask)));
        Assert.Contains("give y_true the shape of y_pred", e.Message);
    }

    [Fact]
    public void Compute_IsDifferentiable_WithHandDerivedGradient()
    {
        // d/dp mean((p - t)^2) = 2 (p - t) / N, here with a mask: 2 (p - t) / kept on kept entries, 0 elsewhere.
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP).requires_grad_(true);
        var mask = B([2, 3], SeqMask);
        var loss = new MeanSquaredError().Compute(t, p, mask: mask);
        loss.backward();
        int kept = SeqMask.Count(m => m);
        var expected = Enumerable.Range(0, 6).Select(i => SeqMask[i] ? 2 * (SeqP[i] - SeqT[i]) / kept : 0.0).ToArray();
        Near(expected, V(p.grad!));

        // Everything masked: loss 0 and a finite (zero) gradient.
        var q = F([2, 3, 1], SeqP).requires_grad_(true);
        var zero = new MeanSquaredError().Compute(t, q, mask: torch.zeros(2, 3, ScalarType.Bool));
        zero.backward();
        Assert.Equal(0.0, S(zero));
        Assert.All(V(q.grad!), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void Compute_DoesNotLeakTemporariesIntoCallerScope()
    {
        using var scope = torch.NewDisposeScope();
        var t = F([2, 3, 1], SeqT);
        var p = F([2, 3, 1], SeqP);
        int before = scope.DisposablesCount;
        var loss = new MeanSquaredError().Compute(t, p, mask: B([2, 3], SeqMask));
        Assert.Equal(before + 2, scope.DisposablesCount); // the mask built above and the result
        Assert.False(loss.IsInvalid);
    }
}
