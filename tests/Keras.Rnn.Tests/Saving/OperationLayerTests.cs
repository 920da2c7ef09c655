using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Keras 3 functional graphs that compute their own masks contain operation nodes such as <c>NotEqual</c>; tf.keras
/// wrote the same as <c>TFOpLambda(math.not_equal)</c>.
/// </summary>
public class OperationLayerTests
{
    /// <summary>
    /// The config Keras 3 writes for <c>ids = Input((None,), dtype="int32"); mask = ops.not_equal(ids, 0);
    /// x = Embedding(20, 4)(ids); y = LSTM(3)(x, mask=mask)</c> (written by hand from serialization_lib's rules:
    /// an operation is a layer entry of module keras.src.ops.numpy whose node args hold the tensor and the constant).
    /// </summary>
    private const string Keras3Config = """
        {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
         "config": {"name": "functional", "trainable": true,
          "layers": [
           {"module": "keras.layers", "class_name": "InputLayer", "registered_name": null,
            "config": {"batch_shape": [null, null], "dtype": "int32", "sparse": false, "ragged": false, "name": "ids", "optional": false},
            "name": "ids", "inbound_nodes": []},
           {"module": "keras.src.ops.numpy", "class_name": "NotEqual", "registered_name": "NotEqual",
            "config": {"name": "not_equal"}, "name": "not_equal",
            "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null], "dtype": "int32", "keras_history": ["ids", 0, 0]}}, 0], "kwargs": {}}]},
           {"module": "keras.layers", "class_name": "Embedding", "registered_name": null,
            "config": {"name": "embedding", "trainable": true, "dtype": "float32", "input_dim": 20, "output_dim": 4,
                       "embeddings_initializer": {"module": "keras.initializers", "class_name": "RandomUniform", "config": {"seed": null, "minval": -0.05, "maxval": 0.05}, "registered_name": null},
                       "embeddings_regularizer": null, "activity_regularizer": null, "embeddings_constraint": null, "mask_zero": false},
            "build_config": {"input_shape": [null, null]}, "name": "embedding",
            "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null], "dtype": "int32", "keras_history": ["ids", 0, 0]}}], "kwargs": {}}]},
           {"module": "keras.layers", "class_name": "LSTM", "registered_name": null,
            "config": {"name": "lstm", "trainable": true, "dtype": "float32", "units": 3},
            "build_config": {"input_shape": [null, null, 4]}, "name": "lstm",
            "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, null, 4], "dtype": "float32", "keras_history": ["embedding", 0, 0]}}],
                               "kwargs": {"mask": {"class_name": "__keras_tensor__", "config": {"shape": [null, null], "dtype": "bool", "keras_history": ["not_equal", 0, 0]}}}}]}
          ],
          "input_layers": [["ids", 0, 0]], "output_layers": [["lstm", 0, 0]]}}
        """;

    [Fact]
    public void Keras3NotEqualMaskNodesRebuildAndMaskTheRecurrentLayer()
    {
        var model = Model.FromJson(Keras3Config);
        Assert.IsType<NotEqual>(model.GetLayer("not_equal"));
        var ids = torch.tensor(new long[] { 5, 7, 0, 0 }).reshape(1, 4);
        var full = model.Predict(ids, verbose: 0);
        var trimmed = model.Predict(torch.tensor(new long[] { 5, 7 }).reshape(1, 2), verbose: 0);
        // Steps with id 0 are masked: the last output is the one after the real tokens.
        Assert.True(full.allclose(trimmed, atol: 1e-6));

        // And it round-trips through our writer with the constant back in the node's positional arguments.
        var json = model.ToJson();
        Assert.Contains("\"keras.src.ops.numpy\"", json);
        var again = Model.FromJson(json);
        again.SetWeights(model.GetWeights());
        Assert.True(again.Predict(ids, verbose: 0).allclose(full, rtol: 0, atol: 0));
    }

    [Fact]
    public void TfKerasOpLambdaNotEqualIsReadToo()
    {
        const string config = """
            {"class_name": "Functional", "config": {"name": "model", "layers": [
              {"class_name": "InputLayer", "config": {"batch_input_shape": [null, null], "dtype": "int32", "sparse": false, "ragged": false, "name": "ids"}, "name": "ids", "inbound_nodes": []},
              {"class_name": "TFOpLambda", "config": {"name": "tf.math.not_equal", "trainable": true, "dtype": "float32", "function": "math.not_equal"},
               "name": "tf.math.not_equal", "inbound_nodes": [[["ids", 0, 0, {"y": 0, "name": null}]]]}
             ], "input_layers": [["ids", 0, 0]], "output_layers": [["tf.math.not_equal", 0, 0]]}, "keras_version": "2.9.0", "backend": "tensorflow"}
            """;
        var model = Model.FromJson(config);
        var mask = model.Predict(torch.tensor(new long[] { 3, 0, 2 }).reshape(1, 3), verbose: 0);
        Assert.Equal(new[] { true, false, true }, mask.data<bool>().ToArray());
    }
}
