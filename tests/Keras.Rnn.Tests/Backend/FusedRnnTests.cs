using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

public class FusedRnnTests
{
    /// <summary>
    /// The parameter list handed to cuDNN lies in one buffer, in order and without gaps (cuDNN's weight layout: a
    /// parameter starts where the previous one ends), keeps each parameter's shape and values, and passes gradients
    /// back to the Keras-layout weights it was made from.
    /// </summary>
    [Fact]
    public void ParametersInOneBufferAreOrderedGaplessViewsThatPassGradients()
    {
        var kernel = torch.randn(5, 8).requires_grad_(true);          // Keras (in, 4u), u = 2
        var recurrent = torch.randn(2, 8).requires_grad_(true);       // Keras (u, 4u)
        var bias = torch.randn(8).requires_grad_(true);
        var parts = new[] { kernel.t(), recurrent.t(), bias, torch.zeros(8) };
        var views = FusedRnn.InOneBuffer(parts);

        long offset = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            Assert.Equal(parts[i].shape, views[i].shape);
            Assert.True(views[i].is_contiguous());
            Assert.Equal(offset, views[i].storage_offset());
            Assert.True(views[i].allclose(parts[i].detach(), 0, 0));
            offset += parts[i].numel();
        }
        // A weighted sum of the views (weight i + 1 for parameter i) gives each source that weight as its gradient, in
        // Keras' layout.
        var weights = views.Select((v, i) => torch.full_like(v, i + 1)).ToArray();
        var loss = views.Zip(weights, (v, w) => v.mul(w).sum()).Aggregate((a, b) => a.add(b));
        loss.backward();
        Assert.True(kernel.grad!.allclose(torch.full(5, 8, 1f), 0, 0));
        Assert.True(recurrent.grad!.allclose(torch.full(2, 8, 2f), 0, 0));
        Assert.True(bias.grad!.allclose(torch.full(8, 3f), 0, 0));
    }
}

/// <summary>
/// Where torch's fused kernels run the layers (GPU; here <see cref="RecurrentKernelMode.Aten"/> on CPU), a
/// Bidirectional layer runs both directions in one fused call. Its outputs, final states and gradients equal those of
/// the two separate directions computed by our kernels (each tested against Keras elsewhere), for every cell torch
/// fuses, with no mask and with right-padded masks, sequences or last outputs, with and without states.
/// </summary>
public class BidirectionalFusedCallTests : IDisposable
{
    private readonly RecurrentKernelMode _savedMode = RecurrentKernels.Mode;

    public void Dispose()
    {
        RecurrentKernels.Mode = _savedMode;
        GC.SuppressFinalize(this);
    }

    public static IEnumerable<object[]> Cases() =>
        from cell in new[] { "lstm", "gru", "tanh", "relu" }
        from masked in new[] { false, true }
        from sequences in new[] { false, true }
        select new object[] { cell, masked, sequences };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneFusedCallEqualsTheTwoDirections(string cell, bool masked, bool sequences)
    {
        var rng = new Random(cell.Length * 31 + (masked ? 7 : 0) + (sequences ? 3 : 0));
        const int batch = 5, steps = 6, features = 3, units = 4;
        RNN Make() => cell switch
        {
            "lstm" => new LSTM(units, returnSequences: sequences, returnState: true),
            "gru" => new GRU(units, returnSequences: sequences, returnState: true),
            _ => new SimpleRNN(units, activation: cell, returnSequences: sequences, returnState: true),
        };
        KerasApi.SetRandomSeed(rng.Next());
        var layer = new Bidirectional(Make());
        var x = torch.randn(batch, steps, features, generator: new Generator((ulong)rng.Next()));
        var lengths = new[] { 6, 2, 5, 6, 1 };
        Tensor? mask = null;
        if (masked)
        {
            mask = torch.arange(steps).unsqueeze(0).lt(torch.tensor(lengths).unsqueeze(1));
            x = x.mul(mask.unsqueeze(-1).to_type(ScalarType.Float32));
        }
        int stateCount = cell == "lstm" ? 4 : 2;
        var initial = Enumerable.Range(0, stateCount).Select(_ => torch.randn(batch, units, generator: new Generator((ulong)rng.Next()))).ToArray();

        (double[][] Values, double[][] Grads) Run(RecurrentKernelMode mode, bool withStates)
        {
            RecurrentKernels.Mode = mode;
            var xt = x.detach().requires_grad_(true);
            var states = initial.Select(s => s.detach().requires_grad_(true)).ToArray();
            var (outputs, _) = layer.Invoke([xt], [mask], withStates ? states : null, training: true, null, null);
            var loss = outputs.Select((o, i) => o.mul(torch.linspace(-1, 1, o.numel()).view(o.shape).mul(i + 1)).sum()).Aggregate((a, b) => a.add(b));
            var sources = new List<Tensor> { xt };
            sources.AddRange(layer.TrainableWeights.Select(v => v.Value));
            if (withStates) sources.AddRange(states);
            var grads = torch.autograd.grad([loss], sources, allow_unused: true);
            return (outputs.Select(o => o.detach().to_type(ScalarType.Float64).data<double>().ToArray()).ToArray(),
                grads.Select(g => g.to_type(ScalarType.Float64).data<double>().ToArray()).ToArray());
        }

        foreach (var withStates in new[] { false, true })
        {
            long before = FusedRnn.BidirectionalInvocations;
            var fused = Run(RecurrentKernelMode.Aten, withStates);
            Assert.Equal(before + 1, FusedRnn.BidirectionalInvocations);
            var separate = Run(RecurrentKernelMode.Custom, withStates);
            Assert.Equal(before + 1, FusedRnn.BidirectionalInvocations);
            Assert.Equal(separate.Values.Length, fused.Values.Length);
            for (int i = 0; i < fused.Values.Length; i++) AssertClose(separate.Values[i], fused.Values[i], $"output {i}");
            for (int i = 0; i < fused.Grads.Length; i++) AssertClose(separate.Grads[i], fused.Grads[i], $"gradient {i}");
        }
    }

    [Fact]
    public void GapsAndResetBeforeKeepTheTwoCalls()
    {
        RecurrentKernels.Mode = RecurrentKernelMode.Aten;
        var x = torch.randn(2, 4, 3);
        var gaps = torch.tensor(new[,] { { true, false, true, true }, { true, true, true, true } });
        long before = FusedRnn.BidirectionalInvocations;
        new Bidirectional(new LSTM(2)).Invoke([x], [gaps], null, false, null, null);
        new Bidirectional(new GRU(2, resetAfter: false)).Invoke([x], null, null, false, null, null);
        new Bidirectional(new LSTM(2, dropout: 0.5)).Invoke([x], null, null, true, null, null);
        Assert.Equal(before, FusedRnn.BidirectionalInvocations);
        new Bidirectional(new LSTM(2, dropout: 0.5)).Invoke([x], null, null, false, null, null);  // no dropout at inference
        Assert.Equal(before + 1, FusedRnn.BidirectionalInvocations);
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i]),
                $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
