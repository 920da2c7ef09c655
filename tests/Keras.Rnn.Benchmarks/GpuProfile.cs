using System.Diagnostics;
using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using Keras.Rnn.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// Where the time of one standard-size training step on the GPU goes, ours against the raw loop (diagnostics; not
/// part of the table). For each piece: the host's issue time (until the call returns, the GPU still working) and the
/// latency (until the GPU is done). Where issue ≈ latency the step is bound by the host issuing kernels, not the GPU.
/// Standard LSTM and GRU, and the LSTM on right-padded data (packed through cuDNN; 2.3× the raw loop on the H200).
/// </summary>
internal static class GpuProfile
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        foreach (var (label, spec) in new (string, RecurrentSpec)[]
        {
            ("Lstm", RecurrentSpec.Standard(CellType.Lstm) with { Device = "cuda" }),
            ("Gru", RecurrentSpec.Standard(CellType.Gru) with { Device = "cuda" }),
            ("LstmPad", RecurrentSpec.Standard(CellType.Lstm) with { Mask = MaskKind.RightPadded, Device = "cuda" }),
        })
        {
            var cell = spec.Cell;
            KerasApi.SetRandomSeed(0);
            var (xCpu, yCpu) = spec.Data(1);
            var x = xCpu.cuda();
            var y = yCpu.cuda();
            var model = spec.BuildOurs();
            var net = spec.BuildRaw();
            var optimizer = optim.Adam(net.parameters(), lr: 0.001);
            var trainer = model.GetTrainer();
            var device = new torch.Device("cuda");
            var pieces = RawPieces.Of(net, optimizer, x, y);
            void T(string name, Action a) => pieces.Add((name, a));
            T("ours Trainer.TrainStep", () => trainer.TrainStep(new DataBatch([x], [y], null, spec.Batch), device, model.TrainableWeights));
            pieces.AddRange(OursPieces.Of(model, x, y));
            var layer = model.Layers.OfType<RNN>().Single();
            // The mask the model's Masking layer gives the recurrent layer (right-padded rows), or none.
            var mask = spec.Mask == MaskKind.None ? null : x.ne(0).any(-1);
            var dense = model.Layers.OfType<Dense>().Single();
            var w = layer.TrainableWeights.Select(v => v.Value).ToList();
            T("ours RNN layer fwd+bwd", () =>
            {
                using var s = torch.NewDisposeScope();
                torch.autograd.grad([layer.Apply(x, mask, training: true).sum()], w);
            });
            T("ours RNN layer forward", () =>
            {
                using var s = torch.NewDisposeScope();
                layer.Apply(x, mask, training: true);
            });
            var features = torch.randn(spec.Batch, spec.Units, device: device).requires_grad_(true);
            var dw = dense.TrainableWeights.Select(v => v.Value).Append(features).ToList();
            T("ours Dense + mse fwd+bwd", () =>
            {
                using var s = torch.NewDisposeScope();
                torch.autograd.grad([dense.Apply(features, training: true).sub(y).square().mean()], dw);
            });
            var cellVars = layer.TrainableWeights;
            T("ours torch-layout weights (fwd)", () =>
            {
                using var s = torch.NewDisposeScope();
                if (cell == CellType.Lstm) FusedRnn.LstmParams(cellVars[0].Value, cellVars[1].Value, cellVars[2].Value);
                else FusedRnn.GruParams(cellVars[0].Value, cellVars[1].Value, cellVars[2].Value);
            });
            // Issue time and latency per call, five calls per timing, round robin.
            const int per = 5;
            foreach (var p in pieces) for (int i = 0; i < 10; i++) p.A();
            torch.cuda.synchronize();
            var issue = pieces.Select(_ => new List<double>()).ToArray();
            var latency = pieces.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < (options.Quick ? 10 : 40); r++)
                for (int k = 0; k < pieces.Count; k++)
                {
                    torch.cuda.synchronize();
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < per; i++) pieces[k].A();
                    issue[k].Add(clock.Elapsed.TotalMilliseconds * 1000 / per);
                    torch.cuda.synchronize();
                    latency[k].Add(clock.Elapsed.TotalMilliseconds * 1000 / per);
                }
            for (int k = 0; k < pieces.Count; k++)
                Console.WriteLine($"  {label,-7} {pieces[k].Name,-34} issue {Harness.F(Harness.Median(issue[k]), "F0"),6} µs, latency {Harness.F(Harness.Median(latency[k]), "F0"),6} µs");
        }
    }
}
