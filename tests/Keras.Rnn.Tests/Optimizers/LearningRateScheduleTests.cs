using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using Xunit;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>
/// Schedules against their formulas and against the expectations of Keras' own
/// keras/src/optimizers/schedules/learning_rate_schedule_test.py (cited per test).
/// </summary>
public class LearningRateScheduleTests
{
    private static void Near(double expected, double actual, double tol = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void ExponentialDecay_ContinuousAndStaircase()
    {
        // test_continuous: 0.05 · 0.96^(5/10) at step 5.
        Near(0.05 * Math.Pow(0.96, 0.5), new ExponentialDecay(0.05, 10, 0.96).Call(5));
        // test_staircase: 0.1 at steps 1 and 2, 0.1 · 0.96^(100 // 3) at step 100.
        var s = new ExponentialDecay(0.1, 3, 0.96, staircase: true);
        Near(0.1, s.Call(1));
        Near(0.1, s.Call(2));
        Near(0.1 * Math.Pow(0.96, 33), s.Call(100));
        var c = new ExponentialDecay(0.3, 7, 0.5);
        foreach (var step in new long[] { 0, 1, 6, 7, 20, 1000 })
            Near(0.3 * Math.Pow(0.5, step / 7.0), c.Call(step));
    }

    [Fact]
    public void PiecewiseConstantDecay_Values()
    {
        // test_piecewise_values: boundaries [100, 110, 120], values [1, 0.1, 0.01, 0.001].
        var s = new PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001]);
        Near(1.0, s.Call(0));
        Near(1.0, s.Call(100));
        Near(0.1, s.Call(105));
        Near(0.1, s.Call(110));
        Near(0.01, s.Call(120));
        Near(0.001, s.Call(999));
        // test_boundary_values.
        var b = new PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7]);
        double[] expected = [0.4, 0.4, 0.5, 0.6, 0.7];
        for (int step = 0; step <= 4; step++) Near(expected[step], b.Call(step));
    }

    [Fact]
    public void PolynomialDecay_Cases()
    {
        // LinearDecayTest and SqrtDecayTest.
        Near(0.05 * 0.5, new PolynomialDecay(0.05, 10, 0.0).Call(5));
        Near(0.001, new PolynomialDecay(0.05, 10, 0.001).Call(10));
        Near((0.05 + 0.001) * 0.5, new PolynomialDecay(0.05, 10, 0.001).Call(5));
        Near(0.001, new PolynomialDecay(0.05, 10, 0.001).Call(15));
        Near((0.05 - 0.001) * 0.25 + 0.001, new PolynomialDecay(0.05, 10, 0.001, cycle: true).Call(15));
        Near(0.05 * Math.Pow(0.5, 0.5), new PolynomialDecay(0.05, 10, 0.0, power: 0.5).Call(5));
        Near((0.05 - 0.001) * Math.Pow(0.5, 0.5) + 0.001, new PolynomialDecay(0.05, 10, 0.001, power: 0.5).Call(5));
        Near((0.05 - 0.001) * Math.Pow(0.25, 0.5) + 0.001, new PolynomialDecay(0.05, 10, 0.001, power: 0.5, cycle: true).Call(15));
        Near(0.001, new PolynomialDecay(0.001, 10, cycle: true).Call(0)); // test_begin_with_cycle
        // Formula at a few more steps: cycle doubles the period at 11..20, triples at 21..30.
        var c = new PolynomialDecay(1.0, 10, 0.1, power: 2.0, cycle: true);
        Near((1 - 0.1) * Math.Pow(1 - 25.0 / 30.0, 2) + 0.1, c.Call(25));
        Near((1 - 0.1) * Math.Pow(1 - 20.0 / 20.0, 2) + 0.1, c.Call(20));
    }

    [Fact]
    public void InverseTimeDecay_DecayAndStaircase()
    {
        // test_decay and test_staircase: k = 10, decay_rate 0.96, steps 0..10.
        var d = new InverseTimeDecay(0.1, 10, 0.96);
        var s = new InverseTimeDecay(0.1, 10, 0.96, staircase: true);
        for (int i = 0; i <= 10; i++)
        {
            Near(0.1 / (1 + i / 10.0 * 0.96), d.Call(i));
            Near(0.1 / (1 + 0.96 * (i / 10)), s.Call(i));
        }
    }

    private static double NpCosineDecay(double step, double decaySteps, double alpha = 0.0)
    {
        step = Math.Min(step, decaySteps);
        double decay = 0.5 * (1.0 + Math.Cos(Math.PI * step / decaySteps));
        return (1.0 - alpha) * decay + alpha;
    }

    [Fact]
    public void CosineDecay_DecayAlphaWarmup()
    {
        // test_decay, test_alpha, test_warmup, test_warmup_decay (their np_cosine_decay / linear_warmup helpers).
        for (int step = 0; step < 1500; step += 250)
        {
            Near(NpCosineDecay(step, 1000), new CosineDecay(1.0, 1000).Call(step));
            Near(NpCosineDecay(step, 1000, 0.1), new CosineDecay(1.0, 1000, 0.1).Call(step));
            Near(step / 1500.0 * 10.0, new CosineDecay(0.0, 10, warmupTarget: 10.0, warmupSteps: 1500).Call(step));
        }
        for (int step = 0; step < 3000; step += 250)
        {
            var lr = new CosineDecay(0.0, 1000, warmupTarget: 10.0, warmupSteps: 2000);
            double expected = step < 2001 ? step / 2000.0 * 10.0 : 10.0 * NpCosineDecay(step - 2000, 1000);
            Near(expected, lr.Call(step), 1e-9);
        }
        // Warmup from a non-zero start, then the decay ends at warmupTarget · alpha.
        var w = new CosineDecay(0.1, 100, alpha: 0.2, warmupTarget: 1.0, warmupSteps: 10);
        Near(0.1 + 0.9 * 0.5, w.Call(5));
        Near(1.0, w.Call(10));
        Near(1.0 * (0.8 * 0.5 * (1 + Math.Cos(Math.PI * 0.5)) + 0.2), w.Call(60));
        Near(0.2, w.Call(110));
        Near(0.2, w.Call(5000));
    }

    private static double NpCosineDecayRestarts(double step, double decaySteps, double tMul = 2.0, double mMul = 1.0, double alpha = 0.0)
    {
        double fac = 1.0;
        while (step >= decaySteps)
        {
            step -= decaySteps;
            decaySteps *= tMul;
            fac *= mMul;
        }
        double decay = fac * 0.5 * (1.0 + Math.Cos(Math.PI * step / decaySteps));
        return (1.0 - alpha) * decay + alpha;
    }

    [Fact]
    public void CosineDecayRestarts_MatchesKerasReference()
    {
        // test_decay, test_alpha, test_mmul, test_tmul (their np_cosine_decay_restarts helper), steps 0..1250.
        for (int step = 0; step < 1500; step += 250)
        {
            Near(NpCosineDecayRestarts(step, 1000), new CosineDecayRestarts(1.0, 1000).Call(step), 1e-6);
            Near(NpCosineDecayRestarts(step, 1000, alpha: 0.1), new CosineDecayRestarts(1.0, 1000, alpha: 0.1).Call(step), 1e-6);
            Near(NpCosineDecayRestarts(step, 1000, mMul: 0.9), new CosineDecayRestarts(1.0, 1000, mMul: 0.9).Call(step), 1e-6);
            Near(NpCosineDecayRestarts(step, 1000, tMul: 1.0), new CosineDecayRestarts(1.0, 1000, tMul: 1.0).Call(step), 1e-6);
        }
        // Every step over several restarts, with both multipliers (away from exact restart points, where floating
        // point decides which period a step belongs to in Keras' closed form as well).
        var s = new CosineDecayRestarts(0.5, 10, tMul: 3.0, mMul: 0.5, alpha: 0.05);
        for (int step = 0; step < 200; step++)
        {
            if (step is 10 or 40 or 130) continue;
            Near(0.5 * NpCosineDecayRestarts(step, 10, 3.0, 0.5, 0.05), s.Call(step), 1e-9);
        }
    }

    [Fact]
    public void Configs_UseKerasKeys()
    {
        Assert.Equal(["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
            new ExponentialDecay(0.05, 10, 0.96, true, "my_ed").GetConfig().Keys);
        Assert.Equal(["boundaries", "values", "name"], new PiecewiseConstantDecay([10, 20], [1, 2, 3], "my_pcd").GetConfig().Keys);
        Assert.Equal(["initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"],
            new PolynomialDecay(0.1, 100, 0.005, 1.0, false, "my_ld").GetConfig().Keys);
        Assert.Equal(["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
            new InverseTimeDecay(0.05, 10, 0.96, true, "my_itd").GetConfig().Keys);
        Assert.Equal(["initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps"],
            new CosineDecay(0.05, 10, 0.1, 0.2, 2, "my_cd").GetConfig().Keys);
        Assert.Equal(["initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"],
            new CosineDecayRestarts(0.05, 10, 3.0, 4.0, 0.1, "my_cdr").GetConfig().Keys);
        // Keras' default names.
        Assert.Equal("PiecewiseConstant", new PiecewiseConstantDecay([1], [1, 2]).GetConfig()["name"]);
        Assert.Equal("SGDRDecay", new CosineDecayRestarts(1, 10).GetConfig()["name"]);
        var ser = new ExponentialDecay(0.1, 100000, 0.96, staircase: true).Serialize();
        Assert.Equal("keras.optimizers.schedules", ser["module"]);
        Assert.Equal("ExponentialDecay", ser["class_name"]);
        Assert.Null(ser["registered_name"]);
    }

    [Fact]
    public void BadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.1, 0, 0.9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InverseTimeDecay(0.1, -1, 0.9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(0.1, 0));
        var e = Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([1, 2], [1.0, 2.0]));
        Assert.Contains("1 less than", e.Message);
    }

    [Fact]
    public void OptimizerEvaluatesTheScheduleAtItsStepCount()
    {
        var schedule = new PiecewiseConstantDecay([1, 2], [0.1, 0.2, 0.3]);
        var opt = new SGD(schedule);
        Assert.Same(schedule, opt.LearningRateSchedule);
        var w = OptimizerTestUtil.Var([0.0]);
        double[] expected = [0.1, 0.1, 0.2, 0.3, 0.3];
        for (int i = 0; i < expected.Length; i++)
        {
            Near(expected[i], opt.LearningRate);
            OptimizerTestUtil.Step(opt, [w], [1.0]);
        }
    }
}
