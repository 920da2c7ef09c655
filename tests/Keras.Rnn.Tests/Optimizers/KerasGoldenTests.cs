using Keras.Rnn.Constraints;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Optimizers.OptimizerTestUtil;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>
/// Keras 3.15's own published values, from keras/src/optimizers/{adam,adamw,sgd,rmsprop,adagrad,nadam,optimizer}_test.py
/// (test_single_step, test_correctness_with_golden, test_weight_decay, test_ema, test_gradient_accumulation, …),
/// checked with the tolerances those tests use.
/// </summary>
public class KerasGoldenTests
{
    private static readonly double[] SingleStepGrads = [1.0, 6.0, 7.0, 2.0];
    private static readonly double[] SingleStepVars = [1.0, 2.0, 3.0, 4.0];

    public static TheoryData<string, double[]> SingleStepCases => new()
    {
        // Each *_test.py: test_single_step, learning_rate=0.5, grads [1, 6, 7, 2], vars [1, 2, 3, 4], rtol = atol = 1e-4.
        { "adam", [0.5, 1.5, 2.5, 3.5] },
        { "adamw", [0.4980, 1.4960, 2.494, 3.492] },
        { "sgd", [0.5, -1.0, -0.5, 3.0] },
        { "rmsprop", [-0.5811, 0.4189, 1.4189, 2.4189] },
        { "adagrad", [0.5233, 1.5007, 2.5005, 3.5061] },
        { "nadam", [0.4686, 1.4686, 2.4686, 3.4686] },
    };

    private static Optimizer Make(string id, double lr, double? weightDecay = null) => id switch
    {
        "adam" => new Adam(lr, weightDecay: weightDecay),
        "adamw" => new AdamW(lr, weightDecay: weightDecay ?? 0.004),
        "sgd" => new SGD(lr, weightDecay: weightDecay),
        "rmsprop" => new RMSprop(lr, weightDecay: weightDecay),
        "adagrad" => new Adagrad(lr, weightDecay: weightDecay),
        "nadam" => new Nadam(lr, weightDecay: weightDecay),
        _ => throw new ArgumentException(id),
    };

    [Theory]
    [MemberData(nameof(SingleStepCases))]
    public void SingleStep(string id, double[] expected)
    {
        var opt = Make(id, 0.5);
        var x = Var(SingleStepVars);
        Step(opt, [x], SingleStepGrads);
        AssertClose(expected, Values(x), atol: 1e-4, rtol: 1e-4, what: id);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("sgd")]
    [InlineData("rmsprop")]
    [InlineData("adagrad")]
    [InlineData("nadam")]
    public void WeightDecay_ExcludedByNameAndByVariable(string id)
    {
        // *_test.py test_weight_decay: zero gradients, lr 1, weight_decay 0.004; var1 is decayed by three optimizers
        // (2 · 0.996³ = 1.9760959), var2 excluded by name, var3 by identity. assertAlmostEqual(decimal=6).
        var var1 = Scalar(2.0, "var1");
        var var2 = Scalar(2.0, "exclude");
        var var3 = Scalar(2.0, "var3");
        var zero = new[] { 0.0 };

        var opt1 = Make(id, 1.0, 0.004);
        ApplyScalars(opt1, [var1], zero);
        var opt2 = Make(id, 1.0, 0.004);
        opt2.ExcludeFromWeightDecay(varNames: ["exclude"]);
        ApplyScalars(opt2, [var1, var2], zero);
        var opt3 = Make(id, 1.0, 0.004);
        opt3.ExcludeFromWeightDecay(variables: [var3]);
        ApplyScalars(opt3, [var1, var3], zero);

        Assert.True(Math.Abs(Values(var1)[0] - 1.9760959) < 1.5e-6, $"var1 = {Values(var1)[0]}");
        Assert.True(Math.Abs(Values(var2)[0] - 2.0) < 1.5e-6);
        Assert.True(Math.Abs(Values(var3)[0] - 2.0) < 1.5e-6);
    }

    private static void ApplyScalars(Optimizer opt, Variable[] vars, double[] grad)
    {
        var grads = vars.Select(_ => (Tensor?)torch.zeros([], ScalarType.Float32)).ToArray();
        opt.ApplyGradients(grads, vars);
        foreach (var g in grads) g!.Dispose();
    }

    /// <summary>The gradients of every test_correctness_with_golden: first 0.01 everywhere, then arange(0.1, 1.1, 0.1).</summary>
    private static void RunGolden(Optimizer opt, double[][] golden)
    {
        var x = Var(Enumerable.Repeat(1.0, 10).ToArray());
        var first = Enumerable.Repeat(0.01, 10).ToArray();
        var grads = Enumerable.Range(1, 10).Select(i => (double)(float)(0.1 * i)).ToArray();
        Step(opt, [x], first);
        for (int i = 0; i < golden.Length; i++)
        {
            AssertClose(golden[i], Values(x), atol: 5e-4, rtol: 5e-4, what: $"{opt.ClassName} golden row {i}");
            Step(opt, [x], grads);
        }
    }

    private static double[][] Tile(params double[] rows) => rows.Select(r => Enumerable.Repeat(r, 10).ToArray()).ToArray();

    [Fact]
    public void Adam_AmsgradGolden()
    {
        // adam_test.py test_correctness_with_golden: Adam(amsgrad=True).
        RunGolden(new Adam(amsgrad: true), Tile(0.999, 0.9982, 0.9974, 0.9965, 0.9955));
    }

    [Fact]
    public void AdamW_Golden()
    {
        // adamw_test.py test_correctness_with_golden: AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2).
        RunGolden(new AdamW(1.0, weightDecay: 0.5, epsilon: 2), [
            [0.4998, 0.4998, 0.4998, 0.4998, 0.4998, 0.4998, 0.4998, 0.4998, 0.4998, 0.4998],
            [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
            [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
            [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
            [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159],
        ]);
    }

    [Fact]
    public void SGD_NesterovGolden()
    {
        // sgd_test.py test_correctness_with_golden: SGD(nesterov=True).
        RunGolden(new SGD(nesterov: true), [
            [0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999],
            [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
            [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
            [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
            [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599],
        ]);
    }

    [Fact]
    public void RMSprop_CenteredGolden()
    {
        // rmsprop_test.py test_correctness_with_golden: RMSprop(centered=True).
        RunGolden(new RMSprop(centered: true), Tile(0.9967, 0.9933, 0.9908, 0.9885, 0.9864));
    }

    [Fact]
    public void Adagrad_Golden()
    {
        // adagrad_test.py test_correctness_with_golden: Adagrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-6).
        RunGolden(new Adagrad(0.2, initialAccumulatorValue: 0.3, epsilon: 1e-6), [
            [0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963],
            [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
            [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
            [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
            [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825],
        ]);
    }

    [Fact]
    public void Nadam_Golden()
    {
        // nadam_test.py test_correctness_with_golden: Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5).
        RunGolden(new Nadam(0.5, beta1: 0.5, beta2: 0.67, epsilon: 1e-5), [
            [0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281],
            [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
            [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
            [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
            [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454],
        ]);
    }

    [Fact]
    public void SGD_VariablesAreIterationAndLearningRate()
    {
        // sgd_test.py test_single_step: two optimizer variables before and after building (no momentum slots),
        // variables[0] == 1 (iterations) and variables[1] == 0.5 (learning rate) after one step.
        var opt = new SGD(0.5);
        Assert.Equal(2, opt.Variables.Count);
        var x = Var(SingleStepVars);
        opt.Build([x]);
        Step(opt, [x], SingleStepGrads);
        Assert.Equal(2, opt.Variables.Count);
        Assert.Equal(1.0, Values(opt.Variables[0].Value)[0]);
        Assert.Equal(0.5, Values(opt.Variables[1].Value)[0]);
    }

    [Fact]
    public void ScheduledOptimizer_HasOnlyTheIterationVariable()
    {
        // learning_rate_schedule_test.py test_fit_lr_correctness: with a schedule, len(optimizer.variables) == 1
        // and variables[0] (iterations) counts every step.
        var opt = new Adam(new ExponentialDecay(0.05, 1, 0.9));
        Assert.Single(opt.Variables);
        Assert.Equal(0.0, Values(opt.Variables[0].Value)[0]);
        var x = Var([1.0, 2.0]);
        for (int i = 0; i < 12; i++) Step(opt, [x], [0.1, 0.2]);
        Assert.Equal(12.0, Values(opt.Variables[0].Value)[0]);
        Assert.Equal(12, opt.Iterations);
    }

    [Fact]
    public void IterationsCounter()
    {
        // optimizer_test.py test_iterations_counter.
        var v = Var([1.0, 2.0, 3.0, 4.0]);
        var opt = new Adam(1.0);
        Assert.Equal(0, opt.Iterations);
        Step(opt, [v], [1, 1, 1, 1]);
        Assert.Equal(1, opt.Iterations);
        Step(opt, [v], [1, 1, 1, 1]);
        Assert.Equal(2, opt.Iterations);
    }

    [Fact]
    public void EmptyGradients_AllNullThrows_SomeNullAreSkipped()
    {
        // optimizer_test.py test_empty_gradients.
        var v = Var([3.0, 4.0, 5.0, 6.0]);
        var opt = new SGD(1.0);
        var e = Assert.Throws<ArgumentException>(() => opt.ApplyGradients([null], [v]));
        Assert.Contains("No gradients provided for any variable.", e.Message);

        var v2 = Var([3.0, 4.0, 5.0, 6.0], "v2");
        opt = new SGD(1.0);
        using var g2 = Grad([1, 1, 1, 1]);
        opt.ApplyGradients([null, g2], [v, v2]);
        AssertClose([3, 4, 5, 6], Values(v), 0);
        AssertClose([2, 3, 4, 5], Values(v2), 0);
    }

    [Theory]
    [InlineData("clipnorm")]
    [InlineData("clipvalue")]
    [InlineData("global_clipnorm")]
    public void Clipping(string kind)
    {
        // optimizer_test.py / *_test.py test_clip_norm ([100, 100] → [√2/2, √2/2]), test_clip_value ([100, 100] →
        // [1, 1]) and test_global_clip_norm ([50, 100] → g/‖g‖), observed through SGD(learning_rate=1) from w = 0.
        var opt = kind switch
        {
            "clipnorm" => new SGD(1.0, clipnorm: 1),
            "clipvalue" => new SGD(1.0, clipvalue: 1),
            _ => new SGD(1.0, globalClipnorm: 1),
        };
        var w = Var([0.0, 0.0]);
        double[] g = kind == "global_clipnorm" ? [50.0, 100.0] : [100.0, 100.0];
        Step(opt, [w], g);
        double[] clipped = kind switch
        {
            "clipnorm" => [Math.Sqrt(2) / 2, Math.Sqrt(2) / 2],
            "clipvalue" => [1.0, 1.0],
            _ => [50.0 / Math.Sqrt(12500), 100.0 / Math.Sqrt(12500)],
        };
        AssertClose(clipped.Select(c => -c).ToArray(), Values(w), atol: 1e-6, rtol: 1e-6);
    }

    [Fact]
    public void Ema_SgdWithOverwriteFrequency()
    {
        // optimizer_test.py test_ema: SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3).
        var v = Var([3.0, 4.0, 5.0, 6.0]);
        var opt = new SGD(1.0, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 3);
        Step(opt, [v], [1, 1, 1, 1]);
        AssertClose([2, 3, 4, 5], Values(v), 1e-6);
        AssertClose([2, 3, 4, 5], Values(opt.MovingAverages[0].Value), 1e-6);
        Step(opt, [v], [1, 1, 1, 1]);
        AssertClose([1, 2, 3, 4], Values(v), 1e-6);
        AssertClose([1.9, 2.9, 3.9, 4.9], Values(opt.MovingAverages[0].Value), 1e-6);
        Step(opt, [v], [1, 1, 1, 1]);
        AssertClose([1.71, 2.71, 3.71, 4.71], Values(v), 1e-6);
        AssertClose([1.71, 2.71, 3.71, 4.71], Values(opt.MovingAverages[0].Value), 1e-6);
    }

    [Fact]
    public void Ema_AdamFinalizeAndOverwrite()
    {
        // adam_test.py test_ema and test_ema_overwrite_frequency.
        var opt = new Adam(1.0, useEma: true, emaMomentum: 0.9);
        var v = Var([1.0, 2.0]);
        Step(opt, [v], [0.1, 0.2]);
        var v1 = Values(v);
        AssertClose(v1, Values(opt.MovingAverages[0].Value), 1e-6);
        Step(opt, [v], [0.1, 0.2]);
        var v2 = Values(v);
        var expected = v1.Zip(v2, (a, b) => 0.9 * a + 0.1 * b).ToArray();
        AssertClose(expected, Values(opt.MovingAverages[0].Value), 1e-6);
        opt.FinalizeVariableValues([v]);
        AssertClose(expected, Values(v), 1e-6);

        var withEma = new Adam(1.0, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 2);
        var plain = new Adam(1.0);
        var a = Var([1.0, 2.0]);
        var b = Var([1.0, 2.0]);
        Step(withEma, [a], [0.1, 0.2]);
        Step(plain, [b], [0.1, 0.2]);
        var b1 = Values(b);
        AssertClose(b1, Values(a), 1e-6);
        Step(withEma, [a], [0.1, 0.2]);
        Step(plain, [b], [0.1, 0.2]);
        var b2 = Values(b);
        AssertClose(b1.Zip(b2, (p, q) => 0.9 * p + 0.1 * q).ToArray(), Values(a), 1e-6);
    }

    [Fact]
    public void ConstraintsAreApplied()
    {
        // optimizer_test.py test_constraints_are_applied: NonNeg on a negative weight, zero gradient.
        var v = Var([-0.3, -0.9, -0.1, -0.5], constraint: new NonNeg());
        var opt = new SGD(0.0001);
        Step(opt, [v], [0, 0, 0, 0]);
        Assert.Equal(0.0, Values(v).Min());
    }

    [Fact]
    public void StaticLossScaling()
    {
        // optimizer_test.py test_static_loss_scaling.
        var v = Var([1.0, 2.0, 3.0, 4.0]);
        var opt = new SGD(1.0, lossScaleFactor: 1024.0);
        Step(opt, [v], [1024.0, 2048.0, 3072.0, 4096.0]);
        using var one = torch.tensor(1.0f);
        using var scaled = opt.ScaleLoss(one);
        Assert.Equal(1024.0, scaled.item<float>());
        AssertClose([0, 0, 0, 0], Values(v), 0);
    }

    [Fact]
    public void SetVariableValues_CopiesAnotherOptimizersState()
    {
        // optimizer_test.py test_set_weights.
        var x = Var([1.0, 2.0, 3.0, 4.0]);
        var opt1 = new Adam();
        Step(opt1, [x], [1.0, 2.0, 3.0, 4.0]);
        var opt2 = new Adam();
        var values = opt1.Variables.Select(v => v.Value).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => opt2.SetVariableValues(values));
        Assert.Contains("You are calling", e.Message);
        opt2.Build([x]);
        opt2.SetVariableValues(opt1.Variables.Select(v => v.Value).ToList());
        for (int i = 0; i < opt1.Variables.Count; i++)
            AssertClose(Values(opt1.Variables[i].Value), Values(opt2.Variables[i].Value), 0);
        Assert.Equal(1, opt2.Iterations);
    }

    [Fact]
    public void GradientAccumulation_Sgd()
    {
        // optimizer_test.py test_gradient_accumulation: SGD(learning_rate=1.0, gradient_accumulation_steps=3).
        var v = Var([1.0, 2.0, 3.0, 4.0]);
        var opt = new SGD(1.0, gradientAccumulationSteps: 3);
        Assert.Equal(3, opt.GradientAccumulationSteps);
        double[] ones = [1, 1, 1, 1];

        Step(opt, [v], ones);
        AssertClose([1, 2, 3, 4], Values(v), 0);
        AssertClose([1, 1, 1, 1], Values(opt.GradientAccumulators[0].Value), 0);
        Assert.Equal(1.0, Values(opt.Variables[0].Value)[0]); // Keras' _iterations
        Assert.Equal(0, opt.Iterations);

        Step(opt, [v], ones);
        AssertClose([1, 2, 3, 4], Values(v), 0);
        AssertClose([2, 2, 2, 2], Values(opt.GradientAccumulators[0].Value), 0);
        Assert.Equal(0, opt.Iterations);

        Step(opt, [v], ones);
        AssertClose([0, 1, 2, 3], Values(v), 1e-6);
        AssertClose([0, 0, 0, 0], Values(opt.GradientAccumulators[0].Value), 0);
        Assert.Equal(3.0, Values(opt.Variables[0].Value)[0]);
        Assert.Equal(1, opt.Iterations);

        Step(opt, [v], ones);
        AssertClose([0, 1, 2, 3], Values(v), 1e-6);
        AssertClose([1, 1, 1, 1], Values(opt.GradientAccumulators[0].Value), 0);
        Assert.Equal(1, opt.Iterations);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    [InlineData("adamw")]
    [InlineData("adagrad")]
    [InlineData("rmsprop")]
    [InlineData("nadam")]
    public void GradientAccumulation_WithWeightDecay_EqualsMeanGradientSteps(string id)
    {
        // optimizer_test.py test_gradient_accumulation_with_weigth_decay: 8 rounds of 3 accumulated gradients equal
        // 8 plain steps with their mean (weight_decay 0.05).
        Optimizer Make(int? steps) => id switch
        {
            "adam" => new Adam(weightDecay: 0.05, gradientAccumulationSteps: steps),
            "sgd" => new SGD(weightDecay: 0.05, gradientAccumulationSteps: steps),
            "adamw" => new AdamW(weightDecay: 0.05, gradientAccumulationSteps: steps),
            "adagrad" => new Adagrad(weightDecay: 0.05, gradientAccumulationSteps: steps),
            "rmsprop" => new RMSprop(weightDecay: 0.05, gradientAccumulationSteps: steps),
            _ => new Nadam(weightDecay: 0.05, gradientAccumulationSteps: steps),
        };
        var opt1 = Make(null);
        var opt3 = Make(3);
        var v1 = Var([0.9, 0.5]);
        var v3 = Var([0.9, 0.5]);
        var rng = new Random(7);
        for (int epoch = 0; epoch < 8; epoch++)
        {
            var g = Enumerable.Range(0, 3).Select(_ => new[] { (double)(float)rng.NextDouble(), (double)(float)rng.NextDouble() }).ToArray();
            var mean = new[] { (g[0][0] + g[1][0] + g[2][0]) / 3, (g[0][1] + g[1][1] + g[2][1]) / 3 };
            Step(opt1, [v1], mean);
            foreach (var gb in g) Step(opt3, [v3], gb);
        }
        AssertClose(Values(v1), Values(v3), atol: 1e-6, rtol: 1e-6, what: id);
    }

    [Fact]
    public void AutoNaming()
    {
        // optimizer_test.py test_optimizer_auto_naming.
        KerasApi.ClearSession();
        Assert.Equal("adam", new Adam().Name);
        Assert.Equal("adam_1", new Adam().Name);
        Assert.Equal("sgd", new SGD().Name);
        Assert.Equal("sgd_1", new SGD().Name);
        Assert.Equal("adam_w", new AdamW().Name);
        Assert.Equal("adam_w_1", new AdamW().Name);
        Assert.Equal("my_adam", new Adam(name: "my_adam").Name);
        KerasApi.ClearSession();
    }

    [Fact]
    public void GetByIdentifier()
    {
        // optimizer_test.py test_get_method.
        Assert.IsType<SGD>(Optimizer.Get("sgd"));
        Assert.IsType<AdamW>(Optimizer.Get("adamw"));
        Assert.Throws<ArgumentException>(() => Optimizer.Get("typo"));
    }
}
