using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using TLSTM = TorchSharp.Modules.LSTM;
using TGRU = TorchSharp.Modules.GRU;
using TRNN = TorchSharp.Modules.RNN;
using TLSTMCell = TorchSharp.Modules.LSTMCell;
using TGRUCell = TorchSharp.Modules.GRUCell;
using TRNNCell = TorchSharp.Modules.RNNCell;
using TorchSharp.Modules;
using static TorchSharp.torch;
using KLSTM = Keras.Rnn.Layers.LSTM;
using KGRU = Keras.Rnn.Layers.GRU;
using KSimpleRNN = Keras.Rnn.Layers.SimpleRNN;
using KBidirectional = Keras.Rnn.Layers.Bidirectional;
using KRNN = Keras.Rnn.Layers.RNN;

namespace Keras.Rnn.Benchmarks;

/// <summary>Recurrent cell of a benchmark model.</summary>
internal enum CellType { Lstm, Gru, GruResetBefore, SimpleRnn }

/// <summary>Which mask the data carries (masked steps are all-zero feature vectors; ours uses a <c>Masking</c> layer).</summary>
internal enum MaskKind { None, RightPadded, Gaps }

/// <summary>
/// A benchmark model: <c>[Masking] → recurrent layer(s) → Dense(1)</c> on the last output, MSE. Ours is a Keras.Rnn
/// <c>Sequential</c>; the baseline the equivalent hand-written TorchSharp module.
/// </summary>
internal sealed record RecurrentSpec(CellType Cell, int Batch, int Steps, int Inputs, int Units, int Layers = 1, bool Bidirectional = false,
    MaskKind Mask = MaskKind.None, string Device = "cpu")
{
    public static RecurrentSpec Small(CellType cell) => new(cell, 32, 50, 8, 20);
    public static RecurrentSpec Standard(CellType cell) => new(cell, 64, 50, 128, 256);

    public int Gates => Cell switch { CellType.Lstm => 4, CellType.Gru or CellType.GruResetBefore => 3, _ => 1 };

    /// <summary>Matrix-multiply FLOPs of one forward pass of the recurrent layers over one batch.</summary>
    public double ForwardFlops()
    {
        int dirs = Bidirectional ? 2 : 1;
        double total = 0;
        for (int layer = 0; layer < Layers; layer++)
        {
            int input = layer == 0 ? Inputs : Units * dirs;
            total += dirs * 2.0 * Batch * Steps * Gates * Units * (input + Units);
        }
        return total;
    }

    /// <summary>
    /// Useful FLOPs of one training step: the forward's matrix products, the same again for the weight gradients, and
    /// the same again for the gradients of the states and of the inputs — except the first layer's inputs (the data),
    /// whose gradient nobody computes.
    /// </summary>
    public double TrainingFlops()
    {
        int dirs = Bidirectional ? 2 : 1;
        return 3 * ForwardFlops() - dirs * 2.0 * Batch * Steps * Gates * Units * Inputs;
    }

    public string Describe() =>
        $"{Cell}{(Layers > 1 ? $" ×{Layers}" : "")}{(Bidirectional ? " bidirectional" : "")}, batch {Batch}, {Steps} steps, {Inputs} inputs, {Units} units{(Mask != MaskKind.None ? $", mask {Mask}" : "")}{(Device != "cpu" ? $", on {Device}" : "")}";

    /// <summary>Whether the spec runs on a CUDA device.</summary>
    public bool OnCuda => Device.StartsWith("cuda", StringComparison.Ordinal);

    /// <summary>Waits for queued GPU work (so that wall-clock times include it); nothing on CPU.</summary>
    public void Synchronize()
    {
        if (OnCuda) torch.cuda.synchronize();
    }

    /// <summary>Random inputs (masked steps zeroed) and targets for <paramref name="batches"/> batches.</summary>
    public (Tensor X, Tensor Y) Data(int batches, int seed = 0)
    {
        var gen = new Generator((ulong)seed);
        int n = Batch * batches;
        var x = torch.randn([n, Steps, Inputs], generator: gen);
        var y = torch.randn([n, 1], generator: gen);
        if (Mask == MaskKind.None) return (x, y);
        Tensor keep;
        if (Mask == MaskKind.RightPadded)
        {
            // Lengths uniform in [Steps/2, Steps].
            var lengths = torch.randint(Steps / 2, Steps + 1, [n], generator: gen);
            keep = torch.arange(Steps).unsqueeze(0).lt(lengths.unsqueeze(1));
        }
        else
        {
            // About 20% of the steps masked anywhere (gaps), the first step always real.
            keep = torch.rand([n, Steps], generator: gen).ge(0.2);
            keep.select(1, 0).fill_(true);
        }
        x.mul_(keep.unsqueeze(-1).to_type(ScalarType.Float32));
        return (x, y);
    }

    /// <summary>Our model, compiled with Adam and MSE.</summary>
    public Model BuildOurs(Func<int, bool, KRNN>? layerFactory = null)
    {
        layerFactory ??= (units, returnSequences) => DefaultLayer(units, returnSequences);
        var layers = new List<Layer> { new InputLayer([Steps, Inputs]) };
        if (Mask != MaskKind.None) layers.Add(new Masking(0.0));
        for (int i = 0; i < Layers; i++)
        {
            var rnn = layerFactory(Units, i < Layers - 1);
            layers.Add(Bidirectional ? new KBidirectional(rnn) : rnn);
        }
        layers.Add(new Dense(1));
        var model = new Keras.Rnn.Models.Sequential([.. layers]);
        model.Compile(optimizer: "adam", loss: "mse");
        model.Device = Device;
        return model;
    }

    private KRNN DefaultLayer(int units, bool returnSequences) => Cell switch
    {
        CellType.Lstm => new KLSTM(units, returnSequences: returnSequences),
        CellType.Gru => new KGRU(units, returnSequences: returnSequences),
        CellType.GruResetBefore => new KGRU(units, returnSequences: returnSequences, resetAfter: false),
        _ => new KSimpleRNN(units, returnSequences: returnSequences),
    };

    /// <summary>The hand-written TorchSharp model, on the spec's device.</summary>
    public RawNet BuildRaw()
    {
        var net = new RawNet(this);
        if (Device != "cpu") net.to(new torch.Device(Device));
        return net;
    }
}

/// <summary>
/// What a C# developer writes with TorchSharp alone: <c>nn.LSTM/GRU/RNN</c> (batch-first; <c>num_layers</c>,
/// <c>bidirectional</c>), right-padded batches packed with <c>pack_padded_sequence</c>, masks with gaps run step by
/// step with <c>nn.LSTMCell/GRUCell/RNNCell</c> holding the state at masked steps, then <c>nn.Linear</c> on the last
/// output. The masks are computed from the data as <c>Masking</c> does (any non-zero feature).
/// </summary>
internal sealed class RawNet : nn.Module<Tensor, Tensor>
{
    private readonly RecurrentSpec _spec;
    private readonly nn.Module? _rnn;
    private readonly ModuleList<nn.Module>? _cells;
    private readonly Linear _head;

    public RawNet(RecurrentSpec spec) : base("raw")
    {
        _spec = spec;
        int dirs = spec.Bidirectional ? 2 : 1;
        if (spec.Mask == MaskKind.Gaps)
        {
            if (spec.Layers != 1 || spec.Bidirectional) throw new ArgumentException("the gaps baseline is one unidirectional layer");
            _cells = new ModuleList<nn.Module>(spec.Cell switch
            {
                CellType.Lstm => nn.LSTMCell(spec.Inputs, spec.Units),
                CellType.Gru or CellType.GruResetBefore => nn.GRUCell(spec.Inputs, spec.Units),
                _ => nn.RNNCell(spec.Inputs, spec.Units),
            });
        }
        else
        {
            _rnn = spec.Cell switch
            {
                CellType.Lstm => nn.LSTM(spec.Inputs, spec.Units, spec.Layers, batchFirst: true, bidirectional: spec.Bidirectional),
                CellType.Gru or CellType.GruResetBefore => nn.GRU(spec.Inputs, spec.Units, spec.Layers, batchFirst: true, bidirectional: spec.Bidirectional),
                _ => nn.RNN(spec.Inputs, spec.Units, spec.Layers, batchFirst: true, bidirectional: spec.Bidirectional),
            };
        }
        _head = nn.Linear(spec.Units * dirs, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (_cells is not null) return _head.forward(StepLoop(x));
        int dirs = _spec.Bidirectional ? 2 : 1;
        Tensor hn;
        if (_spec.Mask == MaskKind.RightPadded)
        {
            var lengths = x.ne(0).any(2).sum(1).cpu(); // pack_padded_sequence takes CPU lengths
            using var packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first: true, enforce_sorted: false);
            torch.nn.utils.rnn.PackedSequence output;
            (output, hn) = _rnn switch
            {
                TLSTM l => Pick(l.call(packed)),
                TGRU g => g.call(packed),
                TRNN r => r.call(packed),
                _ => throw new InvalidOperationException(),
            };
            output.Dispose();
        }
        else
        {
            hn = _rnn switch
            {
                TLSTM l => l.call(x).Item2,
                TGRU g => g.call(x).Item2,
                TRNN r => r.call(x).Item2,
                _ => throw new InvalidOperationException(),
            };
        }
        // h_n (layers·dirs, B, u): the last layer's final states of both directions, as Keras' Bidirectional concatenates.
        var last = hn.narrow(0, hn.shape[0] - dirs, dirs).permute(1, 0, 2).reshape(x.shape[0], -1);
        return _head.forward(last);
    }

    private static (torch.nn.utils.rnn.PackedSequence, Tensor) Pick((torch.nn.utils.rnn.PackedSequence Output, Tensor H, Tensor C) r) => (r.Output, r.H);

    private Tensor StepLoop(Tensor x)
    {
        var keep = x.ne(0).any(2).unsqueeze(-1);
        long b = x.shape[0];
        var h = torch.zeros(b, _spec.Units, device: x.device);
        var c = torch.zeros(b, _spec.Units, device: x.device);
        var cell = _cells![0];
        for (long t = 0; t < x.shape[1]; t++)
        {
            var xt = x.select(1, t);
            var kt = keep.select(1, t);
            switch (cell)
            {
                case TLSTMCell l:
                {
                    var (hn, cn) = l.call(xt, (h, c));
                    h = torch.where(kt, hn, h);
                    c = torch.where(kt, cn, c);
                    break;
                }
                case TGRUCell g:
                    h = torch.where(kt, g.call(xt, h), h);
                    break;
                case TRNNCell r:
                    h = torch.where(kt, r.call(xt, h), h);
                    break;
            }
        }
        return h;
    }
}

/// <summary>A training loop over a <see cref="RawNet"/>: shuffled mini-batches, Adam, MSE.</summary>
internal sealed class RawTrainer(RawNet net, string device = "cpu")
{
    private readonly optim.Optimizer _optimizer = optim.Adam(net.parameters(), lr: 0.001);
    private readonly torch.Device _device = new(device);

    /// <summary>One epoch over (<paramref name="x"/>, <paramref name="y"/>); returns the elapsed milliseconds.</summary>
    public double Epoch(Tensor x, Tensor y, int batch) => Harness.Time(() =>
    {
        long n = x.shape[0];
        using var perm = torch.randperm(n);
        for (long start = 0; start < n; start += batch)
        {
            using var scope = torch.NewDisposeScope();
            var idx = perm.narrow(0, start, Math.Min(batch, n - start));
            var xb = x.index_select(0, idx).to(_device);
            var yb = y.index_select(0, idx).to(_device);
            _optimizer.zero_grad();
            var loss = nn.functional.mse_loss(net.forward(xb), yb);
            loss.backward();
            _optimizer.step();
        }
        if (_device.type == DeviceType.CUDA) torch.cuda.synchronize();
    });

    /// <summary>Forward only, without gradients (inference).</summary>
    public Tensor Predict(Tensor x)
    {
        using var _ = torch.no_grad();
        return net.forward(x);
    }
}

/// <summary>The raw loop's pieces that the profile diagnostics time: one step, forward + MSE + backward, forward, Adam.</summary>
internal static class RawPieces
{
    public static List<(string Name, Action A)> Of(RawNet net, optim.Optimizer optimizer, Tensor x, Tensor y) =>
    [
        ("raw step (forward, mse, backward, Adam)", () =>
        {
            using var s = torch.NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.mse_loss(net.forward(x), y).backward();
            optimizer.step();
        }),
        ("raw forward + mse + backward", () =>
        {
            using var s = torch.NewDisposeScope();
            nn.functional.mse_loss(net.forward(x), y).backward();
        }),
        ("raw forward (grad mode)", () =>
        {
            using var s = torch.NewDisposeScope();
            net.forward(x);
        }),
        ("raw Adam step", () => optimizer.step()),
    ];
}

/// <summary>Our model's pieces that the profile diagnostics time: forward + MSE + gradients, forward, optimizer update.</summary>
internal static class OursPieces
{
    public static List<(string Name, Action A)> Of(Keras.Rnn.Models.Model model, Tensor x, Tensor y)
    {
        List<Tensor>? grads = null;
        return
        [
            ("ours forward + mse + grad", () =>
            {
                using var s = torch.NewDisposeScope();
                var (pred, _) = model.Forward([x], true, null);
                var loss = pred[0].sub(y).square().mean();
                torch.autograd.grad([loss], model.TrainableWeights.Select(v => v.Value).ToList());
            }),
            ("ours forward (training)", () =>
            {
                using var s = torch.NewDisposeScope();
                model.Forward([x], true, null);
            }),
            ("ours optimizer ApplyGradients", () =>
            {
                using var s = torch.NewDisposeScope();
                grads ??= model.TrainableWeights.Select(v => torch.zeros_like(v.Value).DetachFromDisposeScope()).ToList();
                model.Optimizer!.ApplyGradients([.. grads], model.TrainableWeights);
            }),
        ];
    }
}

/// <summary>Activations used by the slow-path scenarios.</summary>
internal static class CustomActivations
{
    /// <summary>A user-defined activation (softsign written as a lambda): no fused kernel can know it.</summary>
    public static ActivationFunction Softsign => (Func<Tensor, Tensor>)(t => t.div(t.abs().add(1)));
}
