using System.Diagnostics;
using Keras.Rnn;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using TorchLSTM = TorchSharp.Modules.LSTM;
using TorchGRU = TorchSharp.Modules.GRU;
using TorchLinear = TorchSharp.Modules.Linear;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// <c>Model.Fit</c> against a hand-written TorchSharp loop (nn.LSTM/nn.GRU + nn.Linear + torch.optim.Adam + MSE, same
/// shapes, same data, shuffled mini-batches), interleaved in the same process; reports the median time per training
/// step and the ratio.
/// </summary>
internal static class FitBenchmark
{
    public static void Run(BenchmarkOptions options)
    {
        int batch = 64, steps = 50, inputs = 128, units = 256;
        int batchesPerEpoch = options.Quick ? 4 : 12;
        int repeats = options.Quick ? 3 : 9;
        Console.WriteLine($"Fit vs raw TorchSharp loop: batch {batch}, {steps} steps, {inputs} inputs, {units} units, Adam, MSE; " +
                          $"{batchesPerEpoch} batches per epoch; epochs of ours (inside one Fit) and of the raw loop alternate, {repeats} pairs after a warm-up pair;");
        Console.WriteLine("ratio = median over pairs of (ours / raw), which cancels slow drifts in machine load");
        Console.WriteLine($"{"scenario",-10} {"ours ms/step",13} {"raw ms/step",12} {"ratio",7}");
        foreach (var cell in new[] { "lstm", "gru" })
        {
            KerasApi.SetRandomSeed(0);
            var x = torch.randn(batch * batchesPerEpoch, steps, inputs);
            var y = torch.randn(batch * batchesPerEpoch, 1);
            var ours = new List<double>();
            var raw = new List<double>();
            var model = BuildModel(cell, steps, inputs, units);
            var rawLoop = new RawLoop(cell, inputs, units);
            // One Fit call (as users train); each epoch of ours is timed from its start to its end, and an epoch of the
            // raw loop runs right after it, so both see the same machine state. The first pair is warm-up.
            var clock = new Stopwatch();
            var interleave = new LambdaCallback(
                onEpochBegin: (_, _) => clock.Restart(),
                onEpochEnd: (epoch, _) =>
                {
                    double ms = clock.Elapsed.TotalMilliseconds;
                    double rawMs = rawLoop.Epoch(x, y, batch);
                    if (epoch == 0) return;
                    ours.Add(ms / batchesPerEpoch);
                    raw.Add(rawMs / batchesPerEpoch);
                });
            model.Fit(x, y, batchSize: batch, epochs: repeats + 1, verbose: 0, shuffle: true, callbacks: [interleave]);
            double o = MachineInfo.Median(ours), w = MachineInfo.Median(raw);
            double ratio = MachineInfo.Median(ours.Zip(raw, (a, b) => a / b));
            Console.WriteLine($"{cell,-10} {MachineInfo.F(o, "F1"),13} {MachineInfo.F(w, "F1"),12} {MachineInfo.F(ratio),7}");
            x.Dispose();
            y.Dispose();
        }
        Console.WriteLine();
    }

    private static Model BuildModel(string cell, int steps, int inputs, int units)
    {
        Layer recurrent = cell == "lstm" ? new LSTM(units) : new GRU(units);
        var model = new Sequential(new InputLayer([steps, inputs]), recurrent, new Dense(1));
        model.Compile(optimizer: "adam", loss: "mse");
        return model;
    }

    /// <summary>What a C# developer writes with TorchSharp alone.</summary>
    private sealed class RawLoop
    {
        private readonly nn.Module<Tensor, Tensor> _model;
        private readonly optim.Optimizer _optimizer;

        public RawLoop(string cell, int inputs, int units)
        {
            _model = new Net(cell, inputs, units);
            _optimizer = optim.Adam(_model.parameters(), lr: 0.001);
        }

        public double Epoch(Tensor x, Tensor y, int batch)
        {
            var clock = Stopwatch.StartNew();
            long n = x.shape[0];
            using var perm = torch.randperm(n);
            for (long start = 0; start < n; start += batch)
            {
                using var scope = torch.NewDisposeScope();
                var idx = perm.narrow(0, start, Math.Min(batch, n - start));
                var xb = x.index_select(0, idx);
                var yb = y.index_select(0, idx);
                _optimizer.zero_grad();
                var loss = nn.functional.mse_loss(_model.forward(xb), yb);
                loss.backward();
                _optimizer.step();
            }
            return clock.Elapsed.TotalMilliseconds;
        }
    }

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module? _lstm;
        private readonly nn.Module? _gru;
        private readonly TorchLinear _head;

        public Net(string cell, int inputs, int units) : base("raw")
        {
            if (cell == "lstm") _lstm = nn.LSTM(inputs, units, batchFirst: true);
            else _gru = nn.GRU(inputs, units, batchFirst: true);
            _head = nn.Linear(units, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            Tensor h;
            if (_lstm is TorchLSTM lstm)
            {
                var (y, _, _) = lstm.forward(x);
                h = y[.., -1, ..];
            }
            else
            {
                var (y, _) = ((TorchGRU)_gru!).forward(x);
                h = y[.., -1, ..];
            }
            return _head.forward(h);
        }
    }
}
