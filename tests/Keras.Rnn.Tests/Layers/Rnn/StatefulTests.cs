using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// <c>stateful=True</c>: batch k of one call starts from the final states of batch k of the previous call, so
/// running two chunks equals running their concatenation once (double-precision reference); ResetStates;
/// batch-size checks.
/// </summary>
public class StatefulTests
{
    private const double Tol = 1e-5;

    private static double[,,] Slice(double[,,] x, int start, int count)
    {
        int b = x.GetLength(0), f = x.GetLength(2);
        var r = new double[b, count, f];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < count; t++)
                for (int k = 0; k < f; k++) r[i, t, k] = x[i, start + t, k];
        return r;
    }

    [Theory]
    [InlineData(CellKind.SimpleRnn, true)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.GruResetAfter, true)]
    [InlineData(CellKind.GruResetBefore, false)]
    public void ChunksEqualWholeSequence(CellKind kind, bool fused)
    {
        var rng = new Random(50 + (int)kind);
        const int features = 3, units = 4;
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, 2, 7, features);
        var layer = RnnFactory.Make(kind, units, returnSequences: true, returnState: true, stateful: true, fused: fused)
            .WithWeights(features, w, batch: 2);
        var first = layer.ApplyAll([T.ToTensor(Slice(x, 0, 3))]);
        var second = layer.ApplyAll([T.ToTensor(Slice(x, 3, 4))]);
        var (seq, states) = RnnReference.Run(kind, w, x);
        var (seq3, states3) = RnnReference.Run(kind, w, Slice(x, 0, 3));
        T.Close(seq3, first[0], Tol, what: "first chunk");
        T.Close(Slice(seq, 3, 4), second[0], Tol, what: "second chunk");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], second[1 + s], Tol, what: $"state {s}");
        // The States property exposes (copies of) the carried states.
        Assert.NotNull(layer.States);
        for (int s = 0; s < states.Length; s++) T.Close(states[s], layer.States![s], Tol);

        // ResetStates zeros them: the next call equals a fresh run of its chunk.
        layer.ResetStates();
        var again = layer.ApplyAll([T.ToTensor(Slice(x, 0, 3))]);
        T.Close(seq3, again[0], Tol, what: "after reset");
        for (int s = 0; s < states3.Length; s++) T.Close(states3[s], again[1 + s], Tol);
    }

    [Fact]
    public void ResetStatesToGivenValues()
    {
        var rng = new Random(8);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 3);
        var x = T.Rand(rng, 2, 4, 2);
        var h0 = T.Rand(rng, 2, 3);
        var c0 = T.Rand(rng, 2, 3);
        var layer = new LSTM(3, stateful: true).WithWeights(2, w, batch: 2);
        layer.Apply(T.ToTensor(x));
        layer.ResetStates([T.ToTensor(h0), T.ToTensor(c0)]);
        var y = layer.Apply(T.ToTensor(x));
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.Lstm, w, x, initialStates: [h0, c0]).Outputs), y, Tol);
        var bad = Assert.Throws<KerasLayerException>(() => layer.ResetStates([torch.zeros(2, 3)]));
        Assert.Contains(layer.Name, bad.Message);
    }

    [Fact]
    public void StatesCarryAcrossCallsWithInitialStateGiven()
    {
        // Keras: an explicit initial_state overrides the carried states for that call; the final states are kept.
        var rng = new Random(12);
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 2);
        var x = T.Rand(rng, 1, 3, 2);
        var h0 = T.Rand(rng, 1, 2);
        var layer = new GRU(2, stateful: true).WithWeights(2, w, batch: 1);
        layer.ApplyAll([T.ToTensor(x)], initialState: [T.ToTensor(h0)]);
        var y = layer.Apply(T.ToTensor(x));
        var (_, s1) = RnnReference.Run(CellKind.GruResetAfter, w, x, initialStates: [h0]);
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.GruResetAfter, w, x, initialStates: [s1[0]]).Outputs), y, Tol);
    }

    [Fact]
    public void BatchSizeMismatchIsAnError()
    {
        // rnn_test.py test_stateful_batch_size_mismatch_raises: ValueError mentioning the batch size.
        var layer = new LSTM(2, stateful: true, name: "stateful_lstm");
        layer.Apply(torch.ones(4, 5, 3));
        var ex = Assert.Throws<KerasLayerException>(() => layer.Apply(torch.ones(1, 5, 3)));
        Assert.Contains("stateful_lstm", ex.Message);
        Assert.Contains("batch size", ex.Message);
        Assert.Contains("4", ex.Message);

        // Functional model with a fixed batch size (as in Keras' test).
        var inputs = KerasApi.Input(shape: [5, 3], batchSize: 4);
        var model = new Model(inputs, new RNN(new TwoStatesRNNCell(2), stateful: true).Apply(inputs));
        model.ApplyAll([torch.rand(4, 5, 3)]);
        Assert.ThrowsAny<Exception>(() => model.ApplyAll([torch.rand(1, 5, 3)]));
    }

    [Fact]
    public void SymbolicStatefulNeedsStaticBatchSize()
    {
        var inputs = KerasApi.Input(shape: [5, 3]);
        var ex = Assert.Throws<KerasLayerException>(() => new LSTM(2, stateful: true, name: "needs_batch").Apply(inputs));
        Assert.Contains("needs_batch", ex.Message);
        Assert.Contains("batch size", ex.Message);
    }

    [Fact]
    public void ResetStatesOnNonStatefulLayerIsAnError()
    {
        var layer = new GRU(2, name: "not_stateful");
        var ex = Assert.Throws<InvalidOperationException>(() => layer.ResetStates());
        Assert.Contains("not_stateful", ex.Message);
    }

    [Fact]
    public void NonStatefulLayerDoesNotCarryStates()
    {
        var rng = new Random(4);
        var w = RnnReference.RandomWeights(rng, CellKind.SimpleRnn, 2, 2);
        var x = T.Rand(rng, 2, 3, 2);
        var layer = new SimpleRNN(2).WithWeights(2, w);
        var a = layer.Apply(T.ToTensor(x));
        var b = layer.Apply(T.ToTensor(x));
        T.Same(a, b, 0);
    }

    [Fact]
    public void StatefulInsideModelWithFixedBatch()
    {
        // Sequential(InputLayer(batch_size=2), GRU(stateful)): two calls on consecutive chunks equal one call on the whole.
        var rng = new Random(14);
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 3, 2);
        var x = T.Rand(rng, 2, 6, 3);
        var gru = new GRU(2, stateful: true, returnSequences: true);
        var model = new Sequential(new InputLayer([null, 3], batchSize: 2), gru);
        gru.SetWeights(w.ToKerasList());
        var first = model.ApplyAll([T.ToTensor(Slice(x, 0, 2))])[0];
        var second = model.ApplyAll([T.ToTensor(Slice(x, 2, 4))])[0];
        var seq = RnnReference.Run(CellKind.GruResetAfter, w, x).Outputs;
        T.Close(Slice(seq, 0, 2), first, Tol);
        T.Close(Slice(seq, 2, 4), second, Tol);
    }
}
