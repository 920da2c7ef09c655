using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Gradients. (1) The fused kernels and the step loop give the same outputs, states and autograd gradients
/// (weights, inputs, initial states), including packed right-padded masks and goBackwards. (2) Autograd gradients of
/// our layers equal central finite differences of the double-precision reference.
/// </summary>
public class GradientTests
{
    /// <summary>Autograd of L = Σ out·R + Σ_s state_s·R_s for a layer returning sequences and states.</summary>
    private sealed record Grads(double[][] Weights, double[] Input, double[][] States, Tensor[] Forward);

    private static Grads Autograd(Func<Tensor, IReadOnlyList<Tensor>?, IReadOnlyList<Tensor>> run, Layer layer, double[,,] x,
        double[][,]? init, double[,,] rOut, double[][,] rStates, bool returnSequences)
    {
        foreach (var v in layer.Weights) v.Value.grad?.zero_();
        var xt = T.ToTensor(x).requires_grad_(true);
        var it = init?.Select(a => T.ToTensor(a).requires_grad_(true)).ToList();
        var r = run(xt, it);
        var rOutT = T.ToTensor(rOut);
        if (!returnSequences) rOutT = rOutT.select(1, rOut.GetLength(1) - 1);
        var loss = r[0].mul(rOutT).sum();
        for (int s = 0; s < rStates.Length; s++) loss = loss.add(r[1 + s].mul(T.ToTensor(rStates[s])).sum());
        loss.backward();
        return new Grads(
            layer.Weights.Select(v => T.Values(v.Value.grad!)).ToArray(),
            T.Values(xt.grad!),
            it?.Select(t => T.Values(t.grad!)).ToArray() ?? [],
            r.Select(t => t.detach()).ToArray());
    }

    /// <summary>Every weight's, the input's and the initial states' autograd gradient against central finite differences of the reference's <paramref name="loss"/>.</summary>
    private static void AssertFiniteDifferences(Grads grads, Layer layer, RefWeights w, double[,,] x, double[][,] init, Func<double> loss)
    {
        double[] finiteDifferences(Array a) => RnnReference.FiniteDifferences(a, loss);
        const double atol = 2e-5, rtol = 1e-3;
        var weightArrays = w.ToKerasList();
        for (int i = 0; i < weightArrays.Length; i++)
            T.Close(finiteDifferences(weightArrays[i]), grads.Weights[i], atol, rtol, $"dL/d{layer.Weights[i].Name}");
        T.Close(finiteDifferences(x), grads.Input, atol, rtol, "dL/dx");
        for (int s = 0; s < init.Length; s++) T.Close(finiteDifferences(init[s]), grads.States[s], atol, rtol, $"dL/dinitial_state{s}");
    }

    public static IEnumerable<object[]> FusedCases()
    {
        foreach (var kind in new[] { CellKind.Lstm, CellKind.GruResetAfter, CellKind.SimpleRnn })
            foreach (var variant in new[] { "plain", "packed_mask", "go_backwards", "last_only", "initial_state", "no_bias" })
                yield return [kind, variant];
    }

    [Theory]
    [MemberData(nameof(FusedCases))]
    public void FusedKernelEqualsStepLoop(CellKind kind, string variant)
    {
        var rng = new Random(variant.Length * 13 + (int)kind);
        const int batch = 4, steps = 5, features = 3, units = 3;
        bool useBias = variant != "no_bias";
        bool goBackwards = variant == "go_backwards";
        bool returnSequences = variant != "last_only";
        var w = RnnReference.RandomWeights(rng, kind, features, units, useBias);
        var x = T.Rand(rng, batch, steps, features);
        bool[,]? mask = variant == "packed_mask"
            ? new[,] { { true, true, true, true, true }, { true, true, false, false, false }, { true, false, false, false, false }, { true, true, true, true, false } }
            : null;
        var init = variant == "initial_state"
            ? Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray()
            : null;
        var rOut = T.Rand(rng, batch, steps, units);
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();

        // Fused: LSTM/GRU with useCudnn: true (throws if the fused kernel cannot run); SimpleRNN through Apply (fused
        // for tanh) compared with the same layer's internal StepLoop.
        var fusedLayer = RnnFactory.Make(kind, units, useBias, returnSequences, returnState: true, goBackwards: goBackwards, fused: true)
            .WithWeights(features, w);
        var loopLayer = RnnFactory.Make(kind, units, useBias, returnSequences, returnState: true, goBackwards: goBackwards, fused: false)
            .WithWeights(features, w);
        var maskT = mask is null ? null : T.Mask(mask);
        var fused = Autograd((xt, it) => fusedLayer.ApplyAll([xt], initialState: it, masks: [maskT]), fusedLayer, x, init, rOut, rStates, returnSequences);
        var loop = Autograd((xt, it) =>
        {
            var initial = it ?? loopLayer.Cell.GetInitialState(batch, xt.device);
            var (last, outputs, states) = loopLayer.StepLoop(xt, initial, maskT, training: false);
            return [returnSequences ? outputs : last, .. states];
        }, loopLayer, x, init, rOut, rStates, returnSequences);

        const double tol = 2e-5;
        for (int i = 0; i < fused.Forward.Length; i++) T.Same(loop.Forward[i], fused.Forward[i], tol, what: $"forward output {i}");
        for (int i = 0; i < fused.Weights.Length; i++) T.Close(loop.Weights[i], fused.Weights[i], tol, what: $"grad weight {i}");
        T.Close(loop.Input, fused.Input, tol, what: "grad input");
        for (int i = 0; i < fused.States.Length; i++) T.Close(loop.States[i], fused.States[i], tol, what: $"grad initial state {i}");

        // And the loop itself matches the reference forward.
        var (seq, states) = RnnReference.Run(kind, w, x, mask, goBackwards, init);
        T.Close(returnSequences ? seq : RnnReference.Last(seq), fused.Forward[0], 1e-5, what: "reference outputs");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], fused.Forward[1 + s], 1e-5, what: $"reference state {s}");
    }

    public static IEnumerable<object[]> FiniteDifferenceCases()
    {
        foreach (var kind in RnnFactory.Kinds)
            foreach (var fused in new[] { true, false })
                foreach (var masked in new[] { false, true })
                    if (!(kind == CellKind.GruResetBefore && fused))
                        yield return [kind, fused, masked];
    }

    [Theory]
    [MemberData(nameof(FiniteDifferenceCases))]
    public void AutogradMatchesFiniteDifferencesOfReference(CellKind kind, bool fused, bool masked)
    {
        var rng = new Random(900 + (int)kind * 4 + (fused ? 2 : 0) + (masked ? 1 : 0));
        const int batch = 2, steps = 4, features = 3, units = 2;
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units, 0.5)).ToArray();
        var rOut = T.Rand(rng, batch, steps, units);
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();
        // A right-padded mask (the fused kernel runs packed) or one with gaps (step loop).
        bool[,]? mask = !masked ? null : fused
            ? new[,] { { true, true, true, true }, { true, true, false, false } }
            : new[,] { { true, false, true, true }, { false, true, true, false } };

        double Loss() => RnnReference.WeightedSum(RnnReference.Run(kind, w, x, mask, initialStates: init), rOut, rStates);

        var layer = RnnFactory.Make(kind, units, returnSequences: true, returnState: true, fused: fused).WithWeights(features, w);
        var maskT = mask is null ? null : T.Mask(mask);
        var grads = Autograd((xt, it) => layer.ApplyAll([xt], initialState: it, masks: [maskT]), layer, x, init, rOut, rStates, true);

        AssertFiniteDifferences(grads, layer, w, x, init, Loss);
    }

    public static IEnumerable<object[]> RecurrentDropoutCases() =>
        from kind in new[] { CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore, CellKind.SimpleRnn }
        from masked in new[] { false, true }
        from stepLoop in new[] { false, true }
        select new object[] { kind, masked, stepLoop };

    [Theory]
    [MemberData(nameof(RecurrentDropoutCases))]
    public void RecurrentDropoutMatchesReferenceWithOneMaskPerGate(CellKind kind, bool masked, bool stepLoop)
    {
        // LSTM and GRU (both forms) apply the masks inside our kernels by default; stepLoop forces the step loop
        // (useCudnn: false); SimpleRNN always takes the step loop under recurrent dropout.
        // Keras' implementation 1 under recurrent dropout: gate block g's recurrent product is (h ⊙ m_g)·U_g, with G masks
        // (LSTM 4, GRU 3, SimpleRNN 1) drawn once per sequence, in gate order, as dropout of ones (0 or 1/(1 − rate)).
        // The masks are recovered by drawing them again from the same torch seed; outputs, states and the gradients of
        // every weight, the input and the initial states are checked against the double-precision reference with those
        // masks (central finite differences for the gradients).
        var rng = new Random(1300 + (int)kind * 2 + (masked ? 1 : 0));
        const int batch = 3, steps = 4, features = 3, units = 4;
        const double rate = 0.5;
        int gates = RnnReference.Gates(kind);
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units, 0.5)).ToArray();
        var rOut = T.Rand(rng, batch, steps, units);
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();
        bool[,]? mask = masked ? new[,] { { true, false, true, true }, { false, true, true, false }, { true, true, true, true } } : null;

        const long seed = 4242;
        var recurrentMasks = RnnReference.DrawRecurrentMasks(seed, gates, batch, units, rate);
        var all = recurrentMasks.SelectMany(m => T.Flat(m).ToArray()).ToArray();
        Assert.Contains(0.0, all);
        Assert.Contains(2.0, all);

        double Loss() => RnnReference.WeightedSum(RnnReference.Run(kind, w, x, mask, initialStates: init, recurrentMasks: recurrentMasks), rOut, rStates);

        var layer = RnnFactory.Make(kind, units, returnSequences: true, returnState: true, recurrentDropout: rate, fused: stepLoop ? false : null)
            .WithWeights(features, w);
        var maskT = mask is null ? null : T.Mask(mask);
        torch.manual_seed(seed);
        long before = RecurrentKernels.Invocations;
        var grads = Autograd((xt, it) => layer.ApplyAll([xt], initialState: it, masks: [maskT], training: true), layer, x, init, rOut, rStates, true);
        bool kernel = !stepLoop && kind is CellKind.Lstm or CellKind.GruResetAfter or CellKind.GruResetBefore;
        Assert.Equal(before + (kernel ? 1 : 0), RecurrentKernels.Invocations);

        var expected = RnnReference.Run(kind, w, x, mask, initialStates: init, recurrentMasks: recurrentMasks);
        T.Close(expected.Outputs, grads.Forward[0], 1e-5, what: "outputs");
        for (int s = 0; s < init.Length; s++) T.Close(expected.States[s], grads.Forward[1 + s], 1e-5, what: $"state {s}");
        AssertFiniteDifferences(grads, layer, w, x, init, Loss);
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.GruResetAfter)]
    public void BidirectionalWithPaddedMaskFusedEqualsLoop(CellKind kind)
    {
        // Bidirectional returning sequences sets zero_output_for_mask: the forward half runs packed and leaves zeros at
        // padded steps. Same outputs and gradients as the step loop, and as the reference.
        var rng = new Random(60 + (int)kind);
        const int batch = 3, steps = 5, features = 2, units = 3;
        var wf = RnnReference.RandomWeights(rng, kind, features, units);
        var wb = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var mask = new[,] { { true, true, true, true, true }, { true, true, true, false, false }, { true, false, false, false, false } };
        var rOut = T.Rand(rng, batch, steps, 2 * units);
        (Tensor Y, double[][] Grads, double[] XGrad) Run(bool? fused)
        {
            var layer = new Bidirectional(RnnFactory.Make(kind, units, returnSequences: true, fused: fused));
            layer.Build(new Shape(null, null, features));
            layer.SetWeights([.. wf.ToKerasList(), .. wb.ToKerasList()]);
            var xt = T.ToTensor(x).requires_grad_(true);
            var y = layer.Apply(xt, T.Mask(mask));
            y.mul(T.ToTensor(rOut)).sum().backward();
            return (y.detach(), layer.Weights.Select(v => T.Values(v.Value.grad!)).ToArray(), T.Values(xt.grad!));
        }
        var fusedRun = Run(null);
        var loopRun = Run(false);
        T.Same(loopRun.Y, fusedRun.Y, 2e-5, "outputs");
        for (int i = 0; i < fusedRun.Grads.Length; i++) T.Close(loopRun.Grads[i], fusedRun.Grads[i], 2e-5, what: $"grad weight {i}");
        T.Close(loopRun.XGrad, fusedRun.XGrad, 2e-5, what: "grad input");
        var f = RnnReference.Run(kind, wf, x, mask, zeroOutputForMask: true).Outputs;
        T.Close(f, fusedRun.Y.narrow(2, 0, units), 1e-5, what: "forward half vs reference");
    }
}
