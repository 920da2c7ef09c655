using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Keras' recurrent dropout semantics (DropoutRNNCell): no dropout at inference; during training one input mask
/// (and one recurrent mask) per sequence, reused at every time step, scaled by 1/(1 − rate), and fresh for each
/// call; recurrent dropout switches LSTM/GRU cells to implementation 1.
/// </summary>
public class RecurrentDropoutTests
{
    private static double[,] Identity(int n)
    {
        var a = new double[n, n];
        for (int i = 0; i < n; i++) a[i, i] = 1;
        return a;
    }

    [Theory]
    [InlineData(CellKind.SimpleRnn, true)]
    [InlineData(CellKind.SimpleRnn, false)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.GruResetAfter, true)]
    [InlineData(CellKind.GruResetAfter, false)]
    [InlineData(CellKind.GruResetBefore, false)]
    public void InferenceIgnoresDropout(CellKind kind, bool fused)
    {
        var rng = new Random(3 + (int)kind);
        var w = RnnReference.RandomWeights(rng, kind, 3, 2);
        var x = T.Rand(rng, 2, 4, 3);
        foreach (var (dropout, recurrentDropout) in new[] { (0.5, 0.0), (0.5, 0.5), (0.0, 0.9) })
        {
            var layer = RnnFactory.Make(kind, 2, returnSequences: true, fused: fused ? null : false, dropout: dropout,
                recurrentDropout: recurrentDropout).WithWeights(3, w);
            var y = layer.Apply(T.ToTensor(x), training: false);
            T.Close(RnnReference.Run(kind, w, x).Outputs, y, 1e-5);
        }
    }

    [Fact]
    public void InputDropoutMaskIsTheSameAtEveryStep()
    {
        // SimpleRNN, linear activation, kernel = I, recurrent kernel = 0, no bias: h_t = dropout(x_t). With x = ones,
        // every step must show the same kept features, each equal to 1 / (1 − rate).
        const int batch = 4, steps = 5, units = 8;
        const double rate = 0.5;
        var layer = new SimpleRNN(units, activation: "linear", useBias: false, dropout: rate, returnSequences: true);
        layer.Build(new Shape(null, null, units));
        layer.SetWeights([Identity(units), new double[units, units]]);
        var x = torch.ones(batch, steps, units);
        var y = layer.Apply(x, training: true);
        var values = T.Values(y);
        var kept = new bool[batch, units];
        int keptCount = 0;
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < units; k++)
            {
                double first = values[(b * steps) * units + k];
                Assert.True(first == 0 || Math.Abs(first - 1 / (1 - rate)) < 1e-6, $"value {first} is neither dropped nor scaled by 1/(1-rate)");
                kept[b, k] = first != 0;
                if (kept[b, k]) keptCount++;
                for (int t = 1; t < steps; t++)
                    Assert.Equal(first, values[(b * steps + t) * units + k]);
            }
        Assert.InRange(keptCount, 1, batch * units - 1);

        // A new call draws a new mask (32 coin flips; identical masks have probability 2^-32).
        var again = T.Values(layer.Apply(x, training: true));
        Assert.NotEqual(values, again);
    }

    [Fact]
    public void RecurrentDropoutMaskIsTheSameAtEveryStep()
    {
        // Linear SimpleRNN with kernel = I, recurrent kernel = I, no bias, x_0 = 1 and x_t = 0 after: h_t = m ⊙ h_{t-1},
        // so h_t = m^t. One mask m ∈ {0, 1/(1−rate)} per sequence gives h_t ∈ {0, 2^t} with the same zeros at every t ≥ 1.
        const int batch = 4, steps = 5, units = 8;
        var layer = new SimpleRNN(units, activation: "linear", useBias: false, recurrentDropout: 0.5, returnSequences: true);
        layer.Build(new Shape(null, null, units));
        layer.SetWeights([Identity(units), Identity(units)]);
        var x = torch.zeros(batch, steps, units);
        x[.., 0, ..] = torch.ones(batch, units);
        var values = T.Values(layer.Apply(x, training: true));
        int kept = 0;
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < units; k++)
            {
                Assert.Equal(1.0, values[(b * steps) * units + k]);
                bool on = values[(b * steps + 1) * units + k] != 0;
                if (on) kept++;
                for (int t = 1; t < steps; t++)
                    Assert.Equal(on ? Math.Pow(2, t) : 0.0, values[(b * steps + t) * units + k], 1e-5);
            }
        Assert.InRange(kept, 1, batch * units - 1);
    }

    public static IEnumerable<object[]> GradientPatternCases()
    {
        foreach (var kind in RnnFactory.Kinds)
            foreach (var fused in new[] { true, false })
                if (!(kind == CellKind.GruResetBefore && fused))
                    yield return [kind, fused];
    }

    [Theory]
    [MemberData(nameof(GradientPatternCases))]
    public void InputDropoutDropsTheSameFeaturesAtEveryStep(CellKind kind, bool fused)
    {
        // dL/dx[b, t, k] is zero exactly for the dropped features; with one mask per sequence the zero pattern is the
        // same at every step (fused kernels apply the mask to the whole sequence, the loop reuses the cached mask).
        const int batch = 4, steps = 5, features = 8, units = 3;
        var rng = new Random(70 + (int)kind);
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var layer = RnnFactory.Make(kind, units, returnSequences: true, fused: fused ? null : false, dropout: 0.5).WithWeights(features, w);
        var x = T.ToTensor(T.Rand(rng, batch, steps, features)).requires_grad_(true);
        var y = layer.Apply(x, training: true);
        y.sum().backward();
        var g = T.Values(x.grad!);
        int dropped = 0;
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < features; k++)
            {
                bool zero = g[(b * steps) * features + k] == 0;
                if (zero) dropped++;
                for (int t = 1; t < steps; t++)
                    Assert.True(zero == (g[(b * steps + t) * features + k] == 0), $"feature {k} of row {b} is dropped at step 0 but not at step {t} (or vice versa)");
            }
        Assert.InRange(dropped, 1, batch * features - 1);
    }

    [Fact]
    public void RecurrentDropoutSelectsImplementationOne()
    {
        Assert.Equal(2, new LSTM(2).Cell.Implementation);
        Assert.Equal(1, new LSTM(2, recurrentDropout: 0.2).Cell.Implementation);
        Assert.Equal(1, new GRU(2, recurrentDropout: 0.2).Cell.Implementation);
        Assert.Equal(1, new LSTMCell(2, recurrentDropout: 0.1, implementation: 2).Implementation);
        Assert.Equal(2, new LSTM(2, dropout: 0.3).Cell.Implementation);
        Assert.Equal(1, new LSTM(2, recurrentDropout: 0.2).Cell.Implementation);
    }

    [Fact]
    public void RecurrentDropoutRefusesTorchsKernelAndTrainsOnOurs()
    {
        // Training with recurrent dropout cannot use torch's fused kernel: useCudnn=true refuses; auto runs our kernel
        // (one mask per gate; which path runs is checked in RecurrentKernelTests.ModeSwitchAndUseCudnnChooseThePath).
        var x = torch.rand(2, 3, 4);
        var strict = new LSTM(2, recurrentDropout: 0.5, useCudnn: true, name: "strict_lstm");
        var ex = Assert.Throws<KerasLayerException>(() => strict.Apply(x, training: true));
        Assert.Contains("strict_lstm", ex.Message);
        var auto = new GRU(2, recurrentDropout: 0.5, returnSequences: true);
        var y = auto.Apply(x, training: true);
        Assert.Equal(new long[] { 2, 3, 2 }, y.shape);
        Assert.False(y.isnan().any().item<bool>());
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void GruSoftmaxRecurrentActivationNormalisesEachGateOnItsOwn(bool resetAfter, bool recurrentDropout)
    {
        // Keras activates z and r separately, each (B, u): with softmax each gate sums to 1 over its own units. Checked
        // against a hand-written double reference of one GRU over three steps (recurrent dropout: masks re-drawn from the
        // same torch seed, one per gate).
        const int batch = 2, steps = 3, features = 2, units = 3;
        const double rate = 0.5;
        var rng = new Random(resetAfter ? 11 : 12);
        var kind = resetAfter ? CellKind.GruResetAfter : CellKind.GruResetBefore;
        var w = RnnReference.RandomWeights(rng, kind, features, units);
        var x = T.Rand(rng, batch, steps, features);
        const long seed = 99;
        var masks = recurrentDropout
            ? RnnReference.DrawRecurrentMasks(seed, 3, batch, units, rate)
            : Enumerable.Range(0, 3).Select(_ =>
            {
                var ones = new double[batch, units];
                T.Flat(ones).Fill(1.0);
                return ones;
            }).ToArray();

        static double[] Softmax(double[] v)
        {
            var e = v.Select(a => Math.Exp(a - v.Max())).ToArray();
            return e.Select(a => a / e.Sum()).ToArray();
        }
        var expected = new double[batch, steps, units];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[units];
            for (int t = 0; t < steps; t++)
            {
                double Xw(int j) => Enumerable.Range(0, features).Sum(k => x[b, t, k] * w.Kernel[k, j]);
                double Hu(int gate, int j, double[] state) => Enumerable.Range(0, units).Sum(k => state[k] * masks[gate][b, k] * w.Recurrent[k, gate * units + j]);
                double B(int row, int j) => resetAfter ? ((double[,])w.Bias!)[row, j] : row == 0 ? ((double[])w.Bias!)[j] : 0;
                var z = Softmax(Enumerable.Range(0, units).Select(j => Xw(j) + B(0, j) + Hu(0, j, h) + B(1, j)).ToArray());
                var r = Softmax(Enumerable.Range(0, units).Select(j => Xw(units + j) + B(0, units + j) + Hu(1, j, h) + B(1, units + j)).ToArray());
                var hh = Enumerable.Range(0, units).Select(j => Math.Tanh(Xw(2 * units + j) + B(0, 2 * units + j) + (resetAfter
                    ? r[j] * (Hu(2, j, h) + B(1, 2 * units + j))
                    : Hu(2, j, h.Select((v, k) => v * r[k]).ToArray())))).ToArray();
                h = Enumerable.Range(0, units).Select(j => z[j] * h[j] + (1 - z[j]) * hh[j]).ToArray();
                for (int j = 0; j < units; j++) expected[b, t, j] = h[j];
            }
        }
        var layer = new GRU(units, recurrentActivation: "softmax", resetAfter: resetAfter, recurrentDropout: recurrentDropout ? rate : 0,
            returnSequences: true).WithWeights(features, w);
        torch.manual_seed(seed);
        T.Close(expected, layer.Apply(T.ToTensor(x), training: recurrentDropout), 1e-5);
    }

    [Fact]
    public void RecurrentDropoutWorksAcrossBatchSizesAndCallsOfTheCell()
    {
        // The per-sequence caches (stacked masks, kernel blocks) follow each call: another batch size, and a cell called
        // directly after its weights were replaced, compute with what they are given.
        foreach (var kind in new[] { CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore })
        {
            var layer = RnnFactory.Make(kind, 4, returnSequences: true, recurrentDropout: 0.3);
            foreach (int batch in new[] { 3, 5, 2 })
            {
                var y = layer.Apply(torch.rand(batch, 6, 2), training: true);
                Assert.Equal(new long[] { batch, 6, 4 }, y.shape);
                Assert.False(y.isnan().any().item<bool>());
            }
        }
        // A cell stepped by hand keeps its masks until ResetDropoutMasks (Keras' contract) while its weights may change:
        // the second step must use the new weights with the first step's masks — the same as a fresh cell with the new
        // weights drawing the same masks from the same seed. Also inside a bfloat16 autocast scope, where every read of a
        // weight is a fresh cast copy (a cache kept from the first step's copy would compute with the old weights).
        var rng = new Random(5);
        var w1 = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 3);
        var w2 = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 2, 3);
        GRUCell Cell(RefWeights w)
        {
            var c = new GRUCell(3, recurrentDropout: 0.5);
            c.Build(new Shape(null, 2));
            c.SetWeights(w.ToKerasList());
            return c;
        }
        foreach (var dtype in new ScalarType?[] { null, ScalarType.BFloat16 })
        {
            using var autocast = Keras.Rnn.DTypePolicies.AutocastScope.Enter(dtype);
            var xs = torch.rand(4, 2).to_type(dtype ?? ScalarType.Float32);
            var h0 = torch.rand(4, 3).to_type(dtype ?? ScalarType.Float32);
            var cell = Cell(w1);
            torch.manual_seed(7);
            cell.Step(xs, [h0], training: true);
            cell.SetWeights(w2.ToKerasList());
            var second = T.Values(cell.Step(xs, [h0], training: true).Output.to_type(ScalarType.Float32));
            var fresh = Cell(w2);
            torch.manual_seed(7);
            var expected = T.Values(fresh.Step(xs, [h0], training: true).Output.to_type(ScalarType.Float32));
            T.Close(expected, second, 1e-6, what: $"step after the weights changed ({dtype?.ToString() ?? "float32"})");
        }
    }
}
