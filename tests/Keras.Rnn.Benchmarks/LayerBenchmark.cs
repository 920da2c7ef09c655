using System.Diagnostics;
using Keras.Rnn;
using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// Forward and backward of one recurrent layer against torch's module with the same shapes, and the fused kernel
/// called directly on leaf weights: shows where per-call overhead of the layer (weight mapping, checks) goes.
/// </summary>
internal static class LayerBenchmark
{
    public static void Run(BenchmarkOptions options)
    {
        int b = 64, t = 50, i = 128, u = 256;
        int repeats = options.Quick ? 5 : 20;
        Console.WriteLine($"Layer forward+backward: batch {b}, {t} steps, {i} inputs, {u} units; cases alternate, median of {repeats}");
        using var x = torch.randn(b, t, i);
        var ours = new GRU(u);
        ours.Build(new Shape(null, t, i));
        var oursLstm = new LSTM(u);
        oursLstm.Build(new Shape(null, t, i));
        var rawGru = nn.GRU(i, u, batchFirst: true);
        var rawLstm = nn.LSTM(i, u, batchFirst: true);
        var h0 = torch.zeros(b, u);
        var cases = new (string Name, Action Run)[]
        {
            ("gru raw module", () => { using var s = torch.NewDisposeScope(); var (y, _) = rawGru.forward(x); y[.., -1, ..].sum().backward(); }),
            ("gru layer", () => { using var s = torch.NewDisposeScope(); ours.ApplyAll([x], training: true)[0].sum().backward(); }),
            ("gru kernel", () =>
            {
                using var s = torch.NewDisposeScope();
                var (y, _) = FusedRnn.Gru(x, h0, ours.Cell.Kernel!.Value, ours.Cell.RecurrentKernel!.Value, ours.Cell.Bias!.Value, null, false);
                y[.., -1, ..].sum().backward();
            }),
            ("lstm raw module", () => { using var s = torch.NewDisposeScope(); var (y, _, _) = rawLstm.forward(x); y[.., -1, ..].sum().backward(); }),
            ("lstm layer", () => { using var s = torch.NewDisposeScope(); oursLstm.ApplyAll([x], training: true)[0].sum().backward(); }),
        };
        foreach (var c in cases) for (int k = 0; k < 3; k++) c.Run();
        var times = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (int r = 0; r < repeats; r++)
            foreach (var c in cases)
            {
                var clock = Stopwatch.StartNew();
                c.Run();
                times[c.Name].Add(clock.Elapsed.TotalMilliseconds);
            }
        foreach (var (name, v) in times) Console.WriteLine($"  {name,-16} {MachineInfo.F(MachineInfo.Median(v), "F1"),8} ms");
        Console.WriteLine();
    }
}
