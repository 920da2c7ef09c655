using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Regularizers;
using Xunit;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// The configs we write carry exactly the keys Keras 3.15's <c>get_config</c> writes, in Keras' order (Python dicts
/// keep insertion order: <c>{**base_config, **config}</c>). The expected lists are read off Keras' source:
/// <c>ops/operation.py</c> and <c>layers/layer.py</c> (name, trainable, dtype, activity_regularizer when set),
/// <c>layers/core/input_layer.py</c>, <c>core/dense.py</c>, <c>core/embedding.py</c>, <c>core/masking.py</c>,
/// <c>regularization/dropout.py</c>, <c>activations/activation.py</c>, <c>reshaping/*.py</c>,
/// <c>merging/concatenate.py</c>, <c>merging/base_merge.py</c>, <c>rnn/rnn.py</c>, <c>rnn/simple_rnn.py</c>,
/// <c>rnn/lstm.py</c>, <c>rnn/gru.py</c>, <c>rnn/stacked_rnn_cells.py</c>, <c>rnn/bidirectional.py</c>,
/// <c>core/wrapper.py</c>, <c>models/sequential.py</c> and <c>models/functional.py</c>.
/// </summary>
public class KerasConfigKeysTests
{
    private static readonly string[] Base = ["name", "trainable", "dtype"];
    private static readonly string[] RnnBase = [.. Base, "return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask"];

    private static string[] KeysOf(Layer layer)
    {
        // Through the serializer, as written to config.json.
        var model = new Sequential([new InputLayer([3, 2]), layer]);
        var config = JsonNode.Parse(model.ToJson())!["config"]!["layers"]![1]!["config"]!.AsObject();
        return config.Select(kv => kv.Key).ToArray();
    }

    private static string[] KeysOfStandalone(Layer layer)
    {
        var serializer = new Keras.Rnn.Saving.KerasConfigSerializer();
        return serializer.SerializeLayer(layer)["config"]!.AsObject().Select(kv => kv.Key).ToArray();
    }

    [Fact]
    public void InputLayer() =>
        Assert.Equal(["batch_shape", "dtype", "sparse", "ragged", "name", "optional"], KeysOfStandalone(new InputLayer([3])));

    [Fact]
    public void Dense() =>
        Assert.Equal([.. Base, "units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
            "bias_regularizer", "kernel_constraint", "bias_constraint", "quantization_config"], KeysOf(new Dense(2)));

    [Fact]
    public void DenseWithActivityRegularizerKeepsItInTheBasePart() =>
        Assert.Equal([.. Base, "activity_regularizer", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "quantization_config"],
            KeysOf(new Dense(2) { ActivityRegularizer = new L2() }));

    [Fact]
    public void Embedding() =>
        Assert.Equal([.. Base, "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
            "embeddings_constraint", "mask_zero", "quantization_config"], KeysOfStandalone(new Embedding(5, 2)));

    [Fact]
    public void SmallLayers()
    {
        Assert.Equal([.. Base, "mask_value"], KeysOf(new Masking()));
        Assert.Equal([.. Base, "rate", "seed", "noise_shape"], KeysOf(new Dropout(0.1)));
        Assert.Equal([.. Base, "activation"], KeysOf(new Activation("relu")));
        Assert.Equal([.. Base, "data_format"], KeysOf(new Flatten()));
        Assert.Equal([.. Base, "target_shape"], KeysOf(new Reshape([6])));
        Assert.Equal([.. Base, "n"], KeysOfStandalone(new RepeatVector(2)));
        Assert.Equal([.. Base, "axis"], KeysOfStandalone(new Concatenate()));
        Assert.Equal(Base, KeysOfStandalone(new Add()));
    }

    [Fact]
    public void SimpleRnnHasNoSeedKey() =>
        Assert.Equal([.. RnnBase, "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
            "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"], KeysOf(new SimpleRNN(2)));

    [Fact]
    public void LstmHasNeitherImplementationNorUseCudnn() =>
        Assert.Equal([.. RnnBase, "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
            "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed"],
            KeysOf(new LSTM(2, recurrentDropout: 0.1, useCudnn: false)));

    [Fact]
    public void Gru() =>
        Assert.Equal([.. RnnBase, "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
            "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
            "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed"], KeysOf(new GRU(2)));

    [Fact]
    public void Cells()
    {
        Assert.Equal([.. Base, "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
            "dropout", "recurrent_dropout", "seed"], KeysOfStandalone(new SimpleRNNCell(2)));
        Assert.Equal([.. Base, "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "kernel_initializer",
            "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
            "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed"], KeysOfStandalone(new LSTMCell(2, implementation: 1)));
        Assert.Equal([.. Base, "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
            "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
            "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed"], KeysOfStandalone(new GRUCell(2)));
        Assert.Equal([.. Base, "cells"], KeysOfStandalone(new StackedRNNCells([new GRUCell(2)])));
    }

    [Fact]
    public void RnnAndWrappers()
    {
        Assert.Equal([.. RnnBase, "cell"], KeysOf(new RNN(new LSTMCell(2))));
        Assert.Equal([.. Base, "merge_mode", "layer", "backward_layer"], KeysOf(new Bidirectional(new LSTM(2))));
        Assert.Equal([.. Base, "layer"], KeysOf(new TimeDistributed(new Dense(2))));
    }

    [Fact]
    public void Models()
    {
        var sequential = new Sequential([new InputLayer([3]), new Dense(2)]);
        Assert.Equal(["name", "trainable", "dtype", "layers", "build_input_shape"],
            JsonNode.Parse(sequential.ToJson())!["config"]!.AsObject().Select(kv => kv.Key));
        var x = KerasApi.Input([3]);
        var functional = new Model(x, new Dense(2).Apply(x));
        Assert.Equal(["name", "trainable", "layers", "input_layers", "output_layers"],
            JsonNode.Parse(functional.ToJson())!["config"]!.AsObject().Select(kv => kv.Key));
        // Keras' model.to_json() is serialize_keras_object(model): the object with build and compile configs.
        Assert.Equal(["module", "class_name", "config", "registered_name", "build_config", "compile_config"],
            JsonNode.Parse(sequential.ToJson())!.AsObject().Select(kv => kv.Key));
    }
}
