using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Custom classes (Keras' <c>register_keras_serializable</c> and <c>custom_objects</c>): an unknown class fails with
/// its name, where it is, and how to register it; registered factories and constructor-bound classes rebuild it.
/// </summary>
public class CustomObjectsTests : SavingTestBase
{
    /// <summary>The subclassed model of Keras' own fixture (keras/src/saving/saving_lib_test.py): `num` Dense(4, no bias) then Dense(2).</summary>
    private sealed class NestedDenseModel : Model
    {
        private readonly List<Dense> _blocks;
        private readonly Dense _out;

        public NestedDenseModel(int num)
        {
            _blocks = [.. Enumerable.Range(0, num).Select(i => TrackLayer(new Dense(4, useBias: false, name: $"d_{i}")))];
            _out = TrackLayer(new Dense(2));
        }

        protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
        {
            var x = inputs[0];
            foreach (var d in _blocks) x = d.Apply(x);
            return [_out.Apply(x)];
        }
    }

    /// <summary>A custom layer with a weight and an argument, created from its config through its constructor.</summary>
    public sealed class Scale : Layer
    {
        private Variable? _alpha;

        public Scale(double factor = 1.0, string? name = null) : base(name) => Factor = factor;

        public double Factor { get; }

        protected override void BuildCore(IReadOnlyList<Shape> inputShapes) =>
            _alpha = AddWeight("alpha", [inputShapes[0][-1]!.Value], initializer: "random_normal");

        protected override Tensor Call(Tensor inputs, CallContext context) => inputs.mul(_alpha!.Value).mul(Factor);

        public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => inputShapes;

        public override Dictionary<string, object?> GetConfig()
        {
            var c = base.GetConfig();
            c["factor"] = Factor;
            return c;
        }
    }

    private static string Fixture => TestDataPath("pre_pr22362_nested_container.keras");

    [Fact]
    public void KerasWrittenCustomModelNeedsARegistration()
    {
        var e = Assert.Throws<KerasFileException>(() => Model.Load(Fixture));
        MessageHas(e, Fixture, "config.json", "'NestedDenseModel'", "legacy_nested_container>NestedDenseModel", "nested_dense_model",
            "KerasObjects.RegisterLayer", "customObjects");
        Assert.Equal(Fixture, e.FilePath);
    }

    [Fact]
    public void KerasWrittenCustomModelLoadsWithAFactory()
    {
        var model = Model.Load(Fixture, new Dictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>
        {
            ["legacy_nested_container>NestedDenseModel"] = config => new NestedDenseModel((int)(long)config["num"]!),
        });
        Assert.Equal("nested_dense_model", model.Name);
        Assert.True(model.Built); // from its build_config {"input_shape": [2, 4]}
        Assert.False(model.Compiled); // compile_config is {}
        // Keras' test values for this fixture: kernels filled with 0.1, 0.2, 0.3, output kernel 0.5, bias 0.
        var y = PredictAll(model, torch.tensor(new float[] { 1, 2, 3, 4 }, [1, 4]))[0];
        double expected = 10 * 0.1 * 4 * 0.2 * 4 * 0.3 * 4 * 0.5;
        Assert.Equal(expected, y[0], 1e-4);
        Assert.Equal(expected, y[1], 1e-4);
    }

    [Fact]
    public void RegistryMatchesTheClassNameOfAPackageRegistration()
    {
        KerasObjects.RegisterLayer("legacy_nested_container>NestedDenseModel", config => new NestedDenseModel((int)(long)config["num"]!));
        try
        {
            Assert.True(Model.Load(Fixture).Built);
            // A config that only carries the class name (Keras <= 3.6 wrote custom functions that way) finds it too.
            var json = """{"module": null, "class_name": "NestedDenseModel", "config": {"name": "m", "num": 1}, "registered_name": null, "build_config": {"input_shape": [null, 4]}}""";
            var model = Model.FromJson(json);
            Assert.Equal(2, model.Layers.Count);
        }
        finally
        {
            KerasObjects.UnregisterLayer("legacy_nested_container>NestedDenseModel");
        }
    }

    [Fact]
    public void ConstructorBoundCustomLayerRoundTrips()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(4), new Scale(2.5, name: "scale"), new Dense(1)]);
        var path = PathOf("custom.keras");
        model.Save(path);
        var e = Assert.Throws<KerasFileException>(() => Model.Load(path));
        MessageHas(e, "'Scale'", "$.config.layers[2]", "'scale'", "RegisterLayer");

        KerasObjects.RegisterLayer<Scale>();
        try
        {
            var loaded = Model.Load(path);
            var scale = Assert.IsType<Scale>(loaded.GetLayer("scale"));
            Assert.Equal(2.5, scale.Factor);
            using var x = Input(2, 3);
            Assert.Equal(PredictAll(model, x)[0], PredictAll(loaded, x)[0]);
            Assert.Equal(model.ToJson(), loaded.ToJson());
        }
        finally
        {
            KerasObjects.UnregisterLayer("Scale");
        }
    }

    [Fact]
    public void CustomActivationsByNameAndAsKerasFunctionObjects()
    {
        const string name = "scaled_tanh_for_tests";
        var model = new Sequential([new InputLayer([3]), new Dense(2, activation: new ActivationFunction(name, t => t.tanh().mul(2)))]);
        var json = model.ToJson();
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json));
        MessageHas(e, name, "RegisterActivation");

        KerasObjects.RegisterActivation("demo>" + name, t => t.tanh().mul(2));
        try
        {
            var copy = Model.FromJson(json);
            copy.SetWeights(model.GetWeights());
            using var x = Input(2, 3);
            Assert.Equal(PredictAll(model, x)[0], PredictAll(copy, x)[0]);
            // Keras 3 writes a registered function as {"class_name": "function", "config": name, "registered_name": "package>name"}.
            var keras3 = json.Replace($"\"activation\": \"{name}\"",
                $"\"activation\": {{\"module\": \"builtins\", \"class_name\": \"function\", \"config\": \"{name}\", \"registered_name\": \"demo>{name}\"}}");
            Assert.NotEqual(json, keras3);
            var fromFunction = Model.FromJson(keras3);
            fromFunction.SetWeights(model.GetWeights());
            Assert.Equal(PredictAll(model, x)[0], PredictAll(fromFunction, x)[0]);
        }
        finally
        {
            KerasObjects.UnregisterActivation("demo>" + name);
        }
    }

    [Fact]
    public void LambdaLayersCannotBeDeserialized()
    {
        // A Keras 3 Lambda config holds Python bytecode (serialization_lib: "__lambda__").
        const string json = """
            {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
              {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "name": "in"}, "registered_name": null},
              {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"value": ["4wEAAA==", null, null]}}}, "registered_name": null}]},
             "registered_name": null}
            """;
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json));
        MessageHas(e, "Lambda", "Python code", "$.config.layers[1]", "RegisterLayer");
    }

    [Fact]
    public void UnknownLayerClassNamesItsLocationAndTheFix()
    {
        const string json = """
            {"class_name": "Model", "config": {"name": "m", "layers": [
              {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
              {"class_name": "AttentionPooling", "name": "pool", "config": {"name": "pool", "heads": 2}, "inbound_nodes": [[["in", 0, 0, {}]]]}],
              "input_layers": [["in", 0, 0]], "output_layers": [["pool", 0, 0]]}, "keras_version": "2.4.0"}
            """;
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json));
        MessageHas(e, "unknown layer class 'AttentionPooling'", "layer 'pool'", "$.config.layers[1]", "KerasObjects.RegisterLayer(\"AttentionPooling\"");
        // With a factory for this call only, the model builds and the factory sees the config's values.
        IReadOnlyDictionary<string, object?>? seen = null;
        var model = Model.FromJson(json, new Dictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>
        {
            ["AttentionPooling"] = config => { seen = config; return new Dense(2); },
        });
        Assert.Equal(2L, seen!["heads"]);
        Assert.Equal("pool", model.GetLayer(1).Name);
    }
}
