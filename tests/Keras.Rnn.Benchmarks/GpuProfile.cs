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
/// </summary>
internal static class GpuProfile
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        if (!torch.cuda.is_available())
        {
            table.Note("gpu-profile: skipped (CUDA is not available).");
            return;
        }
        foreach (var cell in new[] { CellType.Lstm, CellType.Gru })
        {
            var spec = RecurrentSpec.Standard(cell) with { Device = "cuda" };
            KerasApi.SetRandomSeed(0);
            var (xCpu, yCpu) = spec.Data(1);
            var x = xCpu.cuda();
            var y = yCpu.cuda();
            var model = spec.BuildOurs();
            var net = spec.BuildRaw();
            var optimizer = optim.Adam(net.parameters(), lr: 0.001);
            var rawRnn = net.children().First();
            var rawHead = net.children().Last();
            var trainer = model.GetTrainer();
            var device = new torch.Device("cuda");
            var pieces = new List<(string Name, Action A)>();
            void T(string name, Action a) => pieces.Add((name, a));
            T("raw step", () =>
            {
                using var s = torch.NewDisposeScope();
                optimizer.zero_grad();
                nn.functional.mse_loss(net.forward(x), y).backward();
                optimizer.step();
            });
            T("raw forward + mse + backward", () =>
            {
                using var s = torch.NewDisposeScope();
                nn.functional.mse_loss(net.forward(x), y).backward();
            });
            T("raw forward", () =>
            {
                using var s = torch.NewDisposeScope();
                net.forward(x);
            });
            T("raw Adam step", () => optimizer.step());
            T("ours Trainer.TrainStep", () => trainer.TrainStep(new DataBatch([x], [y], null, spec.Batch), device, model.TrainableWeights));
            T("ours forward + mse + grad", () =>
            {
                using var s = torch.NewDisposeScope();
                var (pred, _) = model.Forward([x], true, null);
                var loss = pred[0].sub(y).square().mean();
                torch.autograd.grad([loss], model.TrainableWeights.Select(v => v.Value).ToList());
            });
            T("ours forward (training)", () =>
            {
                using var s = torch.NewDisposeScope();
                model.Forward([x], true, null);
            });
            var layer = model.Layers.OfType<RNN>().Single();
            var dense = model.Layers.OfType<Dense>().Single();
            var w = layer.TrainableWeights.Select(v => v.Value).ToList();
            T("ours RNN layer fwd+bwd", () =>
            {
                using var s = torch.NewDisposeScope();
                torch.autograd.grad([layer.Apply(x, training: true).sum()], w);
            });
            T("ours RNN layer forward", () =>
            {
                using var s = torch.NewDisposeScope();
                layer.Apply(x, training: true);
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
            List<Tensor>? grads = null;
            T("ours optimizer ApplyGradients", () =>
            {
                using var s = torch.NewDisposeScope();
                grads ??= model.TrainableWeights.Select(v => torch.zeros_like(v.Value).DetachFromDisposeScope()).ToList();
                model.Optimizer!.ApplyGradients([.. grads], model.TrainableWeights);
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
                Console.WriteLine($"  {cell,-5} {pieces[k].Name,-34} issue {Harness.F(Harness.Median(issue[k]), "F0"),6} µs, latency {Harness.F(Harness.Median(latency[k]), "F0"),6} µs");
        }
    }
}
