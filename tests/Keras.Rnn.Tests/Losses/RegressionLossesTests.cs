using Keras.Rnn.Losses;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Losses;

/// <summary>
/// Regression and hinge losses against keras/src/losses/losses_test.py (golden numbers quoted from there) or formulas
/// evaluated in double precision here, as that file does with numpy.
/// </summary>
public class RegressionLossesTests
{
    // losses_test.py shared data: y_true [[1, 9, 2], [-5, -2, 6]] (ints), y_pred [[4, 8, 12], [8, 1, 3]].
    private static readonly double[] T6 = [1, 9, 2, -5, -2, 6];
    private static readonly double[] P6 = [4, 8, 12, 8, 1, 3];
    private static Tensor TrueInts => I([2, 3], 1, 9, 2, -5, -2, 6);
    private static Tensor Pred => F([2, 3], P6);

    [Fact]
    public void MeanSquaredError_KerasGoldenValues()
    {
        Near(49.5, S(new MeanSquaredError().Compute(TrueInts, Pred)), 1e-4);
        Near(113.85, S(new MeanSquaredError().Compute(TrueInts, Pred, F([], 2.3))), 1e-3);
        Near(767.8 / 6, S(new MeanSquaredError().Compute(TrueInts, Pred, F([2, 1], 1.2, 3.4))), 1e-3);
        Near(0.0, S(new MeanSquaredError().Compute(TrueInts, Pred, F([], 0))));
        Near([84.3333, 143.3666], V(new MeanSquaredError(reduction: "none").Compute(TrueInts, Pred, F([], 2.3))), 1e-3);
        Near(227.69998, S(new MeanSquaredError(reduction: "sum").Compute(TrueInts, Pred, F([], 2.3))), 1e-3);
        Near((110.0 / 3 * 1.2 + 187.0 / 3 * 3.4) / (1.2 + 3.4),
            S(new MeanSquaredError(reduction: "mean_with_sample_weight").Compute(TrueInts, Pred, F([2, 1], 1.2, 3.4))), 1e-3);
        // test_timestep_weighted: (2, 3, 1) data with (2, 3) weights.
        var tw = new MeanSquaredError().Compute(F([2, 3, 1], T6), F([2, 3, 1], P6), F([2, 3], 3, 6, 5, 0, 4, 2));
        Near(97.833336, S(tw), 1e-3);
        // test_base_function_reduction: y_true (3,) against y_pred (3, 1) gives one value per sample.
        Assert.Equal(new long[] { 3 }, new MeanSquaredError().Call(F1(4, 8, 12), F([3, 1], 3, 0, 1)).shape);
    }

    [Fact]
    public void MeanAbsoluteError_KerasGoldenValues()
    {
        Near(5.5, S(new MeanAbsoluteError().Compute(TrueInts, Pred)), 1e-4);
        Near(12.65, S(new MeanAbsoluteError().Compute(TrueInts, Pred, F([], 2.3))), 1e-3);
        Near(81.4 / 6, S(new MeanAbsoluteError().Compute(TrueInts, Pred, F([2, 1], 1.2, 3.4))), 1e-3);
    }

    [Fact]
    public void MeanAbsolutePercentageError_KerasGoldenValues()
    {
        Near(211.8518, S(new MeanAbsolutePercentageError().Compute(TrueInts, Pred)), 1e-3);
        Near(487.259, S(new MeanAbsolutePercentageError().Compute(TrueInts, Pred, F([], 2.3))), 1e-2);
        // Division guarded by max(|y_true|, 1e-7): y_true = 0 gives 100 * |p| / 1e-7.
        Near(100 * 0.5 / EpsF, S(new MeanAbsolutePercentageError().Compute(F([1, 1], 0), F([1, 1], 0.5))), 1e3);
    }

    [Fact]
    public void MeanSquaredLogarithmicError_KerasGoldenValues()
    {
        Near(1.4370, S(new MeanSquaredLogarithmicError().Compute(TrueInts, Pred)), 1e-3);
        Near(3.3051, S(new MeanSquaredLogarithmicError().Compute(TrueInts, Pred, F([], 2.3))), 1e-3);
    }

    [Fact]
    public void Huber_MatchesDoublePrecisionFormula()
    {
        // losses_test.py HuberLossTest data; expected from the piecewise formula in double precision.
        double[] p = [0.9, 0.2, 0.2, 0.8, 0.4, 0.6];
        double[] t = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        double H(int i, double d)
        {
            double a = Math.Abs(p[i] - t[i]);
            return a <= d ? 0.5 * a * a : d * a - 0.5 * d * d;
        }
        Near(Enumerable.Range(0, 6).Sum(i => H(i, 1.0)) / 6, S(new Huber().Compute(F([2, 3], t), F([2, 3], p))));
        Near(2.3 * Enumerable.Range(0, 6).Sum(i => H(i, 0.8)) / 6, S(new Huber(delta: 0.8).Compute(F([2, 3], t), F([2, 3], p), F([], 2.3))));
        double[] sw = [1.2, 3.4];
        Near(Enumerable.Range(0, 6).Sum(i => sw[i / 3] * H(i, 1.0)) / 6, S(new Huber().Compute(F([2, 3], t), F([2, 3], p), F([2, 1], sw))));
        Assert.Equal("huber_loss", new Huber().Name);
    }

    [Fact]
    public void LogCosh_MatchesDoublePrecisionFormula()
    {
        double LC(int i) { double e = P6[i] - T6[i]; return Math.Log((Math.Exp(e) + Math.Exp(-e)) / 2); }
        Near(Enumerable.Range(0, 6).Sum(LC) / 6, S(new LogCosh().Compute(F([2, 3], T6), F([2, 3], P6))), 1e-4);
        double[] sw = [1.2, 3.4];
        Near(Enumerable.Range(0, 6).Sum(i => sw[i / 3] * LC(i)) / 6, S(new LogCosh().Compute(F([2, 3], T6), F([2, 3], P6), F1(sw))), 1e-4);
        // Large errors stay finite (log(cosh(x)) ~ |x| - log 2).
        Near(100 - Math.Log(2), S(new LogCosh().Compute(F([1, 1], 0), F([1, 1], 100))), 1e-4);
    }

    [Fact]
    public void CosineSimilarity_MatchesDoublePrecisionFormula()
    {
        double Cos(int row)
        {
            double dot = 0, nt = 0, np = 0;
            for (int j = 0; j < 3; j++) { dot += T6[row * 3 + j] * P6[row * 3 + j]; nt += T6[row * 3 + j] * T6[row * 3 + j]; np += P6[row * 3 + j] * P6[row * 3 + j]; }
            return dot / Math.Sqrt(nt * np);
        }
        Near(-(Cos(0) + Cos(1)) / 2, S(new CosineSimilarity().Compute(F([2, 3], T6), F([2, 3], P6))));
        // A zero vector has similarity 0 (norm floored at 1e-7 in its inverse).
        Near(0.0, S(new CosineSimilarity().Compute(F([1, 2], 0, 0), F([1, 2], 1, 1))));
    }

    [Fact]
    public void KLDivergence_AndPoisson_MatchDoublePrecisionFormulas()
    {
        // losses_test.py KLDivergenceTest / PoissonTest data.
        double[] kp = [0.4, 0.9, 0.12, 0.36, 0.3, 0.4];
        double[] kt = [0.5, 0.8, 0.12, 0.7, 0.43, 0.8];
        double kl = Enumerable.Range(0, 6).Sum(i => kt[i] * Math.Log(kt[i] / kp[i]));
        Near(kl / 2, S(new KLDivergence().Compute(F([2, 3], kt), F([2, 3], kp))));
        // Timestep weights on (2, 3, 1) data: (Σ w·kl) / 6.
        double[] w = [3, 6, 5, 0, 4, 2];
        Near(Enumerable.Range(0, 6).Sum(i => w[i] * kt[i] * Math.Log(kt[i] / kp[i])) / 6,
            S(new KLDivergence().Compute(F([2, 3, 1], kt), F([2, 3, 1], kp), F([2, 3], w))));
        // Clipping to [1e-7, 1]: y_true 0 contributes 1e-7·log(1e-7 / p).
        Near(EpsF * Math.Log(EpsF / 0.5), S(new KLDivergence().Compute(F([1, 1], 0), F([1, 1], 0.5))), 1e-9);

        double[] pp = [1, 9, 2, 5, 2, 6];
        double[] pt = [4, 8, 12, 8, 1, 3];
        Near(Enumerable.Range(0, 6).Sum(i => pp[i] - pt[i] * Math.Log(pp[i])) / 6, S(new Poisson().Compute(F([2, 3], pt), F([2, 3], pp))), 1e-4);
    }

    [Fact]
    public void Hinges_KerasGoldenValues()
    {
        // losses_test.py HingeTest / SquaredHingeTest / CategoricalHingeTest: 0/1 labels mapped to -1/1.
        var t = F([2, 2], 0, 1, 0, 0);
        var p = F([2, 2], 0.6, 0.4, 0.4, 0.6);
        Near(1.3, S(new Hinge().Compute(t, p)), 1e-3);
        Near(2.6, S(new Hinge(reduction: "sum").Compute(t, p)), 1e-3);
        Near([1.1, 1.5], V(new Hinge(reduction: "none").Compute(t, p)));
        Near(0.55, S(new Hinge().Compute(t, p, F1(1, 0))), 1e-3);
        Near(1.86, S(new SquaredHinge().Compute(t, p)), 1e-3);
        Near([1.46, 2.26], V(new SquaredHinge(reduction: "none").Compute(t, p)));
        Near(1.4, S(new CategoricalHinge().Compute(t, p)), 1e-3);
        Near([1.2, 1.6], V(new CategoricalHinge(reduction: "none").Compute(t, p)));
        // Labels already in {-1, 1} are used as they are.
        Near((Math.Max(0, 1 - 0.6) + Math.Max(0, 1 + 0.4)) / 2, S(new Hinge().Compute(F([1, 2], 1, -1), F([1, 2], 0.6, 0.4))));
    }

    [Fact]
    public void ElementwiseLoss_ShapeMismatch_NamesLossAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new MeanSquaredError(name: "my_mse").Compute(F([2, 3], T6), torch.zeros(2, 4)));
        Assert.Contains("MeanSquaredError 'my_mse'", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(2, 4)", e.Message);
    }

    [Fact]
    public void LossFunctionWrapper_WrapsUserFunction()
    {
        var cubic = new LossFunctionWrapper((t, p) => p.sub(t).abs().pow(3).mean([-1L]), name: "cubic");
        Assert.Equal("cubic", cubic.Name);
        Assert.Equal("sum_over_batch_size", cubic.Reduction);
        double expected = (Enumerable.Range(0, 3).Sum(i => Math.Pow(Math.Abs(P6[i] - T6[i]), 3)) / 3
                           + Enumerable.Range(3, 3).Sum(i => Math.Pow(Math.Abs(P6[i] - T6[i]), 3)) / 3) / 2;
        Near(expected, S(cubic.Compute(TrueInts, Pred)), 1e-2);
        Assert.StartsWith("loss_function_wrapper", new LossFunctionWrapper((t, p) => t).Name);
    }
}
