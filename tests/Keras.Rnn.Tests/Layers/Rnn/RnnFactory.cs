using Keras.Rnn.Activations;
using Keras.Rnn.Layers;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>Creates the layer under test for a <see cref="CellKind"/> and sets reference weights on it.</summary>
internal static class RnnFactory
{
    /// <summary>
    /// The built-in layer for <paramref name="kind"/>. <paramref name="fused"/>: null = library default (fused when
    /// allowed), true = fused kernel required (useCudnn: true; SimpleRNN: default), false = step loop
    /// (useCudnn: false; SimpleRNN: unroll: true, which disables its fused kernel).
    /// </summary>
    public static RNN Make(CellKind kind, int units, bool useBias = true, bool returnSequences = false, bool returnState = false,
        bool goBackwards = false, bool stateful = false, bool? fused = null, ActivationFunction? activation = null,
        ActivationFunction? recurrentActivation = null, double dropout = 0, double recurrentDropout = 0, string? name = null)
    {
        bool? useCudnn = fused;
        return kind switch
        {
            CellKind.SimpleRnn => new SimpleRNN(units, activation, useBias, dropout: dropout, recurrentDropout: recurrentDropout,
                returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful,
                unroll: fused == false, name: name),
            CellKind.Lstm => new LSTM(units, activation, recurrentActivation, useBias, dropout: dropout, recurrentDropout: recurrentDropout,
                returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful, useCudnn: useCudnn,
                name: name),
            CellKind.GruResetAfter or CellKind.GruResetBefore => new GRU(units, activation, recurrentActivation, useBias,
                dropout: dropout, recurrentDropout: recurrentDropout, resetAfter: kind == CellKind.GruResetAfter,
                returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards, stateful: stateful,
                useCudnn: kind == CellKind.GruResetBefore && fused == true ? null : useCudnn, name: name),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>Builds <paramref name="layer"/> for <paramref name="inputDim"/> features and sets <paramref name="w"/>.</summary>
    public static T WithWeights<T>(this T layer, int inputDim, RefWeights w, int? batch = null) where T : Layer
    {
        layer.Build(new Shape(batch, null, inputDim));
        layer.SetWeights(w.ToKerasList());
        return layer;
    }

    public static IEnumerable<CellKind> Kinds => [CellKind.SimpleRnn, CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore];
}
