using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Keras 2 graph forms, hand-written after the formats of tf.keras 2.x (<c>Node.serialize</c>: kwargs repeated on
/// each input, tensors in kwargs as <c>[layer, node, tensor]</c>; nested functional models counting their own graph as
/// node 0) and of Keras 2.0–2.2 (an RNN's initial states passed as extra inputs). Each rebuilt graph is compared with
/// the same graph built in C#.
/// </summary>
public class LegacyConfigFormsTests
{
    private const string LstmConfig = """
        "trainable": true, "dtype": "float32", "return_state": RS, "go_backwards": false, "stateful": false, "unroll": false,
        "time_major": false, "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": true,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
        "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": null}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "unit_forget_bias": true, "kernel_regularizer": null,
        "recurrent_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
        "recurrent_constraint": null, "bias_constraint": null, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2
        """;

    private static string Lstm(string name, bool returnState, bool returnSequences, string inbound) =>
        $$$"""{"class_name": "LSTM", "config": {"name": "{{{name}}}", {{{LstmConfig.Replace("RS", returnState ? "true" : "false")}}}, "return_sequences": {{{(returnSequences ? "true" : "false")}}}}, "name": "{{{name}}}", "inbound_nodes": {{{inbound}}}}""";

    private static string Input(string name) =>
        $$"""{"class_name": "InputLayer", "config": {"batch_input_shape": [null, null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "{{name}}"}, "name": "{{name}}", "inbound_nodes": []}""";

    private const string EncoderInbound = """[[["enc_in", 0, 0, {}]]]""";
    private const string InnerInbound = """[[["inner_in", 0, 0, {}]]]""";
    private const string TopInbound = """[[["inner", 1, 0, {}]]]""";

    private static string EncoderDecoder(string decoderInbound, string version) => $$$"""
        {"class_name": "Functional", "config": {"name": "s2s", "layers": [
          {{{Input("enc_in")}}}, {{{Input("dec_in")}}},
          {{{Lstm("encoder", true, false, EncoderInbound)}}},
          {{{Lstm("decoder", false, true, decoderInbound)}}},
          {"class_name": "Dense", "config": {"name": "head", "trainable": true, "dtype": "float32", "units": 2, "activation": "linear", "use_bias": true,
             "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}},
             "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
           "name": "head", "inbound_nodes": [[["decoder", 0, 0, {}]]]}],
         "input_layers": [["enc_in", 0, 0], ["dec_in", 0, 0]], "output_layers": [["head", 0, 0]]},
         "keras_version": "{{{version}}}", "backend": "tensorflow"}
        """;

    private static Model ReferenceEncoderDecoder()
    {
        var encIn = KerasApi.Input([null, 3], name: "enc_in");
        var decIn = KerasApi.Input([null, 3], name: "dec_in");
        var (_, h, c) = new LSTM(4, returnState: true, name: "encoder").Apply(encIn);
        var seq = new LSTM(4, returnSequences: true, name: "decoder").Apply(decIn, initialState: [h, c]);
        return new Model([encIn, decIn], new Dense(2, name: "head").Apply(seq));
    }

    private static void AssertSameFunction(Model loaded, Model reference, params TorchSharp.torch.Tensor[] inputs)
    {
        reference.SetWeights(loaded.GetWeights());
        var a = PredictAll(loaded, inputs);
        var b = PredictAll(reference, inputs);
        Assert.Equal(b.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i]);
    }

    [Fact]
    public void TfKerasInitialStateInKwargs()
    {
        var json = EncoderDecoder("""[[["dec_in", 0, 0, {"initial_state": [["encoder", 0, 1], ["encoder", 0, 2]]}]]]""", "2.4.0");
        var model = Model.FromJson(json);
        Assert.Equal(2, model.GetLayer("decoder").InboundNodes[0].InitialState!.Count);
        AssertSameFunction(model, ReferenceEncoderDecoder(), ConfigTestSupport.Input(2, 5, 3), ConfigTestSupport.Input(2, 4, 3));
    }

    [Fact]
    public void Keras22InitialStatesAsExtraInputs()
    {
        var json = EncoderDecoder("""[[["dec_in", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 2, {}]]]""", "2.2.4");
        var model = Model.FromJson(json);
        Assert.Single(model.GetLayer("decoder").InboundNodes[0].Inputs);
        Assert.Equal(2, model.GetLayer("decoder").InboundNodes[0].InitialState!.Count);
        AssertSameFunction(model, ReferenceEncoderDecoder(), ConfigTestSupport.Input(2, 5, 3), ConfigTestSupport.Input(2, 4, 3));
    }

    [Fact]
    public void TfKerasNestedFunctionalCountsItsOwnGraphAsNodeZero()
    {
        // The outer model refers to the nested model's first call as node 1 (tf.keras' _should_skip_first_node),
        // both in a layer's inbound node and in output_layers.
        var json = $$$"""
            {"class_name": "Functional", "config": {"name": "outer", "layers": [
              {{{Input("x")}}},
              {"class_name": "Functional", "config": {"name": "inner", "layers": [
                  {{{Input("inner_in")}}},
                  {{{Lstm("inner_lstm", false, true, InnerInbound)}}}],
                "input_layers": [["inner_in", 0, 0]], "output_layers": [["inner_lstm", 0, 0]]},
               "name": "inner", "inbound_nodes": [[["x", 0, 0, {}]]]},
              {{{Lstm("top", false, false, TopInbound)}}}],
             "input_layers": [["x", 0, 0]], "output_layers": [["top", 0, 0], ["inner", 1, 0]]},
             "keras_version": "2.9.0", "backend": "tensorflow"}
            """;
        var model = Model.FromJson(json);
        Assert.Equal(["top", "inner"], model.OutputNames);

        var innerIn = KerasApi.Input([null, 3], name: "inner_in");
        var inner = new Model(innerIn, new LSTM(4, returnSequences: true, name: "inner_lstm").Apply(innerIn), name: "inner");
        var x = KerasApi.Input([null, 3], name: "x");
        var seq = inner.Apply(x);
        var reference = new Model(x, [new LSTM(4, name: "top").Apply(seq), seq]);
        AssertSameFunction(model, reference, ConfigTestSupport.Input(2, 5, 3));
    }

    [Fact]
    public void SharedLayerWithSeveralInboundNodes()
    {
        // One Dense called on two inputs: two inbound nodes; outputs refer to node 0 and node 1.
        const string json = """
            {"class_name": "Model", "config": {"name": "twins", "layers": [
              {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32", "name": "a"}, "name": "a", "inbound_nodes": []},
              {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32", "name": "b"}, "name": "b", "inbound_nodes": []},
              {"class_name": "Dense", "config": {"name": "shared", "units": 2, "activation": "tanh"}, "name": "shared",
               "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]},
              {"class_name": "Concatenate", "config": {"name": "cat", "axis": -1}, "name": "cat", "inbound_nodes": [[["shared", 0, 0, {}], ["shared", 1, 0, {}]]]}],
             "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["cat", 0, 0]]}, "keras_version": "2.1.6"}
            """;
        var model = Model.FromJson(json);
        Assert.Equal(2, model.GetLayer("shared").InboundNodes.Count);
        var a = KerasApi.Input([3], name: "a");
        var b = KerasApi.Input([3], name: "b");
        var shared = new Dense(2, activation: "tanh", name: "shared");
        var reference = new Model([a, b], new Concatenate(name: "cat").Apply([shared.Apply(a), shared.Apply(b)]));
        AssertSameFunction(model, reference, ConfigTestSupport.Input(2, 3), ConfigTestSupport.Input(2, 3).neg());
    }
}
