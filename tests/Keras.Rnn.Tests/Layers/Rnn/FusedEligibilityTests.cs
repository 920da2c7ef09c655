using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Which configurations run the fused kernel: useCudnn=true demands it and raises (naming the layer) when the
/// configuration needs the step loop; the numbers of both paths are compared in <see cref="GradientTests"/>.
/// </summary>
public class FusedEligibilityTests
{
    private static readonly Tensor X = torch.rand(3, 4, 2);
    private static readonly Tensor RightPadded = T.Mask(new[,] { { true, true, true, true }, { true, true, false, false }, { true, false, false, false } });
    private static readonly Tensor Gaps = T.Mask(new[,] { { true, false, true, true }, { true, true, true, true }, { true, true, true, true } });

    [Fact]
    public void EligibleConfigurationsRunFused()
    {
        // String identifiers resolve to the built-in activations, so they stay eligible.
        new LSTM(2, activation: "tanh", recurrentActivation: "sigmoid", useCudnn: true).Apply(X);
        new GRU(2, useCudnn: true, returnSequences: true).Apply(X, RightPadded);
        new LSTM(2, useCudnn: true, goBackwards: true).Apply(X);
        new LSTM(2, useCudnn: true, dropout: 0.5).Apply(X, training: true);
        new GRU(2, useCudnn: true, useBias: false).Apply(X);
        // All-true masks are no obstacle.
        new LSTM(2, useCudnn: true).Apply(X, torch.ones(3, 4, ScalarType.Bool));
    }

    public static IEnumerable<object[]> Ineligible()
    {
        yield return ["hard_sigmoid gates", (Func<RNN>)(() => new LSTM(2, recurrentActivation: "hard_sigmoid", useCudnn: true)), null!, false];
        yield return ["relu activation", (Func<RNN>)(() => new GRU(2, activation: "relu", useCudnn: true)), null!, false];
        yield return ["reset_after=False", (Func<RNN>)(() => new GRU(2, resetAfter: false, useCudnn: true)), null!, false];
        yield return ["unroll", (Func<RNN>)(() => new LSTM(2, unroll: true, useCudnn: true)), null!, false];
        yield return ["mask with gaps", (Func<RNN>)(() => new LSTM(2, useCudnn: true)), Gaps, false];
        yield return ["right-padded mask backwards", (Func<RNN>)(() => new GRU(2, goBackwards: true, useCudnn: true)), RightPadded, false];
        yield return ["recurrent dropout in training", (Func<RNN>)(() => new LSTM(2, recurrentDropout: 0.3, useCudnn: true)), null!, true];
        yield return ["implementation-1 dropout in training",
            (Func<RNN>)(() => new RNN(new LSTMCell(2, dropout: 0.3, implementation: 1))), null!, true];
    }

    [Theory]
    [MemberData(nameof(Ineligible))]
    public void IneligibleConfigurationsRefuseUseCudnnTrue(string what, Func<RNN> make, Tensor? mask, bool training)
    {
        var layer = make();
        if (layer is LSTM or GRU)
        {
            var ex = Assert.Throws<KerasLayerException>(() => layer.Apply(X, mask, training));
            Assert.Contains(layer.Name, ex.Message);
            Assert.Contains("useCudnn", ex.Message);
        }
        // The same configuration with the default (auto) runs without complaint (our kernel where it covers the
        // configuration, e.g. LSTM recurrent dropout; the step loop otherwise).
        var y = layer is LSTM l ? new LSTM(2, l.Cell.Activation, l.Cell.RecurrentActivation, unroll: l.Unroll, goBackwards: l.GoBackwards,
                recurrentDropout: l.Cell.RecurrentDropoutRate).Apply(X, mask, training)
            : layer is GRU g ? new GRU(2, g.Cell.Activation, g.Cell.RecurrentActivation, resetAfter: g.Cell.ResetAfter, unroll: g.Unroll,
                goBackwards: g.GoBackwards).Apply(X, mask, training)
            : layer.Apply(X, mask, training);
        Assert.False(y.isnan().any().item<bool>(), what);
    }
}
