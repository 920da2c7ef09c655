using System.Diagnostics;
using Keras.Rnn.Layers;
using Keras.Rnn.Utils;
using TorchSharp;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// Cold start of the command-line tool: <c>keras-rnn predict</c> on a small saved model, each run a new process
/// (runtime start, JIT, loading libtorch, reading the archive, one prediction, writing the output).
/// </summary>
internal static class ColdStart
{
    /// <summary>The built tool (<c>src/Keras.Rnn.Cli/bin/&lt;configuration&gt;/net10.0/keras-rnn.dll</c>), found from the benchmark's own folder.</summary>
    public static string? FindCli()
    {
        // The benchmark runs from tests/Keras.Rnn.Benchmarks/bin/<configuration>/net10.0/.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Keras.Rnn.Cli", "bin", configuration, "net10.0", "keras-rnn.dll");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        var cli = FindCli();
        if (cli is null)
        {
            table.Note("coldstart: keras-rnn.dll not found; build it with `dotnet build -c Release src/Keras.Rnn.Cli`.");
            return;
        }
        var folder = Path.Combine(Path.GetTempPath(), $"keras-rnn-coldstart-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            // A small model: LSTM(32) → Dense(1) on 20 steps × 8 features; one batch of 4 sequences.
            KerasApi.SetRandomSeed(0);
            var model = new Keras.Rnn.Models.Sequential(new InputLayer([20, 8]), new Keras.Rnn.Layers.LSTM(32), new Dense(1));
            model.Compile(optimizer: "adam", loss: "mse");
            var modelPath = Path.Combine(folder, "small.keras");
            model.Save(modelPath);
            var input = Path.Combine(folder, "x.npy");
            using (var x = torch.randn(4, 20, 8)) Npy.Write(input, x);
            var output = Path.Combine(folder, "y.npy");
            string[] arguments = [cli, "predict", modelPath, "--input", input, "--output", output];
            int runs = options.Quick ? 3 : 7;
            Spawn(arguments); // warms the file cache, as a user's second call would find it
            var times = new List<double>();
            for (int i = 0; i < runs; i++) times.Add(Spawn(arguments));
            double median = Harness.Median(times);
            table.Note($"Cold start: `dotnet keras-rnn.dll predict` on a saved LSTM(32) → Dense(1) model (4 sequences × 20 steps), a new process each run: " +
                       $"median {Harness.F(median, "F0")} ms, min {Harness.F(times.Min(), "F0")} ms, max {Harness.F(times.Max(), "F0")} ms over {runs} runs " +
                       "(target: under 2000 ms).");
            table.Note("");
            table.Add(new Row("coldstart-predict", median, 2000, median / 2000, 0, null, null, "ms/process", "target 2 s (ratio = fraction of it)"));
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }

    /// <summary>Runs <c>dotnet ARGS</c> and returns the wall time (ms); throws when the command fails.</summary>
    private static double Spawn(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        double ms = clock.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"keras-rnn predict failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
        return ms;
    }
}
