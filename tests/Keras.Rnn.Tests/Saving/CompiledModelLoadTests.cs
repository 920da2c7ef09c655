using System.IO.Compression;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Metrics;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using Keras.Rnn.Training;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// A compiled model saved as <c>.keras</c> comes back compiled (Keras' <c>compile_from_config</c>): same optimizer
/// class and hyper-parameters with its saved state (iterations, slots), same loss and metrics — so training resumes
/// exactly where it stopped.
/// </summary>
public class CompiledModelLoadTests : SavingTestBase
{
    private static Tensor X() => Input(8, 4, 3);

    private static Tensor Y()
    {
        using var x = X();
        return x.sum(1).narrow(1, 0, 2).tanh().detach();
    }

    private static Sequential BuildLstm(Optimizer optimizer)
    {
        KerasApi.SetRandomSeed(11);
        var model = new Sequential([new InputLayer([4, 3]), new LSTM(5, returnSequences: true), new GRU(3), new Dense(2)], name: "resumable");
        model.Compile(optimizer: optimizer, loss: "mse", metrics: ["mae"]);
        return model;
    }

    [Fact]
    public void TrainingResumesExactlyAfterSaveAndLoad()
    {
        using var x = X();
        using var y = Y();
        // Uninterrupted: three epochs.
        var straight = BuildLstm(new Adam(learningRate: 0.02, beta1: 0.8, amsgrad: true));
        var all = straight.Fit(x, y, batchSize: 4, epochs: 3, verbose: 0, shuffle: false);

        // Interrupted: two epochs, save, load in a "new process" (nothing shared but the file), one more epoch.
        var first = BuildLstm(new Adam(learningRate: 0.02, beta1: 0.8, amsgrad: true));
        var before = first.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0, shuffle: false);
        Assert.Equal(all["loss"].Take(2), before["loss"]);
        var path = PathOf("resumable.keras");
        first.Save(path);

        var loaded = Model.Load(path);
        Assert.True(loaded.Compiled);
        var adam = Assert.IsType<Adam>(loaded.Optimizer);
        Assert.Equal(0.8, adam.Beta1);
        Assert.True(adam.Amsgrad);
        Assert.Equal((float)0.02, (float)adam.LearningRate);
        Assert.Equal(4, adam.Iterations); // 2 epochs × 2 batches
        var after = loaded.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        Assert.Equal(all["loss"][2], after["loss"][0]);
        Assert.Equal(all["mae"][2], after["mae"][0]);
        Assert.Equal(straight.GetWeights().Length, loaded.GetWeights().Length);
        for (int i = 0; i < straight.GetWeights().Length; i++) Assert.Equal(straight.GetWeights()[i], loaded.GetWeights()[i]);
    }

    [Fact]
    public void OptimizerHyperParametersScheduleLossAndMetricsComeBack()
    {
        KerasApi.SetRandomSeed(3);
        var model = new Sequential([new InputLayer([4, 3]), new SimpleRNN(3), new Dense(1, activation: "sigmoid")]);
        var schedule = new ExponentialDecay(0.05, decaySteps: 3, decayRate: 0.5, staircase: true);
        model.Compile(optimizer: new SGD(learningRate: schedule, momentum: 0.7, nesterov: true, clipnorm: 2.0),
            loss: new Keras.Rnn.Losses.BinaryCrossentropy(labelSmoothing: 0.1), metrics: ["accuracy", new AUC(numThresholds: 50), "mse"],
            lossWeights: [0.5]);
        using var x = X();
        using var y = torch.tensor(new float[] { 1, 0, 1, 1, 0, 0, 1, 0 }, [8, 1]);
        model.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        var path = PathOf("sgd.keras");
        model.Save(path);

        // Keras keeps "accuracy" as a string in the compile config (resolved again from the shapes).
        using (var zip = ZipFile.OpenRead(path))
        using (var s = zip.GetEntry("config.json")!.Open())
        {
            var compile = JsonNode.Parse(s)!["compile_config"]!;
            Assert.Equal("accuracy", (string?)compile["metrics"]![0]);
            Assert.Equal("SGD", (string?)compile["optimizer"]!["class_name"]);
        }

        var loaded = Model.Load(path);
        var sgd = Assert.IsType<SGD>(loaded.Optimizer);
        Assert.Equal(0.7, sgd.Momentum);
        Assert.True(sgd.Nesterov);
        Assert.Equal(2.0, sgd.Clipnorm);
        var decay = Assert.IsType<ExponentialDecay>(sgd.LearningRateSchedule);
        Assert.Equal((0.05, 3L, 0.5, true), (decay.InitialLearningRate, decay.DecaySteps, decay.DecayRate, decay.Staircase));
        Assert.Equal(2, sgd.Iterations);

        // Same loss and metrics: evaluating both models gives the same numbers under the same names.
        var expected = model.Evaluate(x, y, batchSize: 8, verbose: 0);
        var actual = loaded.Evaluate(x, y, batchSize: 8, verbose: 0);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (k, v) in expected) Assert.Equal(v, actual[k], 1e-6);
        Assert.Contains("accuracy", actual.Keys);
        Assert.Contains(actual.Keys, k => k.StartsWith("auc", StringComparison.Ordinal));

        // And the next training step matches too (momentum slots and the schedule's step restored).
        var a = model.TrainOnBatch(x, y)["loss"];
        var b = loaded.TrainOnBatch(x, y)["loss"];
        Assert.Equal(a, b, 1e-6);
    }

    [Fact]
    public void MultiOutputCompileConfigWithPerOutputLosses()
    {
        KerasApi.SetRandomSeed(4);
        var input = KerasApi.Input([4, 3], name: "in");
        var h = new LSTM(3, name: "shared").Apply(input);
        var first = new Dense(2, name: "first").Apply(h);
        var second = new Dense(1, name: "second").Apply(h);
        var model = new Model(input, [first, second], name: "two_heads");
        model.Compile(new RMSprop(learningRate: 0.01, rho: 0.8), [new Keras.Rnn.Losses.MeanSquaredError(), new Keras.Rnn.Losses.MeanAbsoluteError()],
            [["mae"], ["mse"]], lossWeights: [1.0, 0.25]);
        using var x = X();
        using var y1 = torch.ones(8, 2);
        using var y2 = torch.zeros(8, 1);
        model.Fit(x, ArrayLike.Of(y1, y2), batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        var path = PathOf("heads.keras");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(0.8, Assert.IsType<RMSprop>(loaded.Optimizer).Rho);
        var expected = model.Evaluate(x, ArrayLike.Of(y1, y2), batchSize: 8, verbose: 0);
        var actual = loaded.Evaluate(x, ArrayLike.Of(y1, y2), batchSize: 8, verbose: 0);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (k, v) in expected) Assert.Equal(v, actual[k], 1e-6);
    }

    [Fact]
    public void CompileCanBeSkippedAndUncompiledModelsStayUncompiled()
    {
        var model = BuildLstm(new Adam());
        var path = PathOf("compiled.keras");
        model.Save(path);
        Assert.False(Model.Load(path, compile: false).Compiled);
        var plain = new Sequential([new InputLayer([2]), new Dense(1)]);
        plain.Save(PathOf("plain.keras"));
        Assert.False(Model.Load(PathOf("plain.keras")).Compiled);
        // Keras' model_from_json compiles when the JSON carries a compile_config; so does FromJson.
        Assert.True(Model.FromJson(model.ToJson()).Compiled);
        Assert.False(Model.FromJson(model.ToJson(), compile: false).Compiled);
    }

    [Fact]
    public void KerasWrittenCompileConfigShapes()
    {
        // compile_config as Keras 3 writes it for model.compile(optimizer="adam", loss="mse", metrics=["mae"]):
        // the optimizer serialized, loss and metrics as the strings given (keras/src/trainers/trainer.py, compile).
        const string json = """
            {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "trainable": true,
              "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
              "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer", "optional": false}, "registered_name": null},
                         {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null, "quantization_config": null}, "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
              "build_input_shape": [null, 3]}, "registered_name": null, "build_config": {"input_shape": [null, 3]},
             "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}, "registered_name": null},
               "loss": "mse", "loss_weights": null, "metrics": ["mae"], "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false}}
            """;
        var model = Model.FromJson(json);
        Assert.True(model.Compiled);
        Assert.IsType<Adam>(model.Optimizer);
        using var x = torch.ones(2, 3);
        using var y = torch.zeros(2, 2);
        var logs = model.Evaluate(x, y, verbose: 0);
        Assert.Equal(["loss", "mae"], logs.Keys.Order());

        // A training configuration we cannot rebuild fails with a way out; the architecture alone still loads.
        var unknownMetric = json.Replace("\"metrics\": [\"mae\"]", "\"metrics\": [\"r2_mystery\"]");
        Assert.NotEqual(json, unknownMetric);
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(unknownMetric));
        MessageHas(e, "$.compile_config.metrics[0]", "r2_mystery", "compile: false");
        Assert.False(Model.FromJson(unknownMetric, compile: false).Compiled);
    }

    [Fact]
    public void KerasMixedFloat16CompileConfigWithLossScaleOptimizer()
    {
        // A mixed_float16 model as Keras 3 writes it after compile(optimizer="adam", loss="mse"): the layers carry the
        // mixed policy and compile wrapped the optimizer in a LossScaleOptimizer (trainer.py compile; the wrapper's
        // get_config is name, inner_optimizer, initial_scale and dynamic_growth_steps — loss_scale_optimizer.py).
        const string json = """
            {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "trainable": true,
              "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}, "registered_name": null},
              "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer", "optional": false}, "registered_name": null},
                         {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}, "registered_name": null}, "units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null, "quantization_config": null}, "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
              "build_input_shape": [null, 3]}, "registered_name": null, "build_config": {"input_shape": [null, 3]},
             "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "LossScaleOptimizer", "config": {"name": "loss_scale_optimizer",
                 "inner_optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.0020000000949949026, "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}, "registered_name": null},
                 "initial_scale": 32768.0, "dynamic_growth_steps": 2000}, "registered_name": null},
               "loss": "mse", "loss_weights": null, "metrics": null, "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false, "auto_scale_loss": true}}
            """;
        var model = Model.FromJson(json);
        Assert.True(model.Compiled);
        var adam = Assert.IsType<Adam>(model.Optimizer);
        Assert.Equal((float)0.002, (float)adam.LearningRate);
        Assert.Equal("mixed_float16", model.Layers.OfType<Dense>().Single().DTypePolicy.Name);
        Assert.Equal(32768.0, model.LossScale);   // the global policy here is float32: the saved wrapper alone turns scaling on
        using var x = torch.ones(4, 3);
        model.TrainOnBatch(x, torch.full(4, 2, 1e4f));  // overflowing float16 gradients: skipped, scale halved
        Assert.Equal(16384.0, model.LossScale);
        Assert.Equal(0, adam.Iterations);
        // Without the wrapper and with auto_scale_loss=false, nothing scales.
        var unwrapped = JsonNode.Parse(json)!;
        var compileConfig = unwrapped["compile_config"]!;
        compileConfig["optimizer"] = JsonNode.Parse(
            """{"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.001}, "registered_name": null}""");
        compileConfig["auto_scale_loss"] = false;
        Assert.Null(Model.FromJson(unwrapped.ToJsonString()).LossScale);
    }

    /// <summary>
    /// A mixed_float16 model saves as Keras saves one: the compile config's optimizer is a LossScaleOptimizer around
    /// the user's, and the optimizer state starts with the wrapper's four variables (iteration, learning_rate,
    /// step_counter, dynamic_scale); loaded, it resumes with the same loss scale and trains on exactly as if never
    /// saved.
    /// </summary>
    [Fact]
    public void MixedFloat16ModelSavesAndResumesItsLossScale()
    {
        using var x = X();
        using var y = Y();
        Sequential Build()
        {
            KerasApi.SetRandomSeed(5);
            Keras.Rnn.DTypePolicies.MixedPrecision.SetGlobalPolicy("mixed_float16");
            try
            {
                var m = new Sequential([new InputLayer([4, 3]), new LSTM(5), new Dense(2)], name: "mixed");
                m.Compile(optimizer: new Adam(learningRate: 0.01), loss: "mse");
                return m;
            }
            finally
            {
                Keras.Rnn.DTypePolicies.MixedPrecision.SetGlobalPolicy("float32");
            }
        }
        void Steps(Model m)
        {
            m.TrainOnBatch(x, y.add(1e4));  // overflows in float16: skipped, scale halved
            m.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        }
        var straight = Build();
        Steps(straight);
        straight.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);

        var first = Build();
        Steps(first);
        Assert.Equal(16384.0, first.LossScale);
        var path = PathOf("mixed.keras");
        first.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        using (var s = zip.GetEntry("config.json")!.Open())
        {
            var optimizer = JsonNode.Parse(s)!["compile_config"]!["optimizer"]!;
            Assert.Equal("LossScaleOptimizer", (string?)optimizer["class_name"]);
            Assert.Equal("Adam", (string?)optimizer["config"]!["inner_optimizer"]!["class_name"]);
            Assert.Equal(32768.0, (double)optimizer["config"]!["initial_scale"]!);
        }

        var loaded = Model.Load(path);
        Assert.Equal(16384.0, loaded.LossScale);
        Assert.Equal(first.Optimizer!.Iterations, loaded.Optimizer!.Iterations);
        loaded.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        for (int i = 0; i < straight.Weights.Count; i++)
            Assert.True(straight.Weights[i].Value.allclose(loaded.Weights[i].Value, 0, 0), $"weight {straight.Weights[i].Path} differs after resuming");
    }

    [Fact]
    public void SavingAnUntrainedCompiledModelLeavesItsOptimizerUnbuilt()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(2)]);
        model.Compile(optimizer: "adam", loss: "mse");
        model.Save(PathOf("untrained.keras"));
        Assert.False(model.Optimizer!.Built);
    }
}
