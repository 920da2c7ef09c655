using System.Diagnostics;
using Keras.Rnn;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// Trains a small LSTM for 2,000 steps (<c>Fit</c>, Adam, MSE, a metric) and records the process's resident memory
/// along the way: after warm-up it must stay flat (every loop runs in dispose scopes).
/// </summary>
internal static class MemoryBenchmark
{
    public static void Run(BenchmarkOptions options)
    {
        int totalSteps = options.Quick ? 600 : 2000;
        int stepsPerEpoch = 100;
        KerasApi.SetRandomSeed(0);
        var model = new Sequential(new InputLayer([20, 8]), new LSTM(32, returnSequences: true), new LSTM(16), new Dense(1));
        model.Compile(optimizer: "adam", loss: "mse", metrics: ["mae"]);
        using var x = torch.randn(32 * stepsPerEpoch, 20, 8);
        using var y = torch.randn(32 * stepsPerEpoch, 1);
        Console.WriteLine($"Memory: {totalSteps} training steps (batch 32, LSTM 32 → LSTM 16 → Dense), resident memory after each {stepsPerEpoch} steps");
        var rss = new List<(int Step, double Mb)>();
        for (int step = stepsPerEpoch; step <= totalSteps; step += stepsPerEpoch)
        {
            model.Fit(x, y, batchSize: 32, epochs: 1, verbose: 0);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            using var process = Process.GetCurrentProcess();
            rss.Add((step, process.WorkingSet64 / (1024.0 * 1024.0)));
        }
        foreach (var (step, mb) in rss)
            if (step % 500 == 0 || step == rss[0].Step || step == totalSteps)
                Console.WriteLine($"  step {step,5}: {MachineInfo.F(mb, "F1")} MB");
        var afterWarmup = rss.Where(r => r.Step >= totalSteps / 4).ToList();
        double growth = afterWarmup[^1].Mb - afterWarmup[0].Mb;
        Console.WriteLine($"  growth from step {afterWarmup[0].Step} to {totalSteps}: {MachineInfo.F(growth, "F1")} MB " +
                          $"({MachineInfo.F(growth / afterWarmup[0].Mb * 100, "F1")}%)");
        Console.WriteLine();
    }
}
