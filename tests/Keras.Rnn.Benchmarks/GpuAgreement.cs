using Keras.Rnn.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// CPU and GPU results of the same model: predictions before training, losses and weights after training from the
/// same starting weights on the same batches. Printed as notes; the agreement expected is that of TF32 matrix
/// products (cuDNN's recurrent kernels use TF32 by default on Ampere and later), about 1e-3 relative.
/// </summary>
internal static class GpuAgreement
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        var specs = new (string Name, RecurrentSpec Spec)[]
        {
            ("lstm", Spec(CellType.Lstm)),
            ("gru", Spec(CellType.Gru)),
            ("gru-reset-before", Spec(CellType.GruResetBefore)),
            ("simplernn", Spec(CellType.SimpleRnn)),
            ("lstm-gaps", Spec(CellType.Lstm) with { Mask = MaskKind.Gaps }),
            ("gru-gaps", Spec(CellType.Gru) with { Mask = MaskKind.Gaps }),
            ("gru-reset-before-gaps", Spec(CellType.GruResetBefore) with { Mask = MaskKind.Gaps }),
            ("simplernn-gaps", Spec(CellType.SimpleRnn) with { Mask = MaskKind.Gaps }),
            ("lstm-bidirectional-stacked-right-padded", Spec(CellType.Lstm) with { Bidirectional = true, Layers = 2, Mask = MaskKind.RightPadded }),
        };
        table.Note("CPU vs GPU (same starting weights and batches; Adam, MSE, 4 batches of 32 × 30 steps × 16 inputs × 64 units):");
        table.Note("| model | predict max abs diff (max abs output) | loss CPU / GPU after 2 epochs | weights max abs diff (max abs change in training) |");
        table.Note("|---|---:|---:|---:|");
        foreach (var (name, spec) in specs)
        {
            Console.Error.WriteLine($"  agreement {name}…");
            KerasApi.SetRandomSeed(0);
            var (x, y) = spec.Data(4, seed: 3);
            var cpu = spec.BuildOurs();
            var gpu = spec.BuildOurs();
            gpu.SetWeights(cpu.GetWeights());
            var start = cpu.Weights.Select(v => v.Value.detach().clone()).ToArray();
            gpu.Device = "cuda";
            using var pc = cpu.Predict(x, verbose: 0);
            using var pg = gpu.Predict(x, verbose: 0).cpu();
            double predictDiff = pc.sub(pg).abs().max().item<float>();
            double predictScale = pc.abs().max().item<float>();
            var hc = cpu.Fit(x, y, batchSize: spec.Batch, epochs: 2, verbose: 0, shuffle: false);
            var hg = gpu.Fit(x, y, batchSize: spec.Batch, epochs: 2, verbose: 0, shuffle: false);
            double weightDiff = 0, change = 0;
            for (int i = 0; i < cpu.Weights.Count; i++)
            {
                var wc = cpu.Weights[i].Value.detach();
                using var wg = gpu.Weights[i].Value.detach().cpu();
                weightDiff = Math.Max(weightDiff, wc.sub(wg).abs().max().item<float>());
                change = Math.Max(change, wc.sub(start[i]).abs().max().item<float>());
            }
            table.Note($"| {name} | {predictDiff:0.00e+00} ({predictScale:F3}) | {hc.HistoryValues["loss"][^1]:F6} / {hg.HistoryValues["loss"][^1]:F6} | {weightDiff:0.00e+00} ({change:0.00e+00}) |");
            foreach (var s in start) s.Dispose();
            x.Dispose();
            y.Dispose();
        }
        table.Note("");
    }

    private static RecurrentSpec Spec(CellType cell) => new(cell, 32, 30, 16, 64);
}
