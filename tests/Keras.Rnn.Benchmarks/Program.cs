// Benchmarks of Keras.Rnn against hand-written TorchSharp loops, measured in the same run (alternating).
// Run: dotnet run -c Release --project tests/Keras.Rnn.Benchmarks -- [--scenario NAME[,NAME…]] [--quick] [--threads N] [--kernels auto|custom|aten] [--list]
using Keras.Rnn;
using Keras.Rnn.Benchmarks;
using TorchSharp;

var options = BenchmarkOptions.Parse(args);
if (options.List)
{
    foreach (var s in Scenarios.All) Console.WriteLine($"{s.Name,-28} {s.Description}");
    return 0;
}
var selected = Scenarios.Select(options.Scenario);
if (selected.Count == 0)
{
    Console.Error.WriteLine($"no scenario matches '{options.Scenario}' (see --list; groups: all, fit, gpu, slow, predict, memory, layer, diagnostics)");
    return 2;
}
KerasConfig.InitializeNativeLibraries();
Harness.SetUpAllocator();
if (options.Threads is int threads) torch.set_num_threads(threads);
Keras.Rnn.Backend.RecurrentKernels.Mode = options.Kernels;
Console.WriteLine($"Keras.Rnn benchmarks — {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, " +
                  $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(options.Quick ? ", quick mode" : "")}, recurrent kernels: {options.Kernels}");
Console.WriteLine($"machine: {Harness.DescribeMachine()}");
double limit = Harness.MatmulLimit(options.Quick);
Console.WriteLine($"fp32 matrix-multiply limit (square torch.mm, median): {Harness.F(limit, "F1")} GFLOP/s");
var table = new ResultTable(limit);
if (selected.Any(s => s.NeedsCuda) && torch.cuda.is_available())
{
    table.GpuLimitGflops = Harness.MatmulLimit(options.Quick, "cuda");
    Console.WriteLine($"GPU fp32 matrix-multiply limit (8192² torch.mm on cuda, median): {Harness.F(table.GpuLimitGflops.Value, "F0")} GFLOP/s");
}
Console.WriteLine();
foreach (var scenario in selected)
{
    if (scenario.NeedsCuda && !torch.cuda.is_available())
    {
        table.Note($"{scenario.Name}: skipped (CUDA is not available).");
        continue;
    }
    Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {scenario.Name}…");
    scenario.Run(options, table);
}
table.Print();
return 0;

/// <summary>Command-line options.</summary>
internal sealed record BenchmarkOptions(string Scenario, bool Quick, int? Threads, bool List,
    Keras.Rnn.Backend.RecurrentKernelMode Kernels = Keras.Rnn.Backend.RecurrentKernelMode.Auto)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        string scenario = "all";
        bool quick = false, list = false;
        int? threads = null;
        var kernels = Keras.Rnn.Backend.RecurrentKernelMode.Auto;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--scenario" when i + 1 < args.Length: scenario = args[++i]; break;
                case "--quick": quick = true; break;
                case "--list": list = true; break;
                case "--kernels" when i + 1 < args.Length && Enum.TryParse<Keras.Rnn.Backend.RecurrentKernelMode>(args[i + 1], true, out var k):
                    kernels = k;
                    i++;
                    break;
                case "--threads" when i + 1 < args.Length && int.TryParse(args[i + 1], out var t) && t > 0: threads = t; i++; break;
                case "--help" or "-h":
                    Console.WriteLine("Usage: dotnet run -c Release --project tests/Keras.Rnn.Benchmarks -- [--scenario NAME[,NAME...]] [--quick] [--threads N] [--kernels auto|custom|aten] [--list]");
                    Console.WriteLine("--kernels: which recurrent kernels our layers use (default auto; custom = ours everywhere, aten = torch's fused kernels / step loop, as before our kernels).");
                    Console.WriteLine("NAME: a scenario (see --list), a group (fit, gpu, slow, predict, memory, layer, diagnostics) or all (default; every group but diagnostics).");
                    Environment.Exit(0);
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}' (try --help)");
                    Environment.Exit(2);
                    break;
            }
        }
        return new BenchmarkOptions(scenario, quick, threads, list, kernels);
    }
}
