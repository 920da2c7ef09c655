using Keras.Rnn.Activations;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Architectures written by Keras 1.2.2 and Keras 2.0.6–2.2.4 (verbatim copies in TestData/keras2-configs, see its
/// README): list-style Sequential configs, Keras 2's functional <c>Model</c>, <c>batch_input_shape</c>, Keras 1's
/// argument names, GRU with <c>reset_after=false</c>, Bidirectional, and <c>hard_sigmoid</c> in Keras 2's form. The
/// expected weight shapes are the dataset shapes Keras stored in the same files (listed in the data folder's notes).
/// </summary>
public class KerasWrittenConfigTests
{
    private static string Config(string name) => File.ReadAllText(TestDataPath("keras2-configs/" + name));

    [Fact]
    public void Keras206SequentialLstmWithHardSigmoidAndImplementationZero()
    {
        var model = FromKerasConfig(Config("simple_lstm_tf_keras_2_model.model_config.json"), "2.0.6");
        Assert.IsType<Sequential>(model);
        Assert.Equal(["lstm_1", "dense_1"], model.Layers.Select(l => l.Name));
        var lstm = Assert.IsType<LSTM>(model.Layers[0]);
        Assert.Equal(50, lstm.Units);
        Assert.Same(ActivationFunction.Tanh, lstm.Cell.Activation);
        // Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1): written by Keras 2.0.6, it keeps Keras 2's meaning.
        Assert.Same(ActivationFunction.HardSigmoidKeras2, lstm.Cell.RecurrentActivation);
        Assert.Equal(0.2, lstm.Cell.DropoutRate);
        Assert.Equal(1, lstm.Cell.Implementation); // Keras 2's implementation 0: same math, one dropout mask per gate
        Assert.True(lstm.Cell.UnitForgetBias);
        Assert.IsType<VarianceScaling>(lstm.Cell.KernelInitializer);
        Assert.Equal("fan_avg", ((VarianceScaling)lstm.Cell.KernelInitializer).Mode);
        Assert.Equal("uniform", ((VarianceScaling)lstm.Cell.KernelInitializer).Distribution);
        // batch_input_shape [25, 1, 1] on the first layer: a fixed batch of 25.
        Assert.Equal(new Shape(25, 1, 1), model.Inputs[0].Shape);
        Assert.Equal(new Shape(25, 1), model.Outputs[0].Shape);
        // Keras' stored weights: lstm_1 kernel (1, 200), recurrent_kernel (50, 200), bias (200,); dense_1 (50, 1), (1,).
        Assert.Equal(["(1, 200)", "(50, 200)", "(200,)"], WeightShapes(lstm));
        Assert.Equal(["(50, 1)", "(1,)"], WeightShapes(model.Layers[1]));
    }

    [Fact]
    public void HardSigmoidFollowsTheProducingKerasVersion()
    {
        var json = Config("simple_lstm_tf_keras_2_model.model_config.json");
        var keras2 = ((LSTM)FromKerasConfig(json, "2.0.6").Layers[0]).Cell.RecurrentActivation;
        var keras3 = ((LSTM)FromKerasConfig(json, "3.15.0").Layers[0]).Cell.RecurrentActivation;
        Assert.True(keras2.IsKeras2HardSigmoid);
        Assert.False(keras3.IsKeras2HardSigmoid);
        // Keras 2: clip(0.2x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6 (keras/src/activations/activations.py).
        using var x = torch.tensor(new float[] { -3f, -1f, 0f, 1f, 2f, 3f });
        Assert.Equal(new[] { 0f, 0.3f, 0.5f, 0.7f, 0.9f, 1f }, keras2.Call(x).data<float>().ToArray(), new FloatComparer(1e-6f));
        Assert.Equal(new[] { 0f, 2f / 6, 0.5f, 4f / 6, 5f / 6, 1f }, keras3.Call(x).data<float>().ToArray(), new FloatComparer(1e-6f));
    }

    [Fact]
    public void Keras213ListStyleSequentialSimpleRnn()
    {
        var model = FromKerasConfig(Config("simple_rnn_tf_keras_2_model.model_config.json"), "2.1.3");
        var rnn = Assert.IsType<SimpleRNN>(model.Layers[0]);
        Assert.Equal("simple_rnn_1", rnn.Name);
        Assert.Equal(50, rnn.Units);
        Assert.Equal(0.2, rnn.Cell.DropoutRate);
        Assert.Equal(new Shape(25, 1, 1), model.Inputs[0].Shape);
        Assert.Equal(["(1, 50)", "(50, 50)", "(50,)"], WeightShapes(rnn));
        Assert.Same(ActivationFunction.Linear, Assert.IsType<Dense>(model.Layers[1]).Activation);
    }

    [Fact]
    public void Keras208FunctionalModelClass()
    {
        var model = FromKerasConfig(Config("lstm_functional_tf_keras_2.model_config.json"), "2.0.8");
        Assert.IsNotType<Sequential>(model);
        Assert.Equal("Keras_LSTM", model.Name);
        Assert.Equal(["inputLayer_1", "lstm", "outputLayer_a"], model.Layers.Select(l => l.Name));
        Assert.Equal(["inputLayer_1"], model.InputNames);
        Assert.Equal(["outputLayer_a"], model.OutputNames);
        Assert.Equal(new Shape(null, 10, 4), model.Inputs[0].Shape);
        Assert.Equal(new Shape(null, 5), model.Outputs[0].Shape);
        var lstm = Assert.IsType<LSTM>(model.Layers[1]);
        Assert.True(lstm.Cell.RecurrentActivation.IsKeras2HardSigmoid);
        Assert.Equal(["(4, 32)", "(8, 32)", "(32,)"], WeightShapes(lstm));
        Assert.Same(ActivationFunction.Softmax, ((Dense)model.Layers[2]).Activation);
        Assert.Equal(["(8, 5)", "(5,)"], WeightShapes(model.Layers[2]));
        // The rebuilt model runs.
        Assert.Equal(2 * 5, PredictAll(model, Input(2, 10, 4))[0].Length);
    }

    [Fact]
    public void Keras220MaskingThenLstm()
    {
        var model = FromKerasConfig(Config("masking_zero_lstm.model_config.json"), "2.2.0");
        var masking = Assert.IsType<Masking>(model.Layers[0]);
        Assert.Equal(0.0, masking.MaskValue);
        Assert.Equal(new Shape(null, 10, 42), model.Inputs[0].Shape);
        var lstm = Assert.IsType<LSTM>(model.Layers[1]);
        Assert.Equal(1, lstm.Cell.Implementation);
        Assert.Equal(["(42, 128)", "(32, 128)", "(128,)"], WeightShapes(lstm));
    }

    [Fact]
    public void Keras224StackedLstmWithDropout()
    {
        var model = FromKerasConfig(Config("lstm.model_config.json"), "2.2.4");
        Assert.Equal("sequential_2", model.Name);
        Assert.Equal(["lstm_3", "dropout_3", "lstm_4", "dropout_4", "dense_2"], model.Layers.Select(l => l.Name));
        Assert.Equal(0.3, Assert.IsType<Dropout>(model.Layers[1]).Rate);
        Assert.True(((LSTM)model.Layers[0]).ReturnSequences);
        Assert.Equal(["(1, 256)", "(64, 256)", "(256,)"], WeightShapes(model.Layers[0]));
        Assert.Equal(["(64, 256)", "(64, 256)", "(256,)"], WeightShapes(model.Layers[2]));
        Assert.Equal(["(64, 2)", "(2,)"], WeightShapes(model.Layers[4]));
        Assert.Equal(new Shape(null, 905, 1), model.Inputs[0].Shape);
    }

    [Fact]
    public void Keras224GruWithResetAfterFalse()
    {
        var model = FromKerasConfig(Config("gru.model_config.json"), "2.2.4");
        var gru = Assert.IsType<GRU>(model.Layers[0]);
        Assert.False(gru.Cell.ResetAfter);
        Assert.True(gru.Cell.RecurrentActivation.IsKeras2HardSigmoid);
        // Keras 2.2's GRU flavour: one bias of 3 × units.
        Assert.Equal(["(1, 192)", "(64, 192)", "(192,)"], WeightShapes(gru));
        Assert.Equal(["(64, 192)", "(64, 192)", "(192,)"], WeightShapes(model.Layers[2]));
    }

    [Fact]
    public void Keras224BidirectionalKeepsKerasSublayerNames()
    {
        var model = FromKerasConfig(Config("bilstm.model_config.json"), "2.2.4");
        var bi = Assert.IsType<Bidirectional>(model.Layers[0]);
        Assert.Equal("bidirectional_5", bi.Name);
        Assert.Equal("concat", bi.MergeMode);
        // Keras 2 names the copies forward_<layer> and backward_<layer> (the weight names in bilstm.h5).
        Assert.Equal("forward_lstm_9", bi.Forward.Name);
        Assert.Equal("backward_lstm_9", bi.Backward.Name);
        Assert.True(bi.Backward.GoBackwards);
        Assert.False(bi.Forward.GoBackwards);
        var cell = ((LSTM)bi.Forward).Cell;
        Assert.Equal(0.2, cell.DropoutRate);
        Assert.Equal(0.3, cell.RecurrentDropoutRate);
        Assert.Equal(["(1, 160)", "(40, 160)", "(160,)", "(1, 160)", "(40, 160)", "(160,)"], WeightShapes(bi));
        Assert.Equal(["(80, 160)", "(40, 160)", "(160,)", "(80, 160)", "(40, 160)", "(160,)"], WeightShapes(model.Layers[1]));
        Assert.Equal(new Shape(null, 905, 80), model.Layers[0].InboundNodes[0].Outputs[0].Shape);
        Assert.Equal(["(80, 2)", "(2,)"], WeightShapes(model.Layers[2]));
    }

    [Fact]
    public void Keras122ArgumentNamesAreTranslated()
    {
        var model = FromKerasConfig(Config("simple_lstm_th_keras_1_model.model_config.json"), "1.2.2");
        var lstm = Assert.IsType<LSTM>(model.Layers[0]);
        Assert.Equal(50, lstm.Units);                                           // output_dim
        Assert.True(lstm.Cell.RecurrentActivation.IsKeras2HardSigmoid);          // inner_activation, Keras 1's hard_sigmoid
        Assert.IsType<GlorotUniform>(lstm.Cell.KernelInitializer);               // init
        Assert.IsType<Orthogonal>(lstm.Cell.RecurrentInitializer);               // inner_init
        Assert.Equal(0.2, lstm.Cell.DropoutRate);                                // dropout_W
        Assert.Equal(0.0, lstm.Cell.RecurrentDropoutRate);                       // dropout_U
        Assert.True(lstm.Cell.UnitForgetBias);                                   // forget_bias_init "one"
        Assert.Equal(1, lstm.Cell.Implementation);                               // consume_less "cpu" = implementation 0
        Assert.Equal(new Shape(null, 1, 1), model.Inputs[0].Shape);
        var dense = Assert.IsType<Dense>(model.Layers[1]);
        Assert.Equal(1, dense.Units);                                            // output_dim
        Assert.True(dense.UseBias);                                              // bias
        Assert.Equal(["(50, 1)", "(1,)"], WeightShapes(dense));
    }

    [Fact]
    public void Keras2ToJsonOutputCarriesItsVersion()
    {
        // model.to_json() of Keras 2.0.8: {"class_name", "config", "keras_version", "backend"}; the public API reads the version.
        var model = Model.FromJson(Config("lstm_th_keras_2_config.json"));
        Assert.Equal(["lstm_1", "lstm_2", "dense_1"], model.Layers.Select(l => l.Name));
        Assert.True(((LSTM)model.Layers[0]).Cell.RecurrentActivation.IsKeras2HardSigmoid);
        Assert.True(((LSTM)model.Layers[0]).ReturnSequences);
        Assert.Equal(new Shape(null, 4, 12), model.Inputs[0].Shape);
        Assert.Same(ActivationFunction.Sigmoid, ((Dense)model.Layers[2]).Activation);
        // The weights file of this architecture holds lstm_1 (12, 384), (96, 384), (384,), lstm_2 (96, 384)...
        Assert.Equal(["(12, 384)", "(96, 384)", "(384,)"], WeightShapes(model.Layers[0]));
        Assert.Equal(["(96, 384)", "(96, 384)", "(384,)"], WeightShapes(model.Layers[1]));
        Assert.Equal(["(96, 1)", "(1,)"], WeightShapes(model.Layers[2]));
    }

    [Fact]
    public void KerasLoopConfigIsRejected()
    {
        // keras/src/models/functional_test.py, test_invalid_config_deserialization_loop: Keras raises "...has loops...".
        const string json = """
            {"class_name": "Functional", "config": {"name": "infinite_loop_model", "layers": [
              {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [null, 10], "dtype": "float32", "name": "input_1"}, "inbound_nodes": []},
              {"class_name": "Dense", "name": "node_a", "config": {"units": 10, "name": "node_a"}, "inbound_nodes": [[["node_b", 0, 0, {}]]]},
              {"class_name": "Dense", "name": "node_b", "config": {"units": 10, "name": "node_b"}, "inbound_nodes": [[["node_a", 0, 0, {}]]]}],
              "input_layers": [["input_1", 0, 0]], "output_layers": [["node_b", 0, 0]]}}
            """;
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json));
        MessageHas(e, "loops", "node_a", "infinite_loop_model");
    }

    [Fact]
    public void KerasMissingNodeConfigIsRejected()
    {
        // keras/src/models/functional_test.py, test_invalid_config_deserialization_missing_node: "Missing node: node_b".
        const string json = """
            {"class_name": "Functional", "config": {"name": "infinite_loop_model", "layers": [
              {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [null, 10], "dtype": "float32", "name": "input_1"}, "inbound_nodes": []},
              {"class_name": "Dense", "name": "node_a", "config": {"units": 10, "name": "node_a"}, "inbound_nodes": [[["node_b", 0, 0, {}]]]}],
              "input_layers": [["input_1", 0, 0]], "output_layers": [["node_a", 0, 0]]}}
            """;
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json));
        MessageHas(e, "node_b", "not among its layers", "inbound_nodes[0]");
    }

    private sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
