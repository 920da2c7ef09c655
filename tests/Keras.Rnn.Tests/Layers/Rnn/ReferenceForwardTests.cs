using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Forward values of SimpleRNN, LSTM and GRU (reset_after both ways), with random weights set through
/// <c>SetWeights</c>, against the double-precision reference (<see cref="RnnReference"/>): with and without bias,
/// fused kernel and step loop, returnSequences, returnState, goBackwards, initial states, other activations.
/// </summary>
public class ReferenceForwardTests
{
    private const double Tol = 1e-5;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var kind in RnnFactory.Kinds)
            foreach (var useBias in new[] { true, false })
                foreach (var goBackwards in new[] { false, true })
                    foreach (var fused in new[] { true, false })
                        yield return [kind, useBias, goBackwards, fused];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SequencesAndStatesMatchReference(CellKind kind, bool useBias, bool goBackwards, bool fused)
    {
        var rng = new Random(1000 + (int)kind * 8 + (useBias ? 4 : 0) + (goBackwards ? 2 : 0) + (fused ? 1 : 0));
        const int batch = 3, steps = 5, features = 4, units = 3;
        var w = RnnReference.RandomWeights(rng, kind, features, units, useBias);
        var x = T.Rand(rng, batch, steps, features);

        var layer = RnnFactory.Make(kind, units, useBias, returnSequences: true, returnState: true, goBackwards: goBackwards, fused: fused)
            .WithWeights(features, w);
        var r = layer.ApplyAll([T.ToTensor(x)]);

        var (seq, states) = RnnReference.Run(kind, w, x, goBackwards: goBackwards);
        Assert.Equal(1 + RnnReference.StateCount(kind), r.Count);
        T.Close(seq, r[0], Tol, what: "outputs");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], r[1 + s], Tol, what: $"state {s}");

        // returnSequences=false returns the last processed step; the same weights give the same numbers.
        var lastOnly = RnnFactory.Make(kind, units, useBias, goBackwards: goBackwards, fused: fused).WithWeights(features, w);
        T.Close(RnnReference.Last(seq), lastOnly.Apply(T.ToTensor(x)), Tol, what: "last output");
    }

    [Theory]
    [InlineData(CellKind.SimpleRnn, true)]
    [InlineData(CellKind.SimpleRnn, false)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.GruResetAfter, true)]
    [InlineData(CellKind.GruResetAfter, false)]
    [InlineData(CellKind.GruResetBefore, false)]
    public void InitialStatesMatchReference(CellKind kind, bool fused)
    {
        var rng = new Random(77 + (int)kind);
        const int batch = 2, steps = 4, features = 3, units = 2;
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();
        foreach (var goBackwards in new[] { false, true })
        {
            var layer = RnnFactory.Make(kind, units, returnSequences: true, returnState: true, goBackwards: goBackwards, fused: fused)
                .WithWeights(features, w);
            var r = layer.ApplyAll([T.ToTensor(x)], initialState: init.Select(a => T.ToTensor(a)).ToList());
            var (seq, states) = RnnReference.Run(kind, w, x, goBackwards: goBackwards, initialStates: init);
            T.Close(seq, r[0], Tol, what: "outputs");
            for (int s = 0; s < states.Length; s++) T.Close(states[s], r[1 + s], Tol, what: $"state {s}");
        }
    }

    [Fact]
    public void ReturnStateOrderAndValues()
    {
        // LSTM returns [output, h, c]; h equals the last output; c is the cell state.
        var rng = new Random(5);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 4);
        var x = T.Rand(rng, 2, 6, 3);
        var r = new LSTM(4, returnState: true).WithWeights(3, w).ApplyAll([T.ToTensor(x)]);
        Assert.Equal(3, r.Count);
        var (seq, states) = RnnReference.Run(CellKind.Lstm, w, x);
        T.Close(RnnReference.Last(seq), r[0], Tol);
        T.Close(states[0], r[1], Tol, what: "h");
        T.Close(states[1], r[2], Tol, what: "c");
        T.Same(r[0], r[1], 0);
    }

    [Fact]
    public void GoBackwardsOutputsInProcessingOrder()
    {
        // Keras: with go_backwards the step-0 output is the one computed from x[T-1] alone (processing order).
        var rng = new Random(9);
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 3);
        var x = T.Rand(rng, 1, 4, 2);
        var y = new GRU(3, returnSequences: true, goBackwards: true).WithWeights(2, w).Apply(T.ToTensor(x));
        var lastStepOnly = new double[1, 1, 2];
        lastStepOnly[0, 0, 0] = x[0, 3, 0];
        lastStepOnly[0, 0, 1] = x[0, 3, 1];
        var (first, _) = RnnReference.Run(CellKind.GruResetAfter, w, lastStepOnly);
        T.Close(RnnReference.Last(first), y.select(1, 0), Tol);
    }

    [Theory]
    [InlineData(CellKind.SimpleRnn, "relu", null)]
    [InlineData(CellKind.SimpleRnn, "sigmoid", null)]
    [InlineData(CellKind.Lstm, "relu", "hard_sigmoid")]
    [InlineData(CellKind.Lstm, "tanh", "hard_sigmoid")]
    [InlineData(CellKind.GruResetAfter, "relu", "sigmoid")]
    [InlineData(CellKind.GruResetBefore, "tanh", "hard_sigmoid")]
    public void OtherActivationsMatchReference(CellKind kind, string activation, string? recurrentActivation)
    {
        static Func<double, double> F(string name) => name switch
        {
            "relu" => v => Math.Max(0, v),
            "sigmoid" => RnnReference.Sigmoid,
            "tanh" => Math.Tanh,
            // Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6.
            "hard_sigmoid" => v => Math.Clamp(v + 3, 0, 6) / 6,
            _ => throw new ArgumentException(name),
        };
        var rng = new Random(31 + (int)kind);
        var w = RnnReference.RandomWeights(rng, kind, 3, 3, scale: 1.5);
        var x = T.Rand(rng, 2, 5, 3, 2.0);
        var layer = RnnFactory.Make(kind, 3, returnSequences: true, returnState: true, activation: activation,
            recurrentActivation: recurrentActivation is null ? null : (ActivationFunction)recurrentActivation).WithWeights(3, w);
        var r = layer.ApplyAll([T.ToTensor(x)]);
        var (seq, states) = RnnReference.Run(kind, w, x, activation: F(activation),
            recurrentActivation: recurrentActivation is null ? null : F(recurrentActivation));
        T.Close(seq, r[0], Tol, what: "outputs");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], r[1 + s], Tol, what: $"state {s}");
    }

    [Fact]
    public void WeightLayoutAndNames()
    {
        // Keras layouts and paths: lstm/lstm_cell/{kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u)};
        // GRU reset_after bias (2, 3u), reset_after=False bias (3u,), no bias weight with useBias=false.
        var lstm = new LSTM(5, name: "lstm_layout");
        lstm.Build(new Shape(null, null, 3));
        Assert.Equal(["kernel", "recurrent_kernel", "bias"], lstm.Weights.Select(v => v.Name));
        Assert.Equal(new long[] { 3, 20 }, lstm.Weights[0].Shape);
        Assert.Equal(new long[] { 5, 20 }, lstm.Weights[1].Shape);
        Assert.Equal(new long[] { 20 }, lstm.Weights[2].Shape);
        Assert.StartsWith("lstm_layout/lstm_cell", lstm.Weights[0].Path);
        // unit_forget_bias: the initial bias is [0, 1, 0, 0] per gate block.
        var bias = (float[])lstm.GetWeights()[2];
        Assert.Equal(Enumerable.Repeat(0f, 5).Concat(Enumerable.Repeat(1f, 5)).Concat(Enumerable.Repeat(0f, 10)), bias);

        var gru = new GRU(4);
        gru.Build(new Shape(null, null, 2));
        Assert.Equal(new long[] { 2, 12 }, gru.Weights[2].Shape);
        var gruOld = new GRU(4, resetAfter: false);
        gruOld.Build(new Shape(null, null, 2));
        Assert.Equal(new long[] { 12 }, gruOld.Weights[2].Shape);
        var noBias = new GRU(4, useBias: false);
        noBias.Build(new Shape(null, null, 2));
        Assert.Equal(2, noBias.Weights.Count);
        var simple = new SimpleRNN(4);
        simple.Build(new Shape(null, null, 2));
        Assert.Equal(new long[] { 2, 4 }, simple.Weights[0].Shape);
        Assert.Equal(new long[] { 4, 4 }, simple.Weights[1].Shape);
        Assert.Equal(new long[] { 4 }, simple.Weights[2].Shape);
        // Parameter counts as Keras' summary prints them: LSTM 4·(u·(in + u) + u), GRU reset_after 3·(u·(in + u) + 2u).
        Assert.Equal(4 * (5 * (3 + 5) + 5), lstm.CountParams());
        Assert.Equal(3 * (4 * (2 + 4) + 2 * 4), gru.CountParams());
    }

    [Fact]
    public void FunctionalModelGivesSameNumbers()
    {
        // The same layer inside a functional model with returnSequences + returnState: shapes and values.
        var rng = new Random(21);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 4, 3);
        var x = T.Rand(rng, 2, 5, 4);
        var inputs = KerasApi.Input(shape: [null, 4]);
        var layer = new LSTM(3, returnSequences: true, returnState: true);
        var (seq, h, c) = layer.Apply(inputs);
        Assert.Equal(new Shape(null, null, 3), seq.Shape);
        Assert.Equal(new Shape(null, 3), h.Shape);
        layer.SetWeights(w.ToKerasList());
        var model = new Model(inputs, [seq, h, c]);
        var r = model.ApplyAll([T.ToTensor(x)]);
        var (rs, rst) = RnnReference.Run(CellKind.Lstm, w, x);
        T.Close(rs, r[0], Tol);
        T.Close(rst[0], r[1], Tol);
        T.Close(rst[1], r[2], Tol);
    }

    [Fact]
    public void DoubleInputsComputeInFloat32()
    {
        // Keras 3 (non-TF backends) computes in float32 even for float64 inputs; the output is float32.
        var rng = new Random(2);
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 2);
        var x = T.Rand(rng, 2, 3, 2);
        var y = new GRU(2).WithWeights(2, w).Apply(T.ToTensor(x).to_type(ScalarType.Float64));
        Assert.Equal(ScalarType.Float32, y.dtype);
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.GruResetAfter, w, x).Outputs), y, Tol);
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.GruResetAfter)]
    [InlineData(CellKind.GruResetBefore)]
    public void ImplementationOneCellsMatchReference(CellKind kind)
    {
        // Keras' implementation=1 (per-gate products) computes the same function as implementation 2.
        var rng = new Random(88 + (int)kind);
        var w = RnnReference.RandomWeights(rng, kind, 3, 2);
        var x = T.Rand(rng, 2, 4, 3);
        AbstractRNNCell cell = kind == CellKind.Lstm
            ? new LSTMCell(2, implementation: 1)
            : new GRUCell(2, resetAfter: kind == CellKind.GruResetAfter, implementation: 1);
        var r = new RNN(cell, returnSequences: true, returnState: true).WithWeights(3, w).ApplyAll([T.ToTensor(x)]);
        var (seq, states) = RnnReference.Run(kind, w, x);
        T.Close(seq, r[0], Tol);
        for (int s = 0; s < states.Length; s++) T.Close(states[s], r[1 + s], Tol);
    }
}
