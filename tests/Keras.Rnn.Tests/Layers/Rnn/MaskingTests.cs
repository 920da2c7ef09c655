using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Keras' masking rules (backend rnn loop): at a masked step the states are held and the output repeats the previous
/// output (zeros before the first real step); masked steps anywhere; goBackwards reads the mask backwards too;
/// Bidirectional outputs zeros at masked steps when returning sequences; masks flow from Embedding(maskZero) and
/// Masking and through layers that return sequences. All checked against the double-precision reference.
/// </summary>
public class MaskingTests
{
    private const double Tol = 1e-5;

    /// <summary>Masks of every shape Keras allows, 4 rows × 6 steps.</summary>
    public static readonly Dictionary<string, bool[,]> Masks = new()
    {
        ["right_padded"] = new[,]
        {
            { true, true, true, true, true, true }, { true, true, true, false, false, false },
            { true, false, false, false, false, false }, { true, true, true, true, true, false },
        },
        ["gaps"] = new[,]
        {
            { true, false, true, false, true, true }, { true, true, false, false, true, false },
            { true, true, true, true, true, true }, { false, true, true, false, true, true },
        },
        ["left_padded"] = new[,]
        {
            { false, false, true, true, true, true }, { false, false, false, false, false, true },
            { true, true, true, true, true, true }, { false, true, true, true, true, true },
        },
        ["fully_masked_row"] = new[,]
        {
            { true, true, true, false, false, false }, { false, false, false, false, false, false },
            { true, true, true, true, true, true }, { false, true, false, true, false, false },
        },
        ["all_true"] = new[,]
        {
            { true, true, true, true, true, true }, { true, true, true, true, true, true },
            { true, true, true, true, true, true }, { true, true, true, true, true, true },
        },
    };

    public static IEnumerable<object[]> Cases()
    {
        foreach (var kind in RnnFactory.Kinds)
            foreach (var mask in Masks.Keys)
                foreach (var goBackwards in new[] { false, true })
                    foreach (var fused in new bool?[] { null, false })
                        yield return [kind, mask, goBackwards, fused!];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MaskedSequencesMatchReference(CellKind kind, string maskName, bool goBackwards, bool? fused)
    {
        var mask = Masks[maskName];
        var rng = new Random(maskName.Length * 31 + (int)kind * 7 + (goBackwards ? 3 : 0));
        const int features = 3, units = 2;
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, 4, 6, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, 4, units)).ToArray();

        var layer = RnnFactory.Make(kind, units, returnSequences: true, returnState: true, goBackwards: goBackwards, fused: fused)
            .WithWeights(features, w);
        var r = layer.ApplyAll([T.ToTensor(x)], initialState: init.Select(a => T.ToTensor(a)).ToList(), masks: [T.Mask(mask)]);
        var (seq, states) = RnnReference.Run(kind, w, x, mask, goBackwards, init);
        T.Close(seq, r[0], Tol, what: "outputs");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], r[1 + s], Tol, what: $"state {s}");

        var last = RnnFactory.Make(kind, units, goBackwards: goBackwards, fused: fused).WithWeights(features, w);
        T.Close(RnnReference.Last(RnnReference.Run(kind, w, x, mask, goBackwards).Outputs), last.Apply(T.ToTensor(x), T.Mask(mask)), Tol,
            what: "last output");
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.GruResetAfter)]
    [InlineData(CellKind.SimpleRnn)]
    public void ZeroOutputForMask(CellKind kind)
    {
        var mask = Masks["gaps"];
        var rng = new Random(404);
        var w = RnnReference.RandomWeights(rng, kind, 3, 2);
        var x = T.Rand(rng, 4, 6, 3);
        AbstractRNNCell cell = kind switch
        {
            CellKind.Lstm => new LSTMCell(2),
            CellKind.SimpleRnn => new SimpleRNNCell(2),
            _ => new GRUCell(2),
        };
        var layer = new RNN(cell, returnSequences: true, zeroOutputForMask: true).WithWeights(3, w);
        T.Close(RnnReference.Run(kind, w, x, mask, zeroOutputForMask: true).Outputs, layer.Apply(T.ToTensor(x), T.Mask(mask)), Tol);
    }

    [Fact]
    public void FullyMaskedRowKeepsInitialStateAndOutputsZeros()
    {
        var rng = new Random(1);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 3);
        var x = T.ToTensor(T.Rand(rng, 2, 4, 2));
        var mask = T.Mask(new[,] { { true, true, false, false }, { false, false, false, false } });
        var h0 = torch.rand(2, 3);
        var c0 = torch.rand(2, 3);
        var r = new LSTM(3, returnSequences: true, returnState: true).WithWeights(2, w).ApplyAll([x], initialState: [h0, c0], masks: [mask]);
        Assert.True(r[0][1].abs().max().item<float>() == 0f, "outputs of a fully masked row are zeros");
        T.Same(h0[1], r[1][1], 0);
        T.Same(c0[1], r[2][1], 0);
    }

    [Fact]
    public void EmbeddingMaskZeroFeedsLstm()
    {
        // Embedding(mask_zero=True): mask = ids != 0, with padding anywhere (here left, right and inside).
        var rng = new Random(2);
        var ids = new long[,] { { 0, 0, 3, 1, 4 }, { 2, 5, 0, 0, 0 }, { 1, 0, 2, 0, 3 } };
        var embedding = new Embedding(6, 3, maskZero: true);
        embedding.Build(new Shape(null, null));
        var table = T.Rand(rng, 6, 3);
        embedding.SetWeights([table]);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var lstm = new LSTM(2, returnSequences: true).WithWeights(3, w);

        var idsTensor = torch.tensor(ids.Cast<long>().ToArray(), [3, 5]);
        var e = embedding.Apply(idsTensor);
        Assert.NotNull(Layer.GetMask(e));
        var y = lstm.Apply(e);

        var x = new double[3, 5, 3];
        var mask = new bool[3, 5];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 5; t++)
            {
                mask[b, t] = ids[b, t] != 0;
                for (int k = 0; k < 3; k++) x[b, t, k] = table[ids[b, t], k];
            }
        T.Close(RnnReference.Run(CellKind.Lstm, w, x, mask).Outputs, y, Tol);
        // The LSTM returns sequences, so its output carries the same mask on.
        T.Same(T.Mask(mask).to_type(ScalarType.Float32), Layer.GetMask(y)!.to_type(ScalarType.Float32), 0);
    }

    [Fact]
    public void MaskingLayerFeedsGru()
    {
        // Masking(mask_value): a step is masked when all its features equal mask_value.
        var rng = new Random(3);
        var x = T.Rand(rng, 2, 5, 3);
        var mask = new[,] { { true, true, false, true, false }, { false, true, true, true, true } };
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 5; t++)
                if (!mask[b, t])
                    for (int k = 0; k < 3; k++) x[b, t, k] = -1;
        x[0, 0, 1] = -1; // one feature equal to mask_value does not mask the step
        var w = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 3, 2);
        var masking = new Masking(-1.0);
        var gru = new GRU(2, returnSequences: true, returnState: true).WithWeights(3, w);
        var masked = masking.Apply(T.ToTensor(x));
        var r = gru.ApplyAll([masked]);
        var (seq, states) = RnnReference.Run(CellKind.GruResetAfter, w, x, mask);
        T.Close(seq, r[0], Tol);
        T.Close(states[0], r[1], Tol);
    }

    [Fact]
    public void MaskPropagatesThroughReturnSequencesOnly()
    {
        // Functional: Embedding(mask_zero) → LSTM(return_sequences) → LSTM. The second LSTM sees the mask.
        var rng = new Random(4);
        var ids = new long[,] { { 3, 1, 0, 0 }, { 0, 2, 2, 1 } };
        var table = T.Rand(rng, 4, 3);
        var w1 = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var w2 = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 2);

        var inputs = KerasApi.Input(shape: [null], dtype: "int64");
        var embedding = new Embedding(4, 3, maskZero: true);
        var lstm1 = new LSTM(2, returnSequences: true);
        var lstm2 = new LSTM(2);
        var output = lstm2.Apply(lstm1.Apply(embedding.Apply(inputs)));
        var model = new Model(inputs, output);
        embedding.SetWeights([table]);
        lstm1.SetWeights(w1.ToKerasList());
        lstm2.SetWeights(w2.ToKerasList());

        var x = new double[2, 4, 3];
        var mask = new bool[2, 4];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 4; t++)
            {
                mask[b, t] = ids[b, t] != 0;
                for (int k = 0; k < 3; k++) x[b, t, k] = table[ids[b, t], k];
            }
        var y = model.ApplyAll([torch.tensor(ids.Cast<long>().ToArray(), [2, 4])])[0];
        var (s1, _) = RnnReference.Run(CellKind.Lstm, w1, x, mask);
        var (s2, _) = RnnReference.Run(CellKind.Lstm, w2, s1, mask);
        T.Close(RnnReference.Last(s2), y, Tol, what: "masked stack");

        // Eager: an LSTM without return_sequences produces no mask; one with return_sequences passes it on.
        var e = embedding.Apply(torch.tensor(ids.Cast<long>().ToArray(), [2, 4]));
        Assert.Null(Layer.GetMask(new LSTM(2).Apply(e)));
        Assert.NotNull(Layer.GetMask(new LSTM(2, returnSequences: true).Apply(e)));
    }

    [Fact]
    public void MaskStopsAtLayerReturningLastStep()
    {
        // Embedding(mask_zero) → LSTM (last step) → RepeatVector → LSTM(return_sequences): the decoder sees no mask.
        var rng = new Random(6);
        var ids = new long[,] { { 1, 2, 0 }, { 3, 0, 0 } };
        var table = T.Rand(rng, 4, 2);
        var w1 = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 2);
        var w2 = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 2);
        var inputs = KerasApi.Input(shape: [3], dtype: "int64");
        var embedding = new Embedding(4, 2, maskZero: true);
        var encoder = new LSTM(2);
        var decoder = new GRU(2, returnSequences: true);
        var model = new Model(inputs, decoder.Apply(new RepeatVector(3).Apply(encoder.Apply(embedding.Apply(inputs)))));
        embedding.SetWeights([table]);
        encoder.SetWeights(w1.ToKerasList());
        decoder.SetWeights(w2.ToKerasList());

        var x = new double[2, 3, 2];
        var mask = new bool[2, 3];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 3; t++)
            {
                mask[b, t] = ids[b, t] != 0;
                for (int k = 0; k < 2; k++) x[b, t, k] = table[ids[b, t], k];
            }
        var encoded = RnnReference.Last(RnnReference.Run(CellKind.Lstm, w1, x, mask).Outputs);
        var repeated = new double[2, 3, 2];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 3; t++)
                for (int k = 0; k < 2; k++) repeated[b, t, k] = encoded[b, k];
        var expected = RnnReference.Run(CellKind.GruResetAfter, w2, repeated).Outputs; // no mask
        T.Close(expected, model.ApplyAll([torch.tensor(ids.Cast<long>().ToArray(), [2, 3])])[0], Tol);
    }

    [Theory]
    [InlineData("gaps")]
    [InlineData("right_padded")]
    [InlineData("left_padded")]
    public void BidirectionalZerosMaskedStepsWhenReturningSequences(string maskName)
    {
        var mask = Masks[maskName];
        var rng = new Random(maskName.Length);
        var wf = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var wb = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var x = T.Rand(rng, 4, 6, 3);
        var layer = new Bidirectional(new LSTM(2, returnSequences: true), mergeMode: null);
        layer.Build(new Shape(null, null, 3));
        layer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
        var r = layer.ApplyAll([T.ToTensor(x)], masks: [T.Mask(mask)]);
        var forward = RnnReference.Run(CellKind.Lstm, wf, x, mask, zeroOutputForMask: true).Outputs;
        var backward = RnnReference.ReverseTime(RnnReference.Run(CellKind.Lstm, wb, x, mask, goBackwards: true, zeroOutputForMask: true).Outputs);
        T.Close(forward, r[0], Tol, what: "forward");
        T.Close(backward, r[1], Tol, what: "backward");
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 6; t++)
                if (!mask[b, t])
                {
                    Assert.Equal(0f, r[0][b, t].abs().max().item<float>());
                    Assert.Equal(0f, r[1][b, t].abs().max().item<float>());
                }
        // The mask flows on to both outputs.
        Assert.NotNull(Layer.GetMask(r[0]));
        Assert.NotNull(Layer.GetMask(r[1]));

        // Without return_sequences the masked steps are skipped as in a plain RNN (states held).
        var lastLayer = new Bidirectional(new LSTM(2));
        lastLayer.Build(new Shape(null, null, 3));
        lastLayer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
        var y = lastLayer.Apply(T.ToTensor(x), T.Mask(mask));
        var f = RnnReference.Last(RnnReference.Run(CellKind.Lstm, wf, x, mask).Outputs);
        var bw = RnnReference.Last(RnnReference.Run(CellKind.Lstm, wb, x, mask, goBackwards: true).Outputs);
        T.Close(f, y.narrow(1, 0, 2), Tol);
        T.Close(bw, y.narrow(1, 2, 2), Tol);
    }

    [Fact]
    public void TimeDistributedPassesMaskOn()
    {
        // Keras 3.15: TimeDistributed propagates the mask of its input.
        var ids = torch.tensor(new long[] { 1, 2, 0, 3, 0, 0 }, [2, 3]);
        var e = new Embedding(4, 2, maskZero: true).Apply(ids);
        var y = new TimeDistributed(new Dense(3)).Apply(e);
        var m = Layer.GetMask(y);
        Assert.NotNull(m);
        T.Same(ids.ne(0).to_type(ScalarType.Float32), m!.to_type(ScalarType.Float32), 0);
    }

    [Fact]
    public void WrongMaskShapeIsAnError()
    {
        var layer = new LSTM(2, name: "mask_shape_lstm");
        var ex = Assert.Throws<KerasLayerException>(() => layer.Apply(torch.ones(2, 4, 3), torch.ones(2, 5, ScalarType.Bool)));
        Assert.Contains("mask_shape_lstm", ex.Message);
        Assert.Contains("(2, 4)", ex.Message);
    }
}
