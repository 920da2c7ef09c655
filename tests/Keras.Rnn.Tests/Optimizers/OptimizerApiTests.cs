using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Optimizers.OptimizerTestUtil;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>Variables (naming, order, count), configs, identifiers, bad input, memory and device behaviour.</summary>
public class OptimizerApiTests
{
    private static (Variable Kernel, Variable Bias) Dense()
    {
        var kernel = new Variable("kernel", "dense/kernel", torch.ones(2, 3), true, null, null);
        var bias = new Variable("bias", "dense/bias", torch.zeros(3), true, null, null);
        return (kernel, bias);
    }

    private static void StepOnes(Optimizer opt, params Variable[] vars)
    {
        var grads = vars.Select(v => (Tensor?)torch.ones_like(v.Value)).ToArray();
        opt.ApplyGradients(grads, vars);
        foreach (var g in grads) g!.Dispose();
    }

    [Fact]
    public void Adam_VariablesFollowKerasNamingAndOrder()
    {
        // Keras: iteration, learning_rate, then add_optimizer_variables(var_list, ["momentum", "velocity"]) which
        // interleaves per weight, named f"{path.replace('/', '_')}_{name}" under the optimizer's name scope.
        var (k, b) = Dense();
        var opt = new Adam(name: "adam");
        Assert.Equal(["adam/iteration", "adam/learning_rate"], opt.Variables.Select(v => v.Path));
        Assert.Equal(2, opt.VariableCount);
        StepOnes(opt, k, b);
        Assert.Equal(
            ["adam/iteration", "adam/learning_rate", "adam/dense_kernel_momentum", "adam/dense_kernel_velocity",
             "adam/dense_bias_momentum", "adam/dense_bias_velocity"],
            opt.Variables.Select(v => v.Path));
        Assert.Equal(2 + 2 * 6 + 2 * 3, opt.VariableCount);
        Assert.Equal(ScalarType.Int64, opt.Variables[0].Value.dtype);
        Assert.Equal(ScalarType.Float32, opt.Variables[1].Value.dtype);
        Assert.Equal(new long[] { 2, 3 }, opt.Variables[2].Value.shape);
        Assert.False(opt.Variables[2].Value.requires_grad);
        Assert.Equal(1.0, Values(opt.Variables[0].Value)[0]);
        Assert.Equal((double)(float)0.001, Values(opt.Variables[1].Value)[0]);
    }

    [Fact]
    public void SlotOrder_EmaAccumulatorAmsgradRmspropNadam()
    {
        var (k, b) = Dense();
        var adam = new Adam(amsgrad: true, useEma: true, gradientAccumulationSteps: 2, name: "a");
        adam.Build([k, b]);
        Assert.Equal(
            ["a/iteration", "a/learning_rate", "a/dense_kernel_average", "a/dense_bias_average",
             "a/dense_kernel_gradient_accumulator", "a/dense_bias_gradient_accumulator",
             "a/dense_kernel_momentum", "a/dense_kernel_velocity", "a/dense_bias_momentum", "a/dense_bias_velocity",
             "a/dense_kernel_velocity_hat", "a/dense_bias_velocity_hat"],
            adam.Variables.Select(v => v.Path));

        var rms = new RMSprop(momentum: 0.5, centered: true, name: "r");
        rms.Build([k, b]);
        Assert.Equal(
            ["r/iteration", "r/learning_rate", "r/dense_kernel_velocity", "r/dense_bias_velocity", "r/dense_kernel_momentum",
             "r/dense_bias_momentum", "r/dense_kernel_average_gradient", "r/dense_bias_average_gradient"],
            rms.Variables.Select(v => v.Path));

        var sgd = new SGD(new ExponentialDecay(0.1, 10, 0.9), momentum: 0.9, name: "s");
        sgd.Build([k, b]);
        Assert.Equal(["s/iteration", "s/dense_kernel_momentum", "s/dense_bias_momentum"], sgd.Variables.Select(v => v.Path));
        Assert.Equal(1 + 6 + 3, sgd.VariableCount);

        var adagrad = new Adagrad(initialAccumulatorValue: 0.25, name: "g");
        adagrad.Build([k, b]);
        Assert.Equal(["g/iteration", "g/learning_rate", "g/dense_kernel_accumulator", "g/dense_bias_accumulator"], adagrad.Variables.Select(v => v.Path));
        Assert.All(Values(adagrad.Variables[2].Value), x => Assert.Equal(0.25, x));
    }

    [Fact]
    public void Nadam_KeepsTheMomentumScheduleProductAsALastVariable()
    {
        var (k, b) = Dense();
        var opt = new Nadam(beta1: 0.9, name: "n");
        StepOnes(opt, k, b);
        StepOnes(opt, k, b);
        var vars = opt.Variables;
        Assert.Equal(7, vars.Count);
        Assert.StartsWith("n/variable", vars[6].Path);
        Assert.Equal(ScalarType.Float32, vars[6].Value.dtype);
        double expected = 0.9 * (1 - 0.5 * 0.96) * 0.9 * (1 - 0.5 * 0.96 * 0.96);
        Assert.Equal((float)expected, (float)Values(vars[6].Value)[0]);
    }

    [Fact]
    public void Configs_UseKerasKeysAndValues()
    {
        var adam = new Adam(name: "adam_cfg").GetConfig();
        Assert.Equal(
            ["name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
             "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "beta_1", "beta_2", "epsilon", "amsgrad"],
            adam.Keys);
        Assert.Equal("adam_cfg", adam["name"]);
        Assert.Equal(0.0010000000474974513, adam["learning_rate"]); // a float32 variable in Keras
        Assert.Null(adam["weight_decay"]);
        Assert.Equal(0.99, adam["ema_momentum"]);
        Assert.Equal(1e-7, adam["epsilon"]);
        Assert.Equal(false, adam["amsgrad"]);

        Assert.Equal(0.004, new AdamW().GetConfig()["weight_decay"]);
        var sgd = new SGD(momentum: 0.06, nesterov: true, weightDecay: 0.004).GetConfig();
        Assert.Equal(0.009999999776482582, sgd["learning_rate"]);
        Assert.Equal(0.06, sgd["momentum"]);
        Assert.Equal(true, sgd["nesterov"]);
        var rms = new RMSprop(rho: 0.8, momentum: 0.05, epsilon: 1e-6, centered: true).GetConfig();
        Assert.Equal([0.8, 0.05, 1e-6, true], new[] { rms["rho"], rms["momentum"], rms["epsilon"], rms["centered"] });
        var ada = new Adagrad().GetConfig();
        Assert.Equal([0.1, 1e-7], new[] { ada["initial_accumulator_value"], ada["epsilon"] });
        var nadam = new Nadam().GetConfig();
        Assert.Equal([0.9, 0.999, 1e-7], new[] { nadam["beta_1"], nadam["beta_2"], nadam["epsilon"] });
        Assert.False(nadam.ContainsKey("amsgrad"));

        var scheduled = new Adam(new CosineDecay(0.1, 100)).GetConfig();
        var lr = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(scheduled["learning_rate"]);
        Assert.Equal("keras.optimizers.schedules", lr["module"]);
        Assert.Equal("CosineDecay", lr["class_name"]);
        Assert.Equal(100L, ((IReadOnlyDictionary<string, object?>)lr["config"]!)["decay_steps"]);
    }

    [Fact]
    public void Defaults_AreKeras()
    {
        var sgd = new SGD();
        Assert.Equal(0.01, sgd.LearningRate);
        Assert.Equal(0.0, sgd.Momentum);
        Assert.False(sgd.Nesterov);
        var adam = new Adam();
        Assert.Equal((0.001, 0.9, 0.999, 1e-7, false), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.Amsgrad));
        var adamw = new AdamW();
        Assert.Equal((0.001, 0.004), (adamw.LearningRate, adamw.WeightDecay!.Value));
        var rms = new RMSprop();
        Assert.Equal((0.001, 0.9, 0.0, 1e-7, false), (rms.LearningRate, rms.Rho, rms.Momentum, rms.Epsilon, rms.Centered));
        var ada = new Adagrad();
        Assert.Equal((0.001, 0.1, 1e-7), (ada.LearningRate, ada.InitialAccumulatorValue, ada.Epsilon));
        var nadam = new Nadam();
        Assert.Equal((0.001, 0.9, 0.999, 1e-7), (nadam.LearningRate, nadam.Beta1, nadam.Beta2, nadam.Epsilon));
        Assert.Equal((null, null, null, null, false, 0.99, null, null, null),
            ((double?)adam.WeightDecay, adam.Clipnorm, adam.Clipvalue, adam.GlobalClipnorm, adam.UseEma, adam.EmaMomentum,
             (int?)adam.EmaOverwriteFrequency, adam.LossScaleFactor, adam.GradientAccumulationSteps));
        Assert.Equal(1.0, new SGD(learningRate: 1).LearningRate);
    }

    [Theory]
    [InlineData("sgd", typeof(SGD))]
    [InlineData("SGD", typeof(SGD))]
    [InlineData("adam", typeof(Adam))]
    [InlineData("Adam", typeof(Adam))]
    [InlineData("adamw", typeof(AdamW))]
    [InlineData("AdamW", typeof(AdamW))]
    [InlineData("rmsprop", typeof(RMSprop))]
    [InlineData("RMSprop", typeof(RMSprop))]
    [InlineData("adagrad", typeof(Adagrad))]
    [InlineData("Nadam", typeof(Nadam))]
    public void Identifiers(string id, Type type)
    {
        Assert.IsType(type, Optimizer.Get(id));
        Optimizer converted = id;
        Assert.IsType(type, converted);
        Assert.NotSame(Optimizer.Get(id), Optimizer.Get(id));
        Assert.Equal(type.Name, converted.ClassName);
    }

    [Fact]
    public void BadInput_IsRejectedClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizer.Get("adamax2"));
        Assert.Contains("adamax2", e.Message);
        Assert.Contains("rmsprop", e.Message);

        var sched = new Adam(new ExponentialDecay(0.1, 10, 0.9));
        var inv = Assert.Throws<InvalidOperationException>(() => sched.LearningRate = 0.5);
        Assert.Contains("LearningRateSchedule", inv.Message);

        var clip = Assert.Throws<ArgumentException>(() => new SGD(1.0, clipnorm: 0.1, clipvalue: 0.1));
        Assert.Contains("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can", clip.Message);
        Assert.Throws<ArgumentException>(() => new Adam(clipnorm: 0.1, globalClipnorm: 0.1));
        Assert.Throws<ArgumentException>(() => new Adam(clipvalue: 0.1, globalClipnorm: 0.1));

        var wd = Assert.Throws<ArgumentNullException>(() => new AdamW(weightDecay: null));
        Assert.Contains("weight_decay", wd.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(momentum: -1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(momentum: 2.0));
        Assert.Throws<ArgumentException>(() => new Adam(gradientAccumulationSteps: 1));
        Assert.Throws<ArgumentException>(() => new Adam(useEma: true, emaMomentum: 1.5));
        Assert.Throws<ArgumentException>(() => new Adam(useEma: true, emaOverwriteFrequency: -1));
        Assert.Throws<ArgumentException>(() => new Adam(double.NaN));
        Assert.Throws<ArgumentException>(() => new SGD().LearningRate = double.PositiveInfinity);

        var (k, b) = Dense();
        var opt = new SGD();
        using var g = torch.ones(2, 3);
        Assert.Throws<ArgumentException>(() => opt.ApplyGradients([g], [k, b]));            // count mismatch
        Assert.Throws<ArgumentException>(() => opt.ApplyGradients([g], [b]));               // shape mismatch
        Assert.False(opt.Built);                                                            // nothing happened
        Assert.Throws<ArgumentException>(() => new SGD().Build([k, k]));                    // duplicate
        opt.ApplyGradients([g], [k]);
        var unknown = Assert.Throws<ArgumentException>(() => opt.ApplyGradients([null, g], [b, k]));
        Assert.Contains("Unknown variable", unknown.Message);
        Assert.Throws<ArgumentException>(() => opt.ExcludeFromWeightDecay(varNames: ["(unclosed"]));
        Assert.Throws<ArgumentException>(() => opt.SetVariableValues([torch.zeros(1)]));
    }

    [Fact]
    public void EmptyGradientList_IsANoOp()
    {
        var opt = new SGD();
        opt.ApplyGradients([], []);
        Assert.Equal(0, opt.Iterations);
        Assert.False(opt.Built);
    }

    [Fact]
    public void State_SurvivesTheStepsDisposeScope_AndUpdatesBuildNoGraph()
    {
        var w = new Variable("kernel", "dense/kernel", torch.tensor(new float[] { 1, -2, 3 }), true, null, null);
        var opt = new Adam(0.1);
        for (int step = 0; step < 3; step++)
        {
            using var scope = torch.NewDisposeScope();
            var loss = w.Value.square().sum();
            loss.backward();
            opt.ApplyGradients([w.Value.grad], [w]);
            w.Value.grad!.zero_();
        }
        // Slots were created inside a dispose scope and must still be alive and meaningful.
        var m = Values(opt.Variables[2].Value);
        Assert.Equal(3, m.Length);
        Assert.True(m[0] > 0 && m[1] < 0 && m[2] > 0);
        Assert.True(w.Value.requires_grad);
        Assert.True(w.Value.is_leaf);
        Assert.False(opt.Variables[3].Value.requires_grad);
        Assert.Equal(3, opt.Iterations);
    }

    [Fact]
    public void Float64Weights_GetFloat64Slots_AndGradientsAreCast()
    {
        var w = Var([1.0, 2.0], "w", ScalarType.Float64);
        var opt = new Adam(0.1);
        using var g = torch.tensor(new float[] { 0.5f, -0.5f });
        opt.ApplyGradients([g], [w]);
        Assert.Equal(ScalarType.Float64, opt.Variables[2].Value.dtype);
        Assert.Equal(ScalarType.Float64, w.Value.dtype);
    }

    [Fact]
    public void State_FollowsItsWeightToAnotherDevice()
    {
        // The meta device stands in for a GPU: it has shapes and dtypes but no data, and works on any machine.
        var w = Var([1.0, 2.0, 3.0]);
        var opt = new Adam(0.1, useEma: true, gradientAccumulationSteps: 2);
        Step(opt, [w], [1.0, 1.0, 1.0]);
        Assert.All(opt.Variables.Skip(2), v => Assert.Equal(DeviceType.CPU, v.Value.device_type));

        var meta = new Device(DeviceType.META);
        w.MoveTo(meta);
        using var g = torch.ones(3, device: meta);
        opt.ApplyGradients([g], [w]);
        Assert.All(opt.Variables.Skip(2), v => Assert.Equal(DeviceType.META, v.Value.device_type));
        Assert.Equal(DeviceType.CPU, opt.Variables[0].Value.device_type);


        // MoveStateTo moves everything, the host-mirrored scalars included.
        var w2 = Var([1.0, 2.0, 3.0]);
        var opt2 = new Nadam(0.1);
        Step(opt2, [w2], [1.0, 1.0, 1.0]);
        opt2.MoveStateTo(meta);
        Assert.All(opt2.Variables, v => Assert.Equal(DeviceType.META, v.Value.device_type));
        w2.MoveTo(meta);
        opt2.ApplyGradients([g], [w2]);
        Assert.All(opt2.Variables, v => Assert.Equal(DeviceType.META, v.Value.device_type));
        Assert.Equal(2, opt2.Iterations);
    }

    [Fact]
    public void MoveStateTo_KeepsValues()
    {
        var w = Var([1.0, 2.0]);
        var opt = new RMSprop(0.1, momentum: 0.5);
        Step(opt, [w], [0.3, -0.3]);
        var before = opt.Variables.Select(v => Values(v.Value)).ToList();
        opt.MoveStateTo(torch.CPU);
        var after = opt.Variables.Select(v => Values(v.Value)).ToList();
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void FinalizeVariableValues_RequiresMatchingCount()
    {
        var (k, b) = Dense();
        var opt = new SGD(useEma: true);
        StepOnes(opt, k, b);
        Assert.Throws<ArgumentException>(() => opt.FinalizeVariableValues([k]));
        opt.FinalizeVariableValues();
        new SGD().FinalizeVariableValues([k]); // no EMA: nothing to do
    }
}
