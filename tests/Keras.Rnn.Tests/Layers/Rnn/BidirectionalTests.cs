using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Bidirectional: every merge mode against the double reference (forward run, backward run reversed back to input
/// order), returnState order (forward states then backward states), explicit backward layers, weight order and
/// names, output shapes and argument errors.
/// </summary>
public class BidirectionalTests
{
    private const double Tol = 1e-5;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var mode in new[] { "concat", "sum", "mul", "ave", "none" })
            foreach (var returnSequences in new[] { false, true })
                foreach (var kind in new[] { CellKind.Lstm, CellKind.GruResetAfter, CellKind.SimpleRnn })
                    yield return [mode, returnSequences, kind];
    }

    private static double[] Merge(string mode, double[] f, double[] b, int units)
    {
        if (mode == "concat")
        {
            // Concatenate along the last axis, row by row.
            int rows = f.Length / units;
            var r = new double[2 * f.Length];
            for (int i = 0; i < rows; i++)
            {
                Array.Copy(f, i * units, r, i * 2 * units, units);
                Array.Copy(b, i * units, r, i * 2 * units + units, units);
            }
            return r;
        }
        return f.Zip(b, (p, q) => mode switch
        {
            "sum" => p + q,
            "mul" => p * q,
            "ave" => (p + q) / 2,
            _ => throw new ArgumentException(mode),
        }).ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MergeModesMatchReference(string mode, bool returnSequences, CellKind kind)
    {
        var rng = new Random(mode.Length * 17 + (returnSequences ? 1 : 0) + (int)kind * 5);
        const int batch = 2, steps = 4, features = 3, units = 2;
        var wf = RnnReference.RandomWeights(rng, kind, features, units);
        var wb = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var layer = new Bidirectional(RnnFactory.Make(kind, units, returnSequences: returnSequences), mergeMode: mode == "none" ? null : mode);
        layer.Build(new Shape(null, null, features));
        layer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
        var r = layer.ApplyAll([T.ToTensor(x)]);

        var f = RnnReference.Run(kind, wf, x).Outputs;
        var b = RnnReference.Run(kind, wb, x, goBackwards: true).Outputs;
        Array fa = returnSequences ? f : RnnReference.Last(f);
        Array ba = returnSequences ? RnnReference.ReverseTime(b) : RnnReference.Last(b);
        if (mode == "none")
        {
            Assert.Equal(2, r.Count);
            T.Close(fa, r[0], Tol, what: "forward");
            T.Close(ba, r[1], Tol, what: "backward");
        }
        else
        {
            Assert.Single(r);
            var expected = Merge(mode, T.Flat(fa).ToArray(), T.Flat(ba).ToArray(), units);
            var shape = T.ShapeOf(fa);
            if (mode == "concat") shape[^1] *= 2;
            Assert.Equal(shape, r[0].shape);
            T.Close(expected, T.Values(r[0]), Tol, what: mode);
        }
        var computed = layer.ComputeOutputShapes([new Shape(null, steps, features)], new Dictionary<string, object?>());
        Assert.Equal(r.Count, computed.Count);
        for (int i = 0; i < r.Count; i++)
            Assert.True(computed[i].IsCompatibleWith(r[i].shape), $"computed {computed[i]} vs actual {Shape.Of(r[i].shape)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReturnStateForwardThenBackward(bool returnSequences)
    {
        var rng = new Random(42);
        var wf = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var wb = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var x = T.Rand(rng, 2, 5, 3);
        var layer = new Bidirectional(new LSTM(2, returnState: true, returnSequences: returnSequences));
        layer.Build(new Shape(null, null, 3));
        layer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
        var r = layer.ApplyAll([T.ToTensor(x)]);
        Assert.Equal(5, r.Count);
        var (_, sf) = RnnReference.Run(CellKind.Lstm, wf, x);
        var (_, sb) = RnnReference.Run(CellKind.Lstm, wb, x, goBackwards: true);
        T.Close(sf[0], r[1], Tol, what: "h forward");
        T.Close(sf[1], r[2], Tol, what: "c forward");
        T.Close(sb[0], r[3], Tol, what: "h backward");
        T.Close(sb[1], r[4], Tol, what: "c backward");
        var shapes = layer.ComputeOutputShapes([new Shape(null, 5, 3)], new Dictionary<string, object?>());
        Assert.Equal(5, shapes.Count);
        Assert.Equal(returnSequences ? new Shape(null, 5, 4) : new Shape(null, 4), shapes[0]);
        for (int i = 1; i < 5; i++) Assert.Equal(new Shape(null, 2), shapes[i]);
    }

    [Fact]
    public void ExplicitBackwardLayer()
    {
        // A GRU forwards and a SimpleRNN backwards (Keras allows different layers; concat then needs no equal sizes).
        var rng = new Random(43);
        var wf = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 3, 2);
        var wb = RnnReference.RandomWeights(rng, CellKind.SimpleRnn, 3, 3);
        var x = T.Rand(rng, 2, 4, 3);
        var backward = new SimpleRNN(3, goBackwards: true, returnSequences: true, name: "my_backward");
        var layer = new Bidirectional(new GRU(2, returnSequences: true), backwardLayer: backward);
        Assert.Same(backward, layer.Backward);
        layer.Build(new Shape(null, null, 3));
        Assert.Equal(6, layer.Weights.Count);
        layer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
        var y = layer.Apply(T.ToTensor(x));
        Assert.Equal(new long[] { 2, 4, 5 }, y.shape);
        T.Close(RnnReference.Run(CellKind.GruResetAfter, wf, x).Outputs, y.narrow(2, 0, 2), Tol);
        T.Close(RnnReference.ReverseTime(RnnReference.Run(CellKind.SimpleRnn, wb, x, goBackwards: true).Outputs), y.narrow(2, 2, 3), Tol);
    }

    [Fact]
    public void WeightsOrderAndNames()
    {
        var layer = new Bidirectional(new LSTM(2, name: "lstm"), name: "bidirectional");
        Assert.Equal("forward_lstm", layer.Forward.Name);
        Assert.Equal("backward_lstm", layer.Backward.Name);
        Assert.False(layer.Forward.GoBackwards);
        Assert.True(layer.Backward.GoBackwards);
        layer.Build(new Shape(null, null, 3));
        Assert.Equal(6, layer.Weights.Count);
        Assert.Equal(["kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"], layer.Weights.Select(v => v.Name));
        Assert.Same(layer.Forward.Weights[0], layer.Weights[0]);
        Assert.Same(layer.Backward.Weights[0], layer.Weights[3]);
        Assert.Contains("forward_lstm", layer.Weights[0].Path);
        Assert.Contains("backward_lstm", layer.Weights[3].Path);
        // The two directions start from different random weights (fresh copies, not shared).
        Assert.NotEqual(T.Values(layer.Weights[0].Value), T.Values(layer.Weights[3].Value));

        // Keras strips an existing prefix instead of doubling it.
        var prefixed = new Bidirectional(new GRU(2, name: "forward_gru"));
        Assert.Equal("forward_gru", prefixed.Forward.Name);
        Assert.Equal("backward_forward_gru", prefixed.Backward.Name);
    }

    [Fact]
    public void CopiesKeepConfiguration()
    {
        var layer = new Bidirectional(new LSTM(3, returnSequences: true, useCudnn: false, dropout: 0.25, unitForgetBias: false));
        var f = (LSTM)layer.Forward;
        var b = (LSTM)layer.Backward;
        Assert.Equal(3, f.Units);
        Assert.Equal(3, b.Units);
        Assert.False(f.UseCudnn);
        Assert.False(b.UseCudnn);
        Assert.Equal(0.25, b.Cell.DropoutRate);
        Assert.False(b.Cell.UnitForgetBias);
        Assert.True(b.ReturnSequences);
        // Keras forces zero_output_for_mask = return_sequences on both halves.
        Assert.True(f.ZeroOutputForMask);
        Assert.True(b.ZeroOutputForMask);
        Assert.False(new Bidirectional(new LSTM(3)).Forward.ZeroOutputForMask);
    }

    [Fact]
    public void ArgumentErrors()
    {
        var bad = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), mergeMode: "max"));
        Assert.Contains("max", bad.Message);
        var same = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2)));
        Assert.Contains("go_backwards", same.Message);
        Assert.Throws<ArgumentException>(() =>
            new Bidirectional(new LSTM(2, returnSequences: true), backwardLayer: new LSTM(2, goBackwards: true)));
        var odd = new Bidirectional(new LSTM(2), name: "bidi_states");
        var ex = Assert.Throws<KerasLayerException>(() => odd.ApplyAll([torch.ones(2, 3, 4)], initialState: [torch.zeros(2, 2)]));
        Assert.Contains("bidi_states", ex.Message);
    }
}
