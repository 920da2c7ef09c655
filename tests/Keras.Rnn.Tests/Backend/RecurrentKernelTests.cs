using Keras.Rnn.Activations;
using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Tests.Layers.Rnn;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

/// <summary>
/// Our whole-sequence recurrent kernels (<see cref="RecurrentKernels"/>): outputs, final states and the gradients of
/// inputs, initial states, kernel, recurrent kernel and bias equal the reference path — the layer's per-step cell loop
/// (<see cref="RNN.StepLoop"/>) — to float32 rounding, for LSTM, GRU (reset_after both ways) and SimpleRNN (tanh, relu),
/// with and without masks (right-padded, gaps, left padding, fully masked rows), go_backwards, initial states, last
/// output only, no bias and zero outputs at masked steps; through Bidirectional and stacked layers; and in double
/// precision the gradients equal central finite differences of the independent double-precision reference.
/// </summary>
public class RecurrentKernelTests : IDisposable
{
    // Under the default mode small LSTMs and inference may run torch's fused kernel first; these tests exercise ours.
    private readonly RecurrentKernelMode _savedMode = RecurrentKernels.Mode;

    public RecurrentKernelTests() => RecurrentKernels.Mode = RecurrentKernelMode.Custom;

    public void Dispose()
    {
        RecurrentKernels.Mode = _savedMode;
        GC.SuppressFinalize(this);
    }

    /// <summary>The cells under test: the reference kind and the activation.</summary>
    public enum Cell { Lstm, GruResetAfter, GruResetBefore, SimpleTanh, SimpleRelu }

    private static CellKind KindOf(Cell c) => c switch
    {
        Cell.Lstm => CellKind.Lstm,
        Cell.GruResetAfter => CellKind.GruResetAfter,
        Cell.GruResetBefore => CellKind.GruResetBefore,
        _ => CellKind.SimpleRnn,
    };

    private static Func<double, double>? ReferenceActivation(Cell c) => c == Cell.SimpleRelu ? v => Math.Max(0, v) : null;

    private static RNN MakeLayer(Cell c, int units, bool useBias, bool returnSequences, bool goBackwards, bool? fused) =>
        RnnFactory.Make(KindOf(c), units, useBias, returnSequences, returnState: true, goBackwards: goBackwards, fused: fused,
            activation: c == Cell.SimpleRelu ? ActivationFunction.Relu : null);

    private static readonly Dictionary<string, bool[,]> Masks = new()
    {
        ["right_padded"] = new[,]
        {
            { true, true, true, true, true }, { true, true, false, false, false }, { true, false, false, false, false }, { true, true, true, true, false },
        },
        ["gaps"] = new[,]
        {
            { true, false, true, true, false }, { true, true, true, true, true }, { false, true, false, true, true }, { true, true, false, false, true },
        },
        ["left_padded_and_empty_row"] = new[,]
        {
            { false, false, true, true, true }, { false, false, false, false, false }, { false, true, true, true, true }, { true, true, true, true, true },
        },
    };

    public static IEnumerable<object[]> Cases()
    {
        var variants = new[]
        {
            "plain", "right_padded", "gaps", "left_padded_and_empty_row", "go_backwards", "go_backwards_gaps", "initial_state",
            "initial_state_gaps", "last_only", "last_only_gaps", "no_bias", "zero_output_gaps",
        };
        // The fused CPU steps (FusedCells): 3 units run one padded partial SIMD block, 11 a full block and a partial one,
        // both with the recurrent products in C# (a small layer); 128 units take libtorch's products.
        foreach (var cell in Enum.GetValues<Cell>())
            foreach (var variant in variants)
                foreach (var units in new[] { 3, 11, 128 })
                    yield return [cell, variant, units];
    }

    /// <summary>Autograd of L = Σ out·R + Σ_s state_s·R_s.</summary>
    private sealed record Run(Tensor[] Forward, double[][] WeightGrads, double[] InputGrad, double[][] StateGrads);

    private static Run Differentiate(Func<Tensor, IReadOnlyList<Tensor>?, IReadOnlyList<Tensor>> run, IReadOnlyList<Variable> weights,
        double[,,] x, double[][,]? init, double[,,] rOut, double[][,] rStates, bool returnSequences)
    {
        foreach (var v in weights) v.Value.grad?.zero_();
        var xt = T.ToTensor(x).requires_grad_(true);
        var it = init?.Select(a => T.ToTensor(a).requires_grad_(true)).ToList();
        var r = run(xt, it);
        var rOutT = T.ToTensor(rOut);
        if (!returnSequences) rOutT = rOutT.select(1, rOut.GetLength(1) - 1);
        var loss = r[0].mul(rOutT).sum();
        for (int s = 0; s < rStates.Length; s++) loss = loss.add(r[1 + s].mul(T.ToTensor(rStates[s])).sum());
        loss.backward();
        return new Run(r.Select(t => t.detach()).ToArray(), weights.Select(v => T.Values(v.Value.grad!)).ToArray(), T.Values(xt.grad!),
            it?.Select(t => T.Values(t.grad!)).ToArray() ?? []);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelEqualsStepLoop(Cell cell, string variant, int units)
    {
        // A stable seed (string.GetHashCode differs between processes): the same data in every run.
        var rng = new Random(variant.Aggregate(17, (h, ch) => h * 31 + ch) & 0xffff ^ (int)cell * 977 ^ units);
        const int batch = 4, steps = 5, features = 3;
        var kind = KindOf(cell);
        bool useBias = variant != "no_bias";
        bool goBackwards = variant.StartsWith("go_backwards", StringComparison.Ordinal);
        bool returnSequences = !variant.StartsWith("last_only", StringComparison.Ordinal);
        bool zeroOutput = variant.StartsWith("zero_output", StringComparison.Ordinal);
        var maskName = Masks.Keys.FirstOrDefault(k => variant.EndsWith(k, StringComparison.Ordinal));
        var mask = maskName is null ? null : Masks[maskName];
        var w = RnnReference.RandomWeights(rng, kind, features, units, useBias);
        var x = T.Rand(rng, batch, steps, features);
        var init = variant.StartsWith("initial_state", StringComparison.Ordinal)
            ? Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray()
            : null;
        var rOut = T.Rand(rng, batch, steps, units);
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();
        var maskT = mask is null ? null : T.Mask(mask);

        var ours = MakeLayer(cell, units, useBias, returnSequences, goBackwards, fused: null).WithWeights(features, w);
        var loop = MakeLayer(cell, units, useBias, returnSequences, goBackwards, fused: false).WithWeights(features, w);
        ours.ZeroOutputForMask = loop.ZeroOutputForMask = zeroOutput;

        long before = RecurrentKernels.Invocations;
        var fast = Differentiate((xt, it) => ours.ApplyAll([xt], initialState: it, masks: [maskT]), ours.Weights, x, init, rOut, rStates, returnSequences);
        Assert.Equal(before + 1, RecurrentKernels.Invocations);
        var reference = Differentiate((xt, it) =>
        {
            var initial = it ?? loop.Cell.GetInitialState(batch, xt.device);
            var (last, outputs, states) = loop.StepLoop(xt, initial, maskT, training: false);
            return [returnSequences ? outputs : last, .. states];
        }, loop.Weights, x, init, rOut, rStates, returnSequences);
        Assert.Equal(before + 1, RecurrentKernels.Invocations);

        // fp32 rounding grows with the length of the sums (128 units: products over 128–512 terms, different orders).
        double atol = units > 64 ? 1e-5 : 1e-6, rtol = units > 64 ? 5e-5 : 1e-5;
        for (int i = 0; i < fast.Forward.Length; i++)
            T.Close(T.Values(reference.Forward[i]), T.Values(fast.Forward[i]), atol, rtol, $"forward output {i}");
        for (int i = 0; i < fast.WeightGrads.Length; i++)
            T.Close(reference.WeightGrads[i], fast.WeightGrads[i], atol, rtol, $"grad {ours.Weights[i].Name}");
        T.Close(reference.InputGrad, fast.InputGrad, atol, rtol, "grad input");
        for (int i = 0; i < fast.StateGrads.Length; i++) T.Close(reference.StateGrads[i], fast.StateGrads[i], atol, rtol, $"grad initial state {i}");

        // And both match the independent double-precision reference's forward pass.
        var (seq, states) = RnnReference.Run(kind, w, x, mask, goBackwards, init, zeroOutput, ReferenceActivation(cell));
        // (With 128 units a ReLU RNN's states grow to tens; fp32 rounding grows with them, step after step.)
        double refAtol = units > 64 ? 1e-4 : 1e-5, refRtol = units > 64 ? 1e-5 : 0;
        T.Close(returnSequences ? seq : RnnReference.Last(seq), fast.Forward[0], refAtol, refRtol, what: "reference outputs");
        for (int s = 0; s < states.Length; s++) T.Close(states[s], fast.Forward[1 + s], refAtol, refRtol, what: $"reference state {s}");
    }

    public static IEnumerable<object[]> FiniteDifferenceCases() =>
        (from cell in Enum.GetValues<Cell>() from masked in new[] { false, true } from finalOnly in new[] { false, true }
         select new object[] { cell, masked, finalOnly, false })
        .Concat(from cell in new[] { Cell.Lstm, Cell.GruResetAfter, Cell.GruResetBefore } from masked in new[] { false, true } from finalOnly in new[] { false, true }
                select new object[] { cell, masked, finalOnly, true });

    /// <summary>
    /// The kernel run directly in float64 (weights, inputs, initial states all differentiated) against central finite
    /// differences of <see cref="RnnReference"/>, the independent double-precision implementation of Keras' equations.
    /// </summary>
    [Theory]
    [MemberData(nameof(FiniteDifferenceCases))]
    public void DoublePrecisionGradientsEqualFiniteDifferences(Cell cell, bool masked, bool finalOnly, bool recurrentDropout)
    {
        // recurrentDropout: the kernel gets one recurrent dropout mask per gate block (values 0 or 2, as dropout of ones
        // at rate 0.5 gives), and the reference applies them to the previous state of each gate's product.
        // finalOnly: the loss reads only the final states, so the kernel's backward gets no gradient for the sequence
        // (the final state's own output seeds the state-gradient carry).
        var rng = new Random(4200 + (int)cell * 2 + (masked ? 1 : 0));
        const int batch = 2, steps = 4, features = 3, units = 2;
        var kind = KindOf(cell);
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units, 0.5)).ToArray();
        var rOut = finalOnly ? new double[batch, steps, units] : T.Rand(rng, batch, steps, units);
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units)).ToArray();
        bool[,]? mask = masked ? new[,] { { true, false, true, true }, { false, true, true, false } } : null;
        var act = ReferenceActivation(cell);
        double[][,]? gateMasks = null;
        if (recurrentDropout)
        {
            gateMasks = new double[RnnReference.Gates(kind)][,];
            for (int g = 0; g < gateMasks.Length; g++)
            {
                gateMasks[g] = new double[batch, units];
                for (int b = 0; b < batch; b++)
                    for (int u = 0; u < units; u++) gateMasks[g][b, u] = (g + b + u) % 3 == 0 ? 0.0 : 2.0;
            }
        }

        double Loss() => RnnReference.WeightedSum(RnnReference.Run(kind, w, x, mask, initialStates: init, activation: act, recurrentMasks: gateMasks),
            rOut, rStates);
        double[] FiniteDifferences(Array a) => RnnReference.FiniteDifferences(a, Loss);

        Tensor DExact(Array a)
        {
            // Double values straight from the arrays (ToTensor goes through float32).
            var flat = T.Flat(a).ToArray();
            return torch.tensor(flat, T.ShapeOf(a), ScalarType.Float64).requires_grad_(true);
        }
        var xt = DExact(x);
        var states0 = init.Select(DExact).ToArray();
        var weights = w.ToKerasList().Select(DExact).ToArray();
        var maskT = mask is null ? null : T.Mask(mask);
        var rc = cell switch
        {
            Cell.Lstm => RecurrentCell.Lstm,
            Cell.GruResetAfter => RecurrentCell.GruResetAfter,
            Cell.GruResetBefore => RecurrentCell.GruResetBefore,
            Cell.SimpleTanh => RecurrentCell.SimpleTanh,
            _ => RecurrentCell.SimpleRelu,
        };
        var gateMasksT = gateMasks is null
            ? null
            : torch.tensor(gateMasks.SelectMany(m => T.Flat(m).ToArray()).ToArray(), [gateMasks.Length, batch, units], ScalarType.Float64);
        var (sequence, final) = RecurrentKernels.Run(rc, xt, states0, weights[0], weights[1], weights[2], maskT, gateMasksT);
        var outputs = RecurrentKernels.MaskOutputs(sequence, maskT, zeroOutputForMask: false);
        var loss = finalOnly ? torch.zeros(1, ScalarType.Float64).sum() : outputs.mul(torch.tensor(T.Flat(rOut).ToArray(), T.ShapeOf(rOut), ScalarType.Float64)).sum();
        for (int s = 0; s < final.Length; s++)
            loss = loss.add(final[s].mul(torch.tensor(T.Flat(rStates[s]).ToArray(), T.ShapeOf(rStates[s]), ScalarType.Float64)).sum());
        loss.backward();

        // Forward in double equals the reference to double rounding.
        var (refSeq, refStates) = RnnReference.Run(kind, w, x, mask, initialStates: init, activation: act, recurrentMasks: gateMasks);
        T.Close(refSeq, outputs, 1e-12, what: "outputs");
        for (int s = 0; s < refStates.Length; s++) T.Close(refStates[s], final[s], 1e-12, what: $"state {s}");

        const double atol = 1e-7, rtol = 1e-6;
        var arrays = w.ToKerasList();
        string[] names = ["kernel", "recurrent_kernel", "bias"];
        for (int i = 0; i < arrays.Length; i++) T.Close(FiniteDifferences(arrays[i]), T.Values(weights[i].grad!), atol, rtol, $"dL/d{names[i]}");
        T.Close(FiniteDifferences(x), T.Values(xt.grad!), atol, rtol, "dL/dx");
        for (int s = 0; s < init.Length; s++) T.Close(FiniteDifferences(init[s]), T.Values(states0[s].grad!), atol, rtol, $"dL/dinitial_state{s}");
    }

    public static IEnumerable<object[]> ModelCases() =>
        from cell in new[] { Cell.Lstm, Cell.GruResetAfter, Cell.GruResetBefore, Cell.SimpleTanh }
        from mask in new[] { "right_padded", "gaps" }
        select new object[] { cell, mask };

    /// <summary>
    /// Bidirectional (zero outputs at masked steps, one half going backwards) over a stacked pair of layers, masked:
    /// outputs and every weight's and the input's gradient equal the same model run with the step loop.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelCases))]
    public void BidirectionalStackEqualsStepLoop(Cell cell, string maskName)
    {
        var rng = new Random(77 + (int)cell * 3 + maskName.Length);
        const int batch = 4, steps = 5, features = 3, units = 9;
        var kind = KindOf(cell);
        var mask = Masks[maskName];
        var x = T.Rand(rng, batch, steps, features);
        var rOut = T.Rand(rng, batch, steps, 2 * units);
        var weights = new[]
        {
            RnnReference.RandomWeights(rng, kind, features, units), RnnReference.RandomWeights(rng, kind, features, units),
            RnnReference.RandomWeights(rng, kind, 2 * units, units), RnnReference.RandomWeights(rng, kind, 2 * units, units),
        };

        (Tensor Y, double[][] Grads, double[] XGrad) RunModel(bool? fused)
        {
            var first = new Bidirectional(RnnFactory.Make(kind, units, returnSequences: true, fused: fused));
            var second = new Bidirectional(RnnFactory.Make(kind, units, returnSequences: true, fused: fused));
            first.Build(new Shape(null, null, features));
            second.Build(new Shape(null, null, 2 * units));
            first.SetWeights([.. weights[0].ToKerasList(), .. weights[1].ToKerasList()]);
            second.SetWeights([.. weights[2].ToKerasList(), .. weights[3].ToKerasList()]);
            var xt = T.ToTensor(x).requires_grad_(true);
            var m = T.Mask(mask);
            var y = second.Apply(first.Apply(xt, m), m);
            y.mul(T.ToTensor(rOut)).sum().backward();
            return (y.detach(), [.. first.Weights.Concat(second.Weights).Select(v => T.Values(v.Value.grad!))], T.Values(xt.grad!));
        }

        long before = RecurrentKernels.Invocations;
        var fast = RunModel(null);
        Assert.Equal(before + 4, RecurrentKernels.Invocations);
        var reference = RunModel(false);
        Assert.Equal(before + 4, RecurrentKernels.Invocations);
        // Two stacked bidirectional layers accumulate more rounding than one layer (summation orders differ).
        T.Close(T.Values(reference.Y), T.Values(fast.Y), 1e-6, 1e-5, "outputs");
        for (int i = 0; i < fast.Grads.Length; i++) T.Close(reference.Grads[i], fast.Grads[i], 3e-6, 1e-5, $"grad weight {i}");
        T.Close(reference.XGrad, fast.XGrad, 3e-6, 1e-5, "grad input");
    }

    [Theory]
    [InlineData(Cell.Lstm)]
    [InlineData(Cell.GruResetAfter)]
    [InlineData(Cell.SimpleTanh)]
    public void InputDropoutUsesTheSameMaskAsTheStepLoop(Cell cell)
    {
        // One input-dropout mask per sequence (implementation 2) is applied before the kernel; under the same seed the
        // step loop draws the same mask, so training outputs and gradients agree.
        var rng = new Random(5 + (int)cell);
        const int batch = 3, steps = 4, features = 5, units = 2;
        var kind = KindOf(cell);
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        (Tensor Y, double[] KernelGrad) RunLayer(bool? fused)
        {
            var layer = RnnFactory.Make(kind, units, returnSequences: true, fused: fused, dropout: 0.5).WithWeights(features, w);
            torch.manual_seed(123);
            var y = layer.Apply(T.ToTensor(x), training: true);
            y.sum().backward();
            return (y.detach(), T.Values(layer.Weights[0].Value.grad!));
        }
        long before = RecurrentKernels.Invocations;
        var fast = RunLayer(null);
        Assert.Equal(before + 1, RecurrentKernels.Invocations);
        var reference = RunLayer(false);
        T.Close(T.Values(reference.Y), T.Values(fast.Y), 1e-6, 1e-5, "outputs");
        T.Close(reference.KernelGrad, fast.KernelGrad, 1e-6, 1e-5, "grad kernel");
    }

    /// <summary>
    /// The fused CPU backward writes the gate gradients over the saved gate activations; a second backward pass through
    /// the same graph (<c>retain_graph</c>) must recompute them and give the same gradients, and both must equal a
    /// fresh forward and backward on the unfused path.
    /// </summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(0, true, true)]
    [InlineData(1, true, true)]
    [InlineData(1, false, true)]
    [InlineData(2, true, true)]
    [InlineData(2, false, true)]
    public void SecondBackwardThroughTheSameGraphGivesTheSameGradients(int cellIndex, bool masked, bool recurrentDropout = false)
    {
        var cell = new[] { RecurrentCell.Lstm, RecurrentCell.GruResetAfter, RecurrentCell.GruResetBefore }[cellIndex];
        const int batch = 3, steps = 6, features = 5, units = 10;
        int g = RecurrentKernels.Gates(cell);
        var generator = new Random(5 + (int)cell + (masked ? 10 : 0));
        Tensor Rand(params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(generator.NextDouble() - 0.5);
            return torch.tensor(values, shape).requires_grad_(true);
        }
        var x = Rand(batch, steps, features);
        var kernel = Rand(features, g * units);
        var recurrent = Rand(units, g * units);
        var bias = cell == RecurrentCell.GruResetAfter ? Rand(2, g * units) : Rand(g * units);
        var states = Enumerable.Range(0, cell == RecurrentCell.Lstm ? 2 : 1).Select(_ => Rand(batch, units)).ToArray();
        var mask = masked ? T.Mask(new[,]
        {
            { true, false, true, true, false, true }, { true, true, true, true, true, true }, { false, true, false, false, true, true },
        }) : null;
        var outputWeights = Rand(batch, steps, units).detach();
        // Recurrent dropout: one mask per gate block, 0 or 2 (dropout of ones at rate 0.5).
        var gateMasks = recurrentDropout ? Rand(g, batch, units).detach().gt(0).to_type(ScalarType.Float32).mul(2) : null;
        Tensor[] inputs = [x, kernel, recurrent, bias, .. states];

        IList<Tensor> Gradients(bool fused, Func<Tensor, IList<Tensor>> differentiate)
        {
            FusedCells.Enabled = fused;
            try
            {
                var (sequence, final) = RecurrentKernels.Run(cell, x, states, kernel, recurrent, bias, mask, gateMasks);
                return differentiate(sequence.mul(outputWeights).sum().add(final[^1].sum()));
            }
            finally
            {
                FusedCells.Enabled = true;
            }
        }
        IList<Tensor>? second = null;
        var first = Gradients(true, loss =>
        {
            var once = torch.autograd.grad([loss], inputs, retain_graph: true);
            second = torch.autograd.grad([loss], inputs);
            return once;
        });
        var reference = Gradients(false, loss => torch.autograd.grad([loss], inputs));
        for (int i = 0; i < inputs.Length; i++)
        {
            T.Close(T.Values(reference[i]), T.Values(first[i]), 1e-6, 1e-5, $"first backward, input {i}");
            T.Close(T.Values(reference[i]), T.Values(second![i]), 1e-6, 1e-5, $"second backward, input {i}");
        }
    }

    [Fact]
    public void ModeSwitchAndUseCudnnChooseThePath()
    {
        var x = torch.rand(2, 3, 4);
        var gaps = T.Mask(new[,] { { true, false, true }, { true, true, true } });
        var saved = RecurrentKernels.Mode;
        try
        {
            long Count(Action a)
            {
                long before = RecurrentKernels.Invocations;
                a();
                return RecurrentKernels.Invocations - before;
            }
            RecurrentKernels.Mode = RecurrentKernelMode.Auto;
            Assert.Equal(1, Count(() => new GRU(2).Apply(x)));                         // CPU: ours
            Assert.Equal(1, Count(() => new SimpleRNN(2).Apply(x)));
            Assert.Equal(1, Count(() => new LSTM(2).Apply(x)));                        // float32 training, even tiny: ours (fused steps)
            Assert.Equal(1, Count(() => new LSTM(2).Apply(x, gaps)));
            var big = torch.rand(32, 3, 8);
            Assert.Equal(1, Count(() => new LSTM(128).Apply(big)));
            using (torch.no_grad()) Assert.Equal(0, Count(() => new LSTM(128).Apply(big))); // inference: libtorch's LSTM
            using (torch.no_grad()) Assert.Equal(1, Count(() => new LSTM(2).Apply(x, gaps))); // … which cannot run gaps
            Assert.False(RecurrentKernels.PreferTorchLstm(x, 2));
            Assert.True(RecurrentKernels.PreferTorchLstm(x.to_type(ScalarType.Float64), 2)); // no fused steps in float64: a tiny LSTM trains faster in libtorch
            Assert.False(RecurrentKernels.PreferTorchLstm(big.to_type(ScalarType.Float64), 128));
            Assert.Equal(1, Count(() => new GRU(2, resetAfter: false).Apply(x, gaps))); // configurations torch's kernel lacks
            Assert.Equal(0, Count(() => new LSTM(2, useCudnn: true).Apply(x)));         // torch's fused kernel demanded
            Assert.Equal(0, Count(() => new LSTM(2, useCudnn: false).Apply(x)));        // step loop demanded
            Assert.Equal(0, Count(() => new LSTM(2, recurrentActivation: "hard_sigmoid").Apply(x)));
            // Recurrent dropout runs in our LSTM and GRU kernels (one mask per gate); with per-gate input dropout too
            // (implementation 1), or in a SimpleRNN, it takes the step loop.
            Assert.Equal(1, Count(() => new LSTM(2, recurrentDropout: 0.5).Apply(x, training: true)));
            Assert.Equal(1, Count(() => new GRU(2, recurrentDropout: 0.5).Apply(x, gaps, training: true)));
            Assert.Equal(0, Count(() => new LSTM(2, dropout: 0.3, recurrentDropout: 0.5).Apply(x, training: true)));
            Assert.Equal(1, Count(() => new GRU(2, recurrentDropout: 0.5, resetAfter: false).Apply(x, training: true)));
            Assert.Equal(0, Count(() => new SimpleRNN(2, recurrentDropout: 0.5).Apply(x, training: true)));
            Assert.Equal(0, Count(() => new GRU(2, dropout: 0.3, recurrentDropout: 0.5).Apply(x, training: true)));
            // Without gradients an LSTM prefers torch's kernel (faster for inference), but never under recurrent dropout.
            using (torch.no_grad())
                Assert.Equal(1, Count(() => new LSTM(2, recurrentDropout: 0.5).Apply(x, training: true)));
            Assert.Equal(1, Count(() => new LSTM(2, recurrentDropout: 0.5).Apply(x, gaps, training: false))); // not training: ours (gaps)
            Assert.Equal(0, Count(() => new SimpleRNN(2, unroll: true).Apply(x)));
            RecurrentKernels.Mode = RecurrentKernelMode.Aten;
            Assert.Equal(0, Count(() => new LSTM(2).Apply(x)));
            Assert.Equal(0, Count(() => new GRU(2).Apply(x, gaps)));
            RecurrentKernels.Mode = RecurrentKernelMode.Custom;
            Assert.Equal(1, Count(() => new SimpleRNN(2).Apply(x)));
            Assert.Equal(1, Count(() => new LSTM(2).Apply(x)));
        }
        finally
        {
            RecurrentKernels.Mode = saved;
        }
    }

    [Theory]
    [InlineData(Cell.Lstm)]
    [InlineData(Cell.GruResetBefore)]
    [InlineData(Cell.SimpleRelu)]
    public void InferenceWithoutGradientsEqualsTrainingForward(Cell cell)
    {
        // Without autograd the kernel runs its forward directly (no saved buffers); same numbers.
        var rng = new Random(31 + (int)cell);
        var kind = KindOf(cell);
        var w = RnnReference.RandomWeights(rng, kind, 3, 4);
        var x = T.Rand(rng, 2, 6, 3);
        var mask = T.Mask(new[,] { { true, true, false, true, true, false }, { false, true, true, true, true, true } });
        var layer = MakeLayer(cell, 4, true, true, false, null).WithWeights(3, w);
        var withGrad = layer.ApplyAll([T.ToTensor(x)], masks: [mask]);
        Assert.True(withGrad[0].requires_grad);
        IReadOnlyList<Tensor> noGrad;
        using (torch.no_grad()) noGrad = layer.ApplyAll([T.ToTensor(x)], masks: [mask]);
        Assert.False(noGrad[0].requires_grad);
        for (int i = 0; i < noGrad.Count; i++) Assert.True(withGrad[i].detach().EqualsExactly(noGrad[i]), $"output {i}");
    }

    [Fact]
    public void BadArgumentsAreRejectedBeforeLibtorch()
    {
        var k = torch.zeros(3, 8);
        var r = torch.zeros(2, 8);
        var h = torch.zeros(2, 2);
        var x = torch.zeros(2, 4, 3);
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, torch.zeros(2, 3), [h, h], k, r, null, null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, x, [h], k, r, null, null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, torch.zeros(2, 4, 5), [h, h], k, r, null, null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, x, [h, torch.zeros(3, 2)], k, r, null, null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, x, [h, h], k, r, torch.zeros(6), null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.Lstm, x, [h, h], k, r, null, torch.ones(2, 3, ScalarType.Bool)));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.GruResetAfter, x, [h], torch.zeros(3, 6), torch.zeros(2, 6), torch.zeros(6), null));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.Run(RecurrentCell.SimpleTanh, torch.zeros(2, 0, 3), [h], torch.zeros(3, 2), torch.zeros(2, 2), null, null));
    }

    [Fact]
    public void TrainsInsideFitAndStaysEqualToTheStepLoop()
    {
        // A few Fit steps of a masked stacked model with our kernels and with the step loop end at the same weights.
        var rng = new Random(9);
        var x = T.Rand(rng, 8, 6, 3);
        var y = T.Rand(rng, 8, 1);
        var lengths = new[] { 6, 3, 1, 6, 5, 2, 6, 4 };
        var xArr = (double[,,])x.Clone();
        for (int b = 0; b < 8; b++)
            for (int t = lengths[b]; t < 6; t++)
                for (int f = 0; f < 3; f++) xArr[b, t, f] = 0;
        float[] Train(bool? fused)
        {
            KerasApi.SetRandomSeed(3);
            var model = new Sequential(new InputLayer([6, 3]), new Masking(0.0), RnnFactory.Make(CellKind.Lstm, 4, returnSequences: true, fused: fused),
                RnnFactory.Make(CellKind.GruResetAfter, 3, fused: fused), new Dense(1));
            model.Compile(optimizer: "sgd", loss: "mse");
            model.Fit(T.ToTensor(xArr), T.ToTensor(y), batchSize: 4, epochs: 2, verbose: 0, shuffle: false);
            return model.Weights.SelectMany(v => T.Values(v.Value).Select(d => (float)d)).ToArray();
        }
        long before = RecurrentKernels.Invocations;
        var fast = Train(null);
        Assert.True(RecurrentKernels.Invocations - before >= 8);
        var reference = Train(false);
        T.Close(reference.Select(v => (double)v).ToArray(), fast.Select(v => (double)v).ToArray(), 1e-6, 1e-5, "trained weights");
    }

    public static IEnumerable<object[]> CudaCases() =>
        from cell in new[] { Cell.Lstm, Cell.GruResetAfter, Cell.GruResetBefore, Cell.SimpleTanh } select new object[] { cell };

    /// <summary>
    /// On a CUDA device our kernels (forward and hand-written backward) give the CPU kernels' outputs, final states and
    /// gradients, masked with gaps, within float32 matrix-product tolerance. Skipped without CUDA.
    /// </summary>
    [CudaTheory]
    [MemberData(nameof(CudaCases))]
    public void KernelsOnCudaEqualCpu(Cell cell)
    {
        var rng = new Random(600 + (int)cell);
        const int batch = 4, steps = 7, features = 5, units = 6;
        var kind = KindOf(cell);
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        var init = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.Rand(rng, batch, units, 0.5)).ToArray();
        var rOut = T.ToTensor(T.Rand(rng, batch, steps, units));
        var rStates = Enumerable.Range(0, RnnReference.StateCount(kind)).Select(_ => T.ToTensor(T.Rand(rng, batch, units))).ToArray();
        var mask = T.Mask(new[,]
        {
            { true, false, true, true, false, true, true }, { true, true, true, true, true, true, true },
            { false, true, false, true, true, false, true }, { true, true, true, false, false, false, false },
        });
        var rc = cell switch
        {
            Cell.Lstm => RecurrentCell.Lstm,
            Cell.GruResetAfter => RecurrentCell.GruResetAfter,
            Cell.GruResetBefore => RecurrentCell.GruResetBefore,
            _ => RecurrentCell.SimpleTanh,
        };

        (double[][] Values, double[][] Grads) RunOn(string device)
        {
            var dev = torch.device(device);
            Tensor Leaf(Tensor t) => t.to(dev).detach().requires_grad_(true);
            var xt = Leaf(T.ToTensor(x));
            var states = init.Select(a => Leaf(T.ToTensor(a))).ToArray();
            var weights = w.ToKerasList().Select(a => Leaf(T.ToTensor(a))).ToArray();
            var (sequence, final) = RecurrentKernels.Run(rc, xt, states, weights[0], weights[1], weights[2], mask.to(dev));
            var outputs = RecurrentKernels.MaskOutputs(sequence, mask.to(dev), zeroOutputForMask: false);
            var loss = outputs.mul(rOut.to(dev)).sum();
            for (int i = 0; i < final.Length; i++) loss = loss.add(final[i].mul(rStates[i].to(dev)).sum());
            loss.backward();
            return ([T.Values(outputs), .. final.Select(T.Values)],
                [T.Values(xt.grad!), .. states.Select(t => T.Values(t.grad!)), .. weights.Select(t => T.Values(t.grad!))]);
        }

        var cpu = RunOn("cpu");
        var cuda = RunOn("cuda");
        for (int i = 0; i < cpu.Values.Length; i++) T.Close(cpu.Values[i], cuda.Values[i], 1e-4, 1e-3, $"value {i}");
        for (int i = 0; i < cpu.Grads.Length; i++) T.Close(cpu.Grads[i], cuda.Grads[i], 1e-4, 1e-3, $"gradient {i}");
    }

    /// <summary>
    /// A masked model (gaps, so cuDNN cannot run it; our kernels do on CUDA) with an LSTM and a reset_after=False GRU
    /// predicts and trains on CUDA like on CPU. Skipped without CUDA.
    /// </summary>
    [CudaFact]
    public void MaskedModelOnCudaPredictsAndTrainsLikeCpu()
    {
        var rng = new Random(8);
        var xArr = T.Rand(rng, 16, 9, 3);
        for (int b = 0; b < 16; b++)
            for (int t = 0; t < 9; t++)
                if ((b + 2 * t) % 5 == 0)
                    for (int f = 0; f < 3; f++) xArr[b, t, f] = 0;
        var x = T.ToTensor(xArr);
        var y = T.ToTensor(T.Rand(rng, 16, 1));
        Sequential Make() => new(new InputLayer([9, 3]), new Masking(0.0), new LSTM(8, returnSequences: true), new GRU(4, resetAfter: false), new Dense(1));
        KerasApi.SetRandomSeed(1);
        var cpu = Make();
        var gpu = Make();
        gpu.SetWeights(cpu.GetWeights());
        gpu.Device = "cuda";
        long before = RecurrentKernels.Invocations;
        var gpuPrediction = gpu.Predict(x, verbose: 0);
        Assert.Equal(before + 2, RecurrentKernels.Invocations);
        T.Close(T.Values(cpu.Predict(x, verbose: 0)), T.Values(gpuPrediction), 1e-4, 1e-3, "predictions");
        foreach (var m in new[] { cpu, gpu })
        {
            m.Compile(optimizer: "sgd", loss: "mse");
            m.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0, shuffle: false);
        }
        for (int i = 0; i < cpu.Weights.Count; i++)
            T.Close(T.Values(cpu.Weights[i].Value), T.Values(gpu.Weights[i].Value), 1e-4, 1e-3, $"trained weight {cpu.Weights[i].Path}");
    }
}

/// <summary>A theory that runs only where a CUDA device is usable; skipped (not failed) elsewhere.</summary>
public sealed class CudaTheoryAttribute : TheoryAttribute
{
    public CudaTheoryAttribute()
    {
        if (!KerasConfig.IsCudaAvailable) Skip = "No CUDA device (load a CUDA libtorch with KERAS_RNN_LIBTORCH on a GPU machine).";
    }
}
