using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>Bad input to recurrent layers fails with clear exceptions that name the layer and the shapes.</summary>
public class BadInputTests
{
    private static void AssertNames(Exception ex, params string[] parts)
    {
        Assert.True(ex is KerasLayerException or ArgumentException, $"unexpected exception type {ex.GetType().Name}: {ex.Message}");
        foreach (var p in parts) Assert.Contains(p, ex.Message);
    }

    [Fact]
    public void WrongRank()
    {
        AssertNames(Assert.ThrowsAny<Exception>(() => new LSTM(2, name: "rank_lstm").Apply(torch.ones(2, 3))), "rank_lstm", "ndim=3", "(None, 3)");
        AssertNames(Assert.ThrowsAny<Exception>(() => new GRU(2, name: "rank_gru").Apply(torch.ones(2, 3, 4, 5))), "rank_gru", "ndim=3");
        AssertNames(Assert.ThrowsAny<Exception>(() => new SimpleRNN(2, name: "rank_srnn").Apply(KerasApi.Input(shape: [3]))), "rank_srnn", "ndim=2");
        AssertNames(Assert.ThrowsAny<Exception>(() => new RNN(new LSTMCell(2), name: "rank_rnn").Apply(torch.ones(2, 3))), "rank_rnn", "min_ndim=3");
        AssertNames(Assert.ThrowsAny<Exception>(() => new Bidirectional(new LSTM(2), name: "rank_bidi").Apply(torch.ones(2, 3))), "rank_bidi");
        AssertNames(Assert.ThrowsAny<Exception>(() => new TimeDistributed(new Dense(2), name: "rank_td").Apply(torch.ones(2, 3))), "rank_td");
    }

    [Theory]
    [InlineData(CellKind.SimpleRnn, true)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.GruResetAfter, true)]
    [InlineData(CellKind.GruResetBefore, false)]
    public void FeatureSizeChangeAfterBuild(CellKind kind, bool fused)
    {
        // Before the fix, the fused LSTM silently returned garbage here and the step loop failed inside libtorch.
        var layer = RnnFactory.Make(kind, 2, fused: fused ? null : false, name: $"features_{kind}_{fused}".ToLowerInvariant());
        layer.Apply(torch.ones(2, 3, 4));
        var ex = Assert.ThrowsAny<Exception>(() => layer.Apply(torch.ones(2, 3, 5)));
        AssertNames(ex, layer.Name, "4", "(None, 3, 5)");
        // Symbolic calls are checked too.
        AssertNames(Assert.ThrowsAny<Exception>(() => layer.Apply(KerasApi.Input(shape: [null, 5]))), layer.Name);
        // The right size still works.
        Assert.Equal(new long[] { 2, 2 }, layer.Apply(torch.ones(2, 6, 4)).shape);
    }

    [Fact]
    public void FeatureSizeChangeInWrappers()
    {
        var bidi = new Bidirectional(new LSTM(2), name: "features_bidi");
        bidi.Apply(torch.ones(2, 3, 4));
        AssertNames(Assert.ThrowsAny<Exception>(() => bidi.Apply(torch.ones(2, 3, 5))), "features_bidi");
        var custom = new RNN(new OneStateRNNCell(2), name: "features_custom");
        custom.Apply(torch.ones(2, 3, 4));
        AssertNames(Assert.ThrowsAny<Exception>(() => custom.Apply(torch.ones(2, 3, 5))), "features_custom");
    }

    [Fact]
    public void ZeroLengthSequence()
    {
        foreach (var layer in new Layer[] { new LSTM(2, name: "empty_lstm"), new GRU(2, name: "empty_gru"), new SimpleRNN(2, name: "empty_srnn"),
                     new RNN(new OneStateRNNCell(2), name: "empty_rnn") })
        {
            var ex = Assert.ThrowsAny<Exception>(() => layer.Apply(torch.ones(2, 0, 4)));
            AssertNames(ex, layer.Name, "0 time steps");
        }
        var bidi = new Bidirectional(new LSTM(2), name: "empty_bidi");
        Assert.ThrowsAny<KerasLayerException>(() => bidi.Apply(torch.ones(2, 0, 4)));
    }

    [Fact]
    public void WrongInitialStates()
    {
        var x = torch.ones(2, 3, 4);
        // Count.
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new LSTM(2, name: "count_lstm").ApplyAll([x], initialState: [torch.zeros(2, 2)])), "count_lstm", "2 initial state", "received 1");
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new GRU(2, name: "count_gru").ApplyAll([x], initialState: [torch.zeros(2, 2), torch.zeros(2, 2)])), "count_gru", "received 2");
        // Size, batch and rank.
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new LSTM(2, name: "size_lstm").ApplyAll([x], initialState: [torch.zeros(2, 3), torch.zeros(2, 2)])), "size_lstm", "(2, 2)", "(2, 3)");
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new GRU(2, name: "batch_gru").ApplyAll([x], initialState: [torch.zeros(3, 2)])), "batch_gru", "(3, 2)");
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new SimpleRNN(2, name: "rank_state").ApplyAll([x], initialState: [torch.zeros(2)])), "rank_state", "(2,)");
        // Bidirectional: an even number, forward's then backward's.
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new Bidirectional(new GRU(2), name: "bidi_odd").ApplyAll([x], initialState: [torch.zeros(2, 2)])), "bidi_odd", "even");
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new Bidirectional(new GRU(2), name: "bidi_size").ApplyAll([x], initialState: [torch.zeros(2, 2), torch.zeros(2, 3)])), "(2, 3)");
    }

    [Fact]
    public void WrongSymbolicInitialStates()
    {
        var inputs = KerasApi.Input(shape: [null, 4]);
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new GRU(2, name: "sym_size").Apply(inputs, initialState: KerasApi.Input(shape: [3]))), "sym_size", "(None, 3)");
        AssertNames(Assert.Throws<KerasLayerException>(() =>
            new LSTM(2, name: "sym_count").Apply(inputs, initialState: KerasApi.Input(shape: [2]))), "sym_count", "received 1");
        AssertNames(Assert.Throws<KerasLayerException>(() => new Bidirectional(new LSTM(2), name: "sym_bidi").Apply(inputs,
            initialState: new KerasTensors([KerasApi.Input(shape: [2]), KerasApi.Input(shape: [2]), KerasApi.Input(shape: [2])]))), "sym_bidi");

        // A correct symbolic state works end to end (seq2seq decoder style).
        var h = KerasApi.Input(shape: [2]);
        var gru = new GRU(2);
        var model = new Model(new KerasTensors([inputs, h]), gru.Apply(inputs, initialState: h));
        var rng = new Random(1);
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 4, 2);
        gru.SetWeights(w.ToKerasList());
        var xv = T.Rand(rng, 2, 3, 4);
        var hv = T.Rand(rng, 2, 2);
        var y = model.ApplyAll([T.ToTensor(xv), T.ToTensor(hv)])[0];
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.GruResetAfter, w, xv, initialStates: [hv]).Outputs), y);
    }

    [Fact]
    public void WrongWeights()
    {
        var gru = new GRU(2, name: "weights_gru");
        gru.Build(new Shape(null, null, 3));
        // A reset_after=False bias (3u,) for a reset_after=True layer (2, 3u).
        var ex = Assert.Throws<ArgumentException>(() => gru.SetWeights([new float[3, 6], new float[2, 6], new float[6]]));
        AssertNames(ex, "weights_gru", "bias", "(2, 6)", "(6,)");
        var count = Assert.Throws<ArgumentException>(() => gru.SetWeights([new float[3, 6], new float[2, 6]]));
        AssertNames(count, "weights_gru", "3 weights", "received 2");
    }

    [Fact]
    public void InvalidArguments()
    {
        Assert.Throws<ArgumentException>(() => new LSTM(0));
        Assert.Throws<ArgumentException>(() => new GRU(-1));
        Assert.Throws<ArgumentException>(() => new SimpleRNN(0));
        Assert.Throws<ArgumentException>(() => new LSTMCell(2, implementation: 3));
        Assert.Throws<ArgumentException>(() => new StackedRNNCells([]));
        Assert.Throws<ArgumentNullException>(() => new RNN((AbstractRNNCell)null!));
    }

    [Fact]
    public void IntegerSequencesArePromotedToFloat()
    {
        // Keras' torch backend casts inputs to the kernel dtype, so integer sequences work (backend/torch/rnn.py).
        var rng = new Random(3);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 2, scale: 0.3);
        var ids = new double[,,] { { { 1, 0 }, { 2, 1 }, { 0, 3 } } };
        var y = new LSTM(2).WithWeights(2, w).Apply(torch.tensor(new long[] { 1, 0, 2, 1, 0, 3 }, [1, 3, 2]));
        Assert.Equal(ScalarType.Float32, y.dtype);
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.Lstm, w, ids).Outputs), y);
    }
}
