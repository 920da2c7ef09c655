using Keras.Rnn.Constraints;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Optimizers.OptimizerTestUtil;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>
/// Several steps of each optimizer against Keras' update rules (keras/src/optimizers/*.py, base_optimizer.py)
/// written out element by element in double precision here. Float64 weights make the comparison tight (1e-12);
/// one float32 run per rule checks the usual dtype to 1e-6.
/// </summary>
public class UpdateRuleTests
{
    private const int Steps = 5;

    /// <summary>Gradients that change sign and size over the steps (so AMSGrad's max and the momentum matter).</summary>
    private static double[] GradAt(int step, int n) =>
        Enumerable.Range(0, n).Select(j => Math.Sin(1.3 * step + 0.7 * j) * (step % 2 == 0 ? 2.0 : 0.3) + 0.05 * j).ToArray();

    private static readonly double[] W0 = [0.5, -1.0, 2.0, 0.25];

    private static double[] Run(Optimizer opt, ScalarType dtype, int steps = Steps)
    {
        var w = Var(W0, "dense/kernel", dtype);
        for (int t = 0; t < steps; t++) Step(opt, [w], GradAt(t, W0.Length));
        return Values(w);
    }

    // ---- Reference rules, one element at a time (Keras' formulas) ----

    private static double[] AdamRef(double lr, double b1, double b2, double eps, bool amsgrad, double? wd = null, int steps = Steps,
                                     Func<int, double>? lrAt = null)
    {
        var w = (double[])W0.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var vh = new double[w.Length];
        for (int t = 0; t < steps; t++)
        {
            double rate = lrAt?.Invoke(t) ?? lr;
            var g = GradAt(t, w.Length);
            double alpha = rate * Math.Sqrt(1 - Math.Pow(b2, t + 1)) / (1 - Math.Pow(b1, t + 1));
            for (int j = 0; j < w.Length; j++)
            {
                if (wd is double d) w[j] -= w[j] * d * rate;
                m[j] += (g[j] - m[j]) * (1 - b1);
                v[j] += (g[j] * g[j] - v[j]) * (1 - b2);
                double vv = v[j];
                if (amsgrad) { vh[j] = Math.Max(vh[j], v[j]); vv = vh[j]; }
                w[j] -= alpha * m[j] / (Math.Sqrt(vv) + eps);
            }
        }
        return w;
    }

    private static double[] SgdRef(double lr, double mu, bool nesterov)
    {
        var w = (double[])W0.Clone();
        var m = new double[w.Length];
        for (int t = 0; t < Steps; t++)
        {
            var g = GradAt(t, w.Length);
            for (int j = 0; j < w.Length; j++)
            {
                if (mu == 0) { w[j] -= lr * g[j]; continue; }
                m[j] = mu * m[j] - lr * g[j];
                w[j] += nesterov ? mu * m[j] - lr * g[j] : m[j];
            }
        }
        return w;
    }

    private static double[] RmspropRef(double lr, double rho, double mu, double eps, bool centered)
    {
        var w = (double[])W0.Clone();
        var v = new double[w.Length];
        var a = new double[w.Length];
        var m = new double[w.Length];
        for (int t = 0; t < Steps; t++)
        {
            var g = GradAt(t, w.Length);
            for (int j = 0; j < w.Length; j++)
            {
                v[j] = rho * v[j] + (1 - rho) * g[j] * g[j];
                double denom;
                if (centered)
                {
                    a[j] = rho * a[j] + (1 - rho) * g[j];
                    denom = v[j] - a[j] * a[j] + eps;
                }
                else denom = v[j] + eps;
                double inc = lr * g[j] / Math.Sqrt(denom);
                if (mu > 0) { m[j] = mu * m[j] + inc; w[j] -= m[j]; }
                else w[j] -= inc;
            }
        }
        return w;
    }

    private static double[] AdagradRef(double lr, double init, double eps)
    {
        var w = (double[])W0.Clone();
        var acc = Enumerable.Repeat(init, w.Length).ToArray();
        for (int t = 0; t < Steps; t++)
        {
            var g = GradAt(t, w.Length);
            for (int j = 0; j < w.Length; j++)
            {
                acc[j] += g[j] * g[j];
                w[j] -= lr * g[j] / Math.Sqrt(acc[j] + eps);
            }
        }
        return w;
    }

    private static double[] NadamRef(double lr, double b1, double b2, double eps)
    {
        var w = (double[])W0.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        double uProduct = 1.0;
        for (int t = 0; t < Steps; t++)
        {
            var g = GradAt(t, w.Length);
            double step = t + 1;
            double ut = b1 * (1 - 0.5 * Math.Pow(0.96, step));
            double ut1 = b1 * (1 - 0.5 * Math.Pow(0.96, step + 1));
            uProduct *= ut;
            double uProductNext = uProduct * ut1;
            for (int j = 0; j < w.Length; j++)
            {
                m[j] += (g[j] - m[j]) * (1 - b1);
                v[j] += (g[j] * g[j] - v[j]) * (1 - b2);
                double mHat = ut1 * m[j] / (1 - uProductNext) + (1 - ut) * g[j] / (1 - uProduct);
                double vHat = v[j] / (1 - Math.Pow(b2, step));
                w[j] -= mHat * lr / (Math.Sqrt(vHat) + eps);
            }
        }
        return w;
    }

    // ---- Tests ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Adam(bool amsgrad)
    {
        var expected = AdamRef(0.01, 0.9, 0.999, 1e-7, amsgrad);
        AssertClose(expected, Run(new Adam(0.01, amsgrad: amsgrad), ScalarType.Float64), 1e-12, what: "float64");
        AssertClose(expected, Run(new Adam(0.01, amsgrad: amsgrad), ScalarType.Float32), 1e-6, what: "float32");
    }

    [Fact]
    public void Adam_NonDefaultHyperparameters()
    {
        var expected = AdamRef(0.2, 0.5, 0.67, 1e-3, amsgrad: true);
        AssertClose(expected, Run(new Adam(0.2, beta1: 0.5, beta2: 0.67, epsilon: 1e-3, amsgrad: true), ScalarType.Float64), 1e-12);
    }

    [Fact]
    public void AmsgradChangesTheResult()
    {
        // With β₂ = 0.67 and gradients that shrink every other step, v̂ = max(v̂, v) differs from v, so the
        // AMSGrad case of Adam_NonDefaultHyperparameters checks something the plain rule would not pass.
        var plain = AdamRef(0.2, 0.5, 0.67, 1e-3, false);
        var ams = AdamRef(0.2, 0.5, 0.67, 1e-3, true);
        Assert.True(plain.Zip(ams, (a, b) => Math.Abs(a - b)).Max() > 1e-2);
        var ours = Run(new Adam(0.2, beta1: 0.5, beta2: 0.67, epsilon: 1e-3, amsgrad: true), ScalarType.Float64);
        Assert.True(plain.Zip(ours, (a, b) => Math.Abs(a - b)).Max() > 1e-2);
    }

    [Fact]
    public void AdamW_DecaysBeforeTheAdamUpdate()
    {
        var expected = AdamRef(0.01, 0.9, 0.999, 1e-7, false, wd: 0.1);
        AssertClose(expected, Run(new AdamW(0.01, weightDecay: 0.1), ScalarType.Float64), 1e-12);
        AssertClose(expected, Run(new Adam(0.01, weightDecay: 0.1), ScalarType.Float64), 1e-12);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.9, false)]
    [InlineData(0.9, true)]
    [InlineData(0.5, true)]
    public void SGD(double momentum, bool nesterov)
    {
        var expected = SgdRef(0.05, momentum, nesterov);
        AssertClose(expected, Run(new SGD(0.05, momentum: momentum, nesterov: nesterov), ScalarType.Float64), 1e-12);
        AssertClose(expected, Run(new SGD(0.05, momentum: momentum, nesterov: nesterov), ScalarType.Float32), 1e-6);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.0, true)]
    [InlineData(0.8, false)]
    [InlineData(0.8, true)]
    public void RMSprop(double momentum, bool centered)
    {
        var expected = RmspropRef(0.01, 0.9, momentum, 1e-7, centered);
        AssertClose(expected, Run(new RMSprop(0.01, momentum: momentum, centered: centered), ScalarType.Float64), 1e-12);
        AssertClose(expected, Run(new RMSprop(0.01, momentum: momentum, centered: centered), ScalarType.Float32), 1e-6);
    }

    [Fact]
    public void RMSprop_EpsilonIsInsideTheSquareRoot()
    {
        // A tiny gradient makes v comparable to ε: √(v + ε) and √v + ε then give clearly different steps.
        var w = Var([0.0], "w", ScalarType.Float64);
        new RMSprop(0.1).ApplyGradients([torch.tensor(new[] { 1e-4 }, ScalarType.Float64)], [w]);
        double v = 0.1 * 1e-8;
        double inside = -0.1 * 1e-4 / Math.Sqrt(v + 1e-7);
        double outside = -0.1 * 1e-4 / (Math.Sqrt(v) + 1e-7);
        Assert.True(Math.Abs(inside - outside) > 1e-3);
        AssertClose([inside], Values(w), 1e-15);
    }

    [Fact]
    public void Adagrad()
    {
        var expected = AdagradRef(0.1, 0.1, 1e-7);
        AssertClose(expected, Run(new Adagrad(0.1), ScalarType.Float64), 1e-12);
        AssertClose(AdagradRef(0.3, 0.0, 1e-3), Run(new Adagrad(0.3, initialAccumulatorValue: 0.0, epsilon: 1e-3), ScalarType.Float64), 1e-12);
        AssertClose(expected, Run(new Adagrad(0.1), ScalarType.Float32), 1e-6);
    }

    [Fact]
    public void Nadam()
    {
        var expected = NadamRef(0.01, 0.9, 0.999, 1e-7);
        AssertClose(expected, Run(new Nadam(0.01), ScalarType.Float64), 1e-12);
        AssertClose(expected, Run(new Nadam(0.01), ScalarType.Float32), 1e-6);
        AssertClose(NadamRef(0.5, 0.5, 0.67, 1e-5), Run(new Nadam(0.5, beta1: 0.5, beta2: 0.67, epsilon: 1e-5), ScalarType.Float64), 1e-12);
    }

    [Fact]
    public void Schedule_IsEvaluatedAtTheStepCountBeforeEachUpdate()
    {
        var schedule = new ExponentialDecay(0.05, 2, 0.5);
        var expected = AdamRef(0, 0.9, 0.999, 1e-7, false, lrAt: t => 0.05 * Math.Pow(0.5, t / 2.0));
        var opt = new Adam(schedule);
        AssertClose(expected, Run(opt, ScalarType.Float64), 1e-12);
        Assert.Equal(0.05 * Math.Pow(0.5, Steps / 2.0), opt.LearningRate, 15);
    }

    [Fact]
    public void SetLearningRate_TakesEffectAtTheNextStep()
    {
        var opt = new SGD(0.1);
        var w = Var([1.0], "w", ScalarType.Float64);
        Step(opt, [w], [1.0]);
        opt.LearningRate = 0.5;
        Step(opt, [w], [1.0]);
        AssertClose([1.0 - 0.1 - 0.5], Values(w), 1e-15);
        Assert.Equal(0.5, opt.LearningRate);
    }

    // ---- Clipping, weight decay, EMA, accumulation, loss scaling ----

    [Fact]
    public void Clipnorm_ClipsEachGradientByItsOwnNorm()
    {
        // clipnorm: g · c / max(‖g‖, c) per variable; the small gradient is left alone.
        var a = Var([1.0, 1.0], "a", ScalarType.Float64);
        var b = Var([1.0, 1.0], "b", ScalarType.Float64);
        var opt = new SGD(0.1, clipnorm: 1.0);
        Step(opt, [a, b], [3.0, 4.0], [0.3, 0.4]);
        AssertClose([1 - 0.1 * 0.6, 1 - 0.1 * 0.8], Values(a), 1e-15);
        AssertClose([1 - 0.1 * 0.3, 1 - 0.1 * 0.4], Values(b), 1e-15);
    }

    [Fact]
    public void GlobalClipnorm_ScalesAllGradientsByTheGlobalNorm()
    {
        // global norm √(3² + 4² + 12²) = 13 > 6.5: every gradient is scaled by 6.5/13 = 0.5.
        var a = Var([1.0, 1.0], "a", ScalarType.Float64);
        var b = Var([1.0], "b", ScalarType.Float64);
        var opt = new SGD(0.1, globalClipnorm: 6.5);
        Step(opt, [a, b], [3.0, 4.0], [12.0]);
        AssertClose([1 - 0.1 * 1.5, 1 - 0.1 * 2.0], Values(a), 1e-15);
        AssertClose([1 - 0.1 * 6.0], Values(b), 1e-15);

        // Below the threshold nothing changes.
        var c = Var([1.0], "c", ScalarType.Float64);
        var opt2 = new SGD(0.1, globalClipnorm: 100);
        Step(opt2, [c], [12.0]);
        AssertClose([1 - 1.2], Values(c), 1e-15);
    }

    [Fact]
    public void Clipvalue_ClipsEachElement()
    {
        var a = Var([0.0, 0.0, 0.0], "a", ScalarType.Float64);
        var opt = new SGD(1.0, clipvalue: 0.5);
        Step(opt, [a], [3.0, -0.2, -7.0]);
        AssertClose([-0.5, 0.2, 0.5], Values(a), 1e-15);
    }

    [Fact]
    public void Clipnorm_IsAppliedBeforeTheAdamUpdate()
    {
        // Adam is invariant to a constant gradient scale only without ε: use a large ε so clipping shows.
        var w = Var([0.0, 0.0], "w", ScalarType.Float64);
        var opt = new Adam(0.1, epsilon: 1.0, clipnorm: 1.0);
        Step(opt, [w], [30.0, 40.0]);
        double alpha = 0.1 * Math.Sqrt(1 - 0.999) / (1 - 0.9);
        double[] g = [0.6, 0.8];
        var expected = g.Select(x => -alpha * (0.1 * x) / (Math.Sqrt(0.001 * x * x) + 1.0)).ToArray();
        AssertClose(expected, Values(w), 1e-15);
    }

    [Fact]
    public void WeightDecay_IsDecoupledAndHonoursExclusions()
    {
        // w ← w·(1 − wd·lr) before the update, skipping excluded weights (by name pattern and by identity).
        var kernel = Var([1.0, 2.0], "dense/kernel", ScalarType.Float64);
        var bias = Var([1.0, 2.0], "dense/bias", ScalarType.Float64);
        var other = Var([1.0, 2.0], "dense/other", ScalarType.Float64);
        var opt = new SGD(0.1, weightDecay: 0.2);
        opt.ExcludeFromWeightDecay(variables: [other], varNames: ["bi.s"]);
        for (int t = 0; t < 3; t++) Step(opt, [kernel, bias, other], [0.5, -0.5], [0.5, -0.5], [0.5, -0.5]);
        double[] k = [1.0, 2.0], plain = [1.0, 2.0];
        for (int t = 0; t < 3; t++)
        {
            k = [k[0] * (1 - 0.02) - 0.05, k[1] * (1 - 0.02) + 0.05];
            plain = [plain[0] - 0.05, plain[1] + 0.05];
        }
        AssertClose(k, Values(kernel), 1e-15);
        AssertClose(plain, Values(bias), 1e-15);
        AssertClose(plain, Values(other), 1e-15);
    }

    [Fact]
    public void WeightDecay_UsesTheScheduledLearningRate()
    {
        var w = Var([1.0], "w", ScalarType.Float64);
        var opt = new SGD(new PiecewiseConstantDecay([0], [0.1, 0.3]), weightDecay: 0.5);
        Step(opt, [w], [0.0]);
        Step(opt, [w], [0.0]);
        AssertClose([(1 - 0.5 * 0.1) * (1 - 0.5 * 0.3)], Values(w), 1e-15);
    }

    [Fact]
    public void Ema_FollowsKerasRecurrence()
    {
        // average = w after the first update, then μ·average + (1 − μ)·w; every 2nd update the weights take the average.
        var w = Var([1.0, -1.0], "w", ScalarType.Float64);
        var opt = new SGD(0.1, momentum: 0.5, useEma: true, emaMomentum: 0.8, emaOverwriteFrequency: 2);
        double[] x = [1.0, -1.0], m = [0, 0], avg = [0, 0];
        for (int t = 0; t < Steps; t++)
        {
            var g = GradAt(t, 2);
            Step(opt, [w], g);
            for (int j = 0; j < 2; j++)
            {
                m[j] = 0.5 * m[j] - 0.1 * g[j];
                x[j] += m[j];
                double mu = t == 0 ? 0.0 : 0.8;
                avg[j] = mu * avg[j] + (1 - mu) * x[j];
                if ((t + 1) % 2 == 0) x[j] = avg[j];
            }
            AssertClose(x, Values(w), 1e-14, what: $"step {t}");
            AssertClose(avg, Values(opt.MovingAverages[0].Value), 1e-14, what: $"average {t}");
        }
    }

    [Fact]
    public void GradientAccumulation_AdamUsesTheUpdateCountAndTheRawStepForTheSchedule()
    {
        // Two calls per update: the Adam step count advances once per update (Keras' iterations = _iterations // 2),
        // the schedule sees the raw call count (Keras' _iterations) at the updating call.
        var schedule = new ExponentialDecay(0.1, 1, 0.5);
        var opt = new Adam(schedule, gradientAccumulationSteps: 2);
        var w = Var([0.3, -0.4], "w", ScalarType.Float64);
        double[] x = [0.3, -0.4], m = [0, 0], v = [0, 0];
        for (int call = 0; call < 6; call++)
        {
            Step(opt, [w], GradAt(call, 2));
            if (call % 2 == 1)
            {
                var g = GradAt(call - 1, 2).Zip(GradAt(call, 2), (p, q) => (p + q) / 2).ToArray();
                int t = call / 2 + 1;
                double lr = 0.1 * Math.Pow(0.5, call);
                double alpha = lr * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t));
                for (int j = 0; j < 2; j++)
                {
                    m[j] += (g[j] - m[j]) * 0.1;
                    v[j] += (g[j] * g[j] - v[j]) * 0.001;
                    x[j] -= alpha * m[j] / (Math.Sqrt(v[j]) + 1e-7);
                }
            }
            AssertClose(x, Values(w), 1e-14, what: $"call {call}");
        }
        Assert.Equal(3, opt.Iterations);
    }

    [Fact]
    public void LossScaleFactor_DividesTheGradients()
    {
        var w = Var([0.0, 0.0], "w", ScalarType.Float64);
        var opt = new Adam(0.1, lossScaleFactor: 128.0, clipvalue: 0.25);
        Step(opt, [w], [128.0 * 0.1, 128.0 * 3.0]);
        // Unscaled first ([0.1, 3]), then clipped ([0.1, 0.25]).
        double alpha = 0.1 * Math.Sqrt(1 - 0.999) / (1 - 0.9);
        var expected = new[] { 0.1, 0.25 }.Select(g => -alpha * (0.1 * g) / (Math.Sqrt(0.001 * g * g) + 1e-7)).ToArray();
        AssertClose(expected, Values(w), 1e-15);
    }

    [Fact]
    public void Constraint_IsAppliedAfterTheUpdate()
    {
        // MaxNorm(1, axis 0) on a (2, 1) kernel: the update first moves w to [3, 4]·…, then the projection rescales
        // the column to norm 1 (Keras' max_norm with ε = 1e-7). The projection of the *old* value would give a
        // different result.
        var w = new Variable("kernel", "dense/kernel", torch.tensor(new double[,] { { 0.6 }, { 0.8 } }), true, null, new MaxNorm(1.0));
        var opt = new SGD(1.0);
        using var g = torch.tensor(new double[,] { { -2.4 }, { -3.2 } });
        opt.ApplyGradients([g], [w]);
        double n = 5.0; // [3, 4] after the update
        AssertClose([3.0 / (n + 1e-7), 4.0 / (n + 1e-7)], Values(w), 1e-12);
    }

    [Fact]
    public void Constraint_AppliedOnlyToUpdatedWeights()
    {
        // Keras applies constraints to the weights that received a gradient.
        var a = Var([-1.0], "a", ScalarType.Float64, constraint: new NonNeg());
        var b = Var([-1.0], "b", ScalarType.Float64, constraint: new NonNeg());
        var opt = new SGD(0.1);
        using var g = torch.tensor(new[] { 1.0 }, ScalarType.Float64);
        opt.ApplyGradients([g, null], [a, b]);
        AssertClose([0.0], Values(a), 0);
        AssertClose([-1.0], Values(b), 0);
    }
}
