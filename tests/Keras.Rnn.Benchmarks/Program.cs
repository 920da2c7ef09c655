// Benchmarks of Keras.Rnn against a hand-written TorchSharp training loop, measured in the same run.
// Run: dotnet run -c Release --project tests/Keras.Rnn.Benchmarks -- [--scenario fit|memory|layer|all] [--quick]
using System.Diagnostics;
using System.Globalization;
using Keras.Rnn;
using Keras.Rnn.Benchmarks;
using TorchSharp;

var options = BenchmarkOptions.Parse(args);
KerasConfig.InitializeNativeLibraries();
Console.WriteLine($"Keras.Rnn benchmarks — {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine($"machine: {MachineInfo.Describe()}");
Console.WriteLine();

if (options.Scenario is "fit" or "all")
    FitBenchmark.Run(options);
if (options.Scenario is "layer")
    LayerBenchmark.Run(options);
if (options.Scenario is "memory" or "all")
    MemoryBenchmark.Run(options);
return 0;

/// <summary>Command-line options.</summary>
internal sealed record BenchmarkOptions(string Scenario, bool Quick)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        string scenario = "all";
        bool quick = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--scenario" when i + 1 < args.Length: scenario = args[++i]; break;
                case "--quick": quick = true; break;
                case "--help" or "-h":
                    Console.WriteLine("Usage: dotnet run -c Release --project tests/Keras.Rnn.Benchmarks -- [--scenario fit|memory|layer|all] [--quick]");
                    Environment.Exit(0);
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    Environment.Exit(2);
                    break;
            }
        }
        if (scenario is not ("fit" or "memory" or "layer" or "all"))
        {
            Console.Error.WriteLine($"unknown scenario '{scenario}' (fit, memory, layer, all)");
            Environment.Exit(2);
        }
        return new BenchmarkOptions(scenario, quick);
    }
}

/// <summary>What the machine is.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return model is null ? Environment.OSVersion.ToString() : model.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return Environment.OSVersion.ToString();
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    public static string F(double v, string format = "F3") => v.ToString(format, CultureInfo.InvariantCulture);
}
