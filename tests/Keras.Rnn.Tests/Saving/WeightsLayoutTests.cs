using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using PureHDF;
using Xunit;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// The exact groups and datasets we write, against the keys Keras 3.15 would produce. The expected lists are derived
/// by hand from keras/src/saving/saving_lib.py: `_save_state` creates `{path}/vars` (with the layer's name as
/// attribute) for every layer, even one without variables, and the model's own `/vars`; `_walk_saveable` yields a
/// Sequential/Functional model's `layers` list first, then the attributes by name (`cell` of an RNN, `forward_layer`
/// and `backward_layer` of Bidirectional, `layer` of TimeDistributed, the `cells` list of StackedRNNCells);
/// `_save_container_state` names list items by `to_snake_case(class name)` numbered per class within the list;
/// `Layer.save_own_variables` writes the layer's own variables "0", "1", ... in creation order. A Sequential's
/// `layers` omits the InputLayer; a Functional's includes it.
/// </summary>
public class WeightsLayoutTests : SavingTestBase
{
    private static string F(string path, params int[] dims) =>
        $"{path} ({string.Join(", ", dims)}) FloatingPoint32";

    [Fact]
    public void SequentialLstmDense()
    {
        var model = new Sequential(new InputLayer([5, 3]), new LSTM(4), new Dense(2));
        var path = PathOf("seq.weights.h5");
        model.SaveWeights(path);
        var expected = new List<string>
        {
            "layers", "layers/dense", "layers/dense/vars", F("layers/dense/vars/0", 4, 2), F("layers/dense/vars/1", 2),
            "layers/lstm", "layers/lstm/cell", "layers/lstm/cell/vars",
            F("layers/lstm/cell/vars/0", 3, 16), F("layers/lstm/cell/vars/1", 4, 16), F("layers/lstm/cell/vars/2", 16),
            "layers/lstm/vars", "vars",
        };
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, H5Contents.Describe(path));

        Assert.Equal(model.Name, H5Contents.NameAttribute(path, "vars"));
        Assert.Equal(model.Layers[0].Name, H5Contents.NameAttribute(path, "layers/lstm/vars"));
        Assert.Equal("lstm_cell", H5Contents.NameAttribute(path, "layers/lstm/cell/vars"));
        Assert.Equal(model.Layers[1].Name, H5Contents.NameAttribute(path, "layers/dense/vars"));
        using var h5 = H5File.OpenRead(path);
        Assert.Empty(h5.Attributes()); // Keras writes no root attributes
        Assert.Empty(h5.Group("layers").Attributes());
    }

    [Fact]
    public void DatasetsHoldTheVariablesInCreationOrder()
    {
        var model = new Sequential(new InputLayer([5, 3]), new GRU(2));
        var path = PathOf("gru.weights.h5");
        model.SaveWeights(path);
        using var h5 = H5File.OpenRead(path);
        var cell = ((RNN)model.Layers[0]).Cell;
        var names = cell.Weights.Select(v => v.Name).ToArray();
        Assert.Equal(new[] { "kernel", "recurrent_kernel", "bias" }, names);
        for (int i = 0; i < 3; i++)
        {
            var stored = h5.Dataset($"layers/gru/cell/vars/{i}").Read<float[]>();
            var live = cell.Weights[i].Value.detach().contiguous().data<float>().ToArray();
            Assert.Equal(live, stored);
        }
        Assert.Equal(new ulong[] { 2, 6 }, h5.Dataset("layers/gru/cell/vars/2").Space.Dimensions); // reset_after bias (2, 3u)
    }

    [Fact]
    public void FunctionalBidirectionalTimeDistributedGru()
    {
        var i = KerasApi.Input(shape: [5, 3]);
        var x = new Bidirectional(new LSTM(4, returnSequences: true)).Apply(i);
        x = new TimeDistributed(new Dense(3)).Apply(x);
        x = new GRU(2).Apply(x);
        var o = new Dense(1).Apply(x);
        var model = new Model(i, o);
        var path = PathOf("functional.weights.h5");
        model.SaveWeights(path);

        var expected = new List<string>
        {
            "vars", "layers",
            "layers/input_layer", "layers/input_layer/vars",
            "layers/bidirectional", "layers/bidirectional/vars",
            "layers/bidirectional/forward_layer", "layers/bidirectional/forward_layer/vars",
            "layers/bidirectional/forward_layer/cell", "layers/bidirectional/forward_layer/cell/vars",
            F("layers/bidirectional/forward_layer/cell/vars/0", 3, 16), F("layers/bidirectional/forward_layer/cell/vars/1", 4, 16),
            F("layers/bidirectional/forward_layer/cell/vars/2", 16),
            "layers/bidirectional/backward_layer", "layers/bidirectional/backward_layer/vars",
            "layers/bidirectional/backward_layer/cell", "layers/bidirectional/backward_layer/cell/vars",
            F("layers/bidirectional/backward_layer/cell/vars/0", 3, 16), F("layers/bidirectional/backward_layer/cell/vars/1", 4, 16),
            F("layers/bidirectional/backward_layer/cell/vars/2", 16),
            "layers/time_distributed", "layers/time_distributed/vars",
            "layers/time_distributed/layer", "layers/time_distributed/layer/vars",
            F("layers/time_distributed/layer/vars/0", 8, 3), F("layers/time_distributed/layer/vars/1", 3),
            "layers/gru", "layers/gru/vars", "layers/gru/cell", "layers/gru/cell/vars",
            F("layers/gru/cell/vars/0", 3, 6), F("layers/gru/cell/vars/1", 2, 6), F("layers/gru/cell/vars/2", 2, 6),
            "layers/dense", "layers/dense/vars", F("layers/dense/vars/0", 2, 1), F("layers/dense/vars/1", 1),
        };
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, H5Contents.Describe(path));
        var bidirectional = (Bidirectional)model.Layers[1];
        Assert.Equal(bidirectional.Forward.Name, H5Contents.NameAttribute(path, "layers/bidirectional/forward_layer/vars"));
        Assert.Equal(bidirectional.Backward.Name, H5Contents.NameAttribute(path, "layers/bidirectional/backward_layer/vars"));
        Assert.Equal(model.Layers[0].Name, H5Contents.NameAttribute(path, "layers/input_layer/vars"));
    }

    [Fact]
    public void EmbeddingStackedCellsNestedModelAndRepeatedClasses()
    {
        var ii = KerasApi.Input(shape: [6, 2]);
        var inner = new Model(ii, new Dense(2).Apply(new LSTM(3).Apply(ii)));
        var model = new Sequential(
            new InputLayer([6], dtype: "int32"),
            new Embedding(10, 4),
            new RNN([new LSTMCell(3), new LSTMCell(3), new GRUCell(2)], returnSequences: true),
            new LSTM(2, returnSequences: true),
            inner,
            new Dense(1),
            new Dense(1));
        var path = PathOf("nested.weights.h5");
        model.SaveWeights(path);

        var expected = new List<string>
        {
            "vars", "layers",
            "layers/embedding", "layers/embedding/vars", F("layers/embedding/vars/0", 10, 4),
            "layers/rnn", "layers/rnn/vars", "layers/rnn/cell", "layers/rnn/cell/vars", "layers/rnn/cell/cells",
            "layers/rnn/cell/cells/lstm_cell", "layers/rnn/cell/cells/lstm_cell/vars",
            F("layers/rnn/cell/cells/lstm_cell/vars/0", 4, 12), F("layers/rnn/cell/cells/lstm_cell/vars/1", 3, 12),
            F("layers/rnn/cell/cells/lstm_cell/vars/2", 12),
            "layers/rnn/cell/cells/lstm_cell_1", "layers/rnn/cell/cells/lstm_cell_1/vars",
            F("layers/rnn/cell/cells/lstm_cell_1/vars/0", 3, 12), F("layers/rnn/cell/cells/lstm_cell_1/vars/1", 3, 12),
            F("layers/rnn/cell/cells/lstm_cell_1/vars/2", 12),
            "layers/rnn/cell/cells/gru_cell", "layers/rnn/cell/cells/gru_cell/vars",
            F("layers/rnn/cell/cells/gru_cell/vars/0", 3, 6), F("layers/rnn/cell/cells/gru_cell/vars/1", 2, 6),
            F("layers/rnn/cell/cells/gru_cell/vars/2", 2, 6),
            "layers/lstm", "layers/lstm/vars", "layers/lstm/cell", "layers/lstm/cell/vars",
            F("layers/lstm/cell/vars/0", 2, 8), F("layers/lstm/cell/vars/1", 2, 8), F("layers/lstm/cell/vars/2", 8),
            "layers/functional", "layers/functional/vars", "layers/functional/layers",
            "layers/functional/layers/input_layer", "layers/functional/layers/input_layer/vars",
            "layers/functional/layers/lstm", "layers/functional/layers/lstm/vars",
            "layers/functional/layers/lstm/cell", "layers/functional/layers/lstm/cell/vars",
            F("layers/functional/layers/lstm/cell/vars/0", 2, 12), F("layers/functional/layers/lstm/cell/vars/1", 3, 12),
            F("layers/functional/layers/lstm/cell/vars/2", 12),
            "layers/functional/layers/dense", "layers/functional/layers/dense/vars",
            F("layers/functional/layers/dense/vars/0", 3, 2), F("layers/functional/layers/dense/vars/1", 2),
            "layers/dense", "layers/dense/vars", F("layers/dense/vars/0", 2, 1), F("layers/dense/vars/1", 1),
            "layers/dense_1", "layers/dense_1/vars", F("layers/dense_1/vars/0", 1, 1), F("layers/dense_1/vars/1", 1),
        };
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, H5Contents.Describe(path));
        Assert.Equal(inner.Name, H5Contents.NameAttribute(path, "layers/functional/vars"));
    }

    [Fact]
    public void LayerWithoutBiasWritesOnlyItsKernel()
    {
        var model = new Sequential(new InputLayer([4]), new Dense(3, useBias: false), new Dropout(0.5));
        var path = PathOf("nobias.weights.h5");
        model.SaveWeights(path);
        var expected = new List<string>
        {
            "vars", "layers", "layers/dense", "layers/dense/vars", F("layers/dense/vars/0", 4, 3),
            "layers/dropout", "layers/dropout/vars",
        };
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, H5Contents.Describe(path));
    }
}
