using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>One row of the result table.</summary>
/// <param name="Scenario">Scenario name.</param>
/// <param name="Ours">Our median time (ms per training step, per call, …; see <paramref name="Unit"/>).</param>
/// <param name="Baseline">The baseline's median time, or <c>null</c>.</param>
/// <param name="Ratio">Median of the per-pair ratios ours / baseline, or <c>null</c>.</param>
/// <param name="Flops">Useful FLOPs per timed unit (for GFLOP/s), or 0 when not meaningful.</param>
/// <param name="PeakOursMb">Peak memory of ours above the resting process (MB), or <c>null</c>.</param>
/// <param name="PeakBaselineMb">Peak memory of the baseline (MB), or <c>null</c>.</param>
/// <param name="Unit">What one timed unit is.</param>
/// <param name="BaselineName">What the baseline is.</param>
/// <param name="OnGpu">Whether the row ran on the GPU (its "% limit" is then of the GPU's measured matrix-multiply rate).</param>
internal sealed record Row(string Scenario, double Ours, double? Baseline, double? Ratio, double Flops, double? PeakOursMb,
    double? PeakBaselineMb, string Unit, string BaselineName, bool OnGpu = false);

/// <summary>Collects rows and prints the table at the end.</summary>
internal sealed class ResultTable(double limitGflops)
{
    /// <summary>The GPU's measured fp32 matrix-multiply rate (GFLOP/s) for GPU rows, or <c>null</c> when none was measured.</summary>
    public double? GpuLimitGflops { get; set; }

    private readonly List<Row> _rows = [];
    private readonly List<string> _notes = [];

    public void Add(Row row)
    {
        _rows.Add(row);
        // Also print each row as it is measured, so that long runs show progress.
        Console.Error.WriteLine($"  {row.Scenario}: ours {Harness.F(row.Ours, "F2")} {row.Unit}, baseline {Opt(row.Baseline, "F2")}, ratio {Opt(row.Ratio, "F3")}");
    }

    public void Note(string text) => _notes.Add(text);

    public void Print()
    {
        if (_rows.Count > 0)
        {
            Console.WriteLine($"| {"scenario",-26} | {"unit",-10} | {"ours",9} | {"baseline",9} | {"ratio",6} | {"GFLOP/s",7} | {"% limit",7} | {"peak MB ours/base",17} | baseline |");
            Console.WriteLine($"|{new string('-', 28)}|{new string('-', 12)}|{new string('-', 10)}:|{new string('-', 10)}:|{new string('-', 7)}:|{new string('-', 8)}:|{new string('-', 8)}:|{new string('-', 18)}:|----------|");
            foreach (var r in _rows)
            {
                double gflops = r.Flops > 0 ? r.Flops / (r.Ours * 1e-3) / 1e9 : double.NaN;
                string g = double.IsNaN(gflops) ? "" : Harness.F(gflops, "F1");
                double? limit = r.OnGpu ? GpuLimitGflops : limitGflops;
                string pct = double.IsNaN(gflops) || limit is null ? "" : Harness.F(gflops / limit.Value * 100, "F0") + "%";
                string peak = r.PeakOursMb is null ? "" : $"{Opt(r.PeakOursMb, "F0")} / {Opt(r.PeakBaselineMb, "F0")}";
                Console.WriteLine($"| {r.Scenario,-26} | {r.Unit,-10} | {Harness.F(r.Ours, "F2"),9} | {Opt(r.Baseline, "F2"),9} | {Opt(r.Ratio, "F3"),6} | {g,7} | {pct,7} | {peak,17} | {r.BaselineName} |");
            }
            Console.WriteLine();
        }
        foreach (var n in _notes) Console.WriteLine(n);
    }

    private static string Opt(double? v, string format) => v is double d ? Harness.F(d, format) : "";
}

/// <summary>Timing, memory and machine helpers.</summary>
internal static class Harness
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static bool _canTrim = true;

    /// <summary>Nothing to configure at present beyond checking that malloc_trim is callable (glibc).</summary>
    public static void SetUpAllocator() => TrimHeap();

    /// <summary>
    /// Returns freed heap memory to the OS so that resident memory reflects live memory. Our kernels' cached buffers
    /// (<see cref="Keras.Rnn.Backend.HostBufferPool"/>) are freed first: a measurement that starts here counts them when
    /// they are allocated again, as the raw loop's buffers are.
    /// </summary>
    public static void TrimHeap()
    {
        Keras.Rnn.Backend.HostBufferPool.Release();
        if (!_canTrim) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _canTrim = false; }
    }

    public static string DescribeMachine()
    {
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            long memKb = File.ReadLines("/proc/meminfo").Where(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
                .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault();
            return $"{model?.Split(':', 2)[1].Trim() ?? "unknown CPU"}, {memKb / 1024 / 1024} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
                   $"TorchSharp {typeof(torch).Assembly.GetName().Version}";
        }
        catch (IOException)
        {
            return RuntimeInformation.OSDescription;
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    public static string F(double v, string format = "F3") => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>
    /// fp32 GFLOP/s of a large square matrix product (median of several), the machine's practical limit. The product
    /// is written into a preallocated output (<c>addmm_</c> with β = 0): a fresh 16 MB result per call would add page
    /// faults to the time and understate the limit.
    /// </summary>
    public static double MatmulLimit(bool quick, string device = "cpu")
    {
        bool cuda = device != "cpu";
        int n = cuda ? 8192 : 2048;
        var dev = new torch.Device(device);
        using var a = torch.randn(n, n, device: dev);
        using var b = torch.randn(n, n, device: dev);
        using var c = torch.zeros(n, n, device: dev);
        for (int i = 0; i < 3; i++) c.addmm_(a, b, 0, 1);
        if (cuda) torch.cuda.synchronize();
        var times = new List<double>();
        for (int i = 0; i < (quick ? 5 : 11); i++)
        {
            var clock = Stopwatch.StartNew();
            c.addmm_(a, b, 0, 1);
            if (cuda) torch.cuda.synchronize();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / Median(times) / 1e9;
    }

    /// <summary>
    /// Runs <paramref name="ours"/> and <paramref name="baseline"/> alternately (after <paramref name="warmup"/> pairs)
    /// and returns the medians (ms) and the median of the per-pair ratios.
    /// </summary>
    public static (double Ours, double Baseline, double Ratio) Pairs(Action ours, Action baseline, int warmup, int repeats)
    {
        for (int i = 0; i < warmup; i++)
        {
            ours();
            baseline();
        }
        var o = new List<double>();
        var b = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            // Alternate which goes first, so neither always follows the other's cache state.
            if (i % 2 == 0)
            {
                o.Add(Time(ours));
                b.Add(Time(baseline));
            }
            else
            {
                b.Add(Time(baseline));
                o.Add(Time(ours));
            }
        }
        return (Median(o), Median(b), Median(o.Zip(b, (x, y) => x / y)));
    }

    public static double Time(Action a)
    {
        var clock = Stopwatch.StartNew();
        a();
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>Current resident memory (MB).</summary>
    public static double RssMb() => StatusKb("VmRSS:") / 1024.0;

    /// <summary>
    /// Times each piece after <paramref name="warmup"/> calls, round-robin (one batch of five calls per piece per round,
    /// so all see the same machine load), and prints the median and minimum µs per call, prefixed by <paramref name="label"/>.
    /// </summary>
    public static void RoundRobin(IReadOnlyList<(string Name, Action A)> pieces, bool quick, int warmup, string label)
    {
        foreach (var p in pieces) for (int i = 0; i < warmup; i++) p.A();
        var times = pieces.Select(_ => new List<double>()).ToArray();
        int rounds = quick ? 10 : 60, per = 5;
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < pieces.Count; k++)
                times[k].Add(Time(() => { for (int i = 0; i < per; i++) pieces[k].A(); }) * 1000 / per);
        for (int k = 0; k < pieces.Count; k++)
            Console.WriteLine($"  {label,-6} {pieces[k].Name,-44} median {F(Median(times[k]), "F1"),8} µs, min {F(times[k].Min(), "F1"),8} µs");
    }

    /// <summary>
    /// Peak resident memory (MB) while <paramref name="action"/> runs, above the resident memory before it: collects
    /// garbage and trims the heap first, then resets the kernel's high-water mark (<c>/proc/self/clear_refs</c>).
    /// <c>null</c> where the kernel does not allow it.
    /// </summary>
    public static double? PeakMb(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        TrimHeap();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        double before = RssMb();
        action();
        double peak = StatusKb("VmHWM:") / 1024.0;
        return Math.Max(0, peak - before);
    }

    /// <summary>
    /// Median peak memory (see <see cref="PeakMb"/>) of <paramref name="ours"/> and of <paramref name="baseline"/> over
    /// <paramref name="rounds"/> alternating measurements: one measurement moves by 10–15 MB between identical runs
    /// (where glibc places the freed buffers of the previous steps), so one sample per side cannot show a 20% difference.
    /// </summary>
    public static (double? Ours, double? Baseline) PeakPair(Action ours, Action baseline, int rounds = 3)
    {
        var a = new List<double>();
        var b = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            if (PeakMb(ours) is not { } o || PeakMb(baseline) is not { } r) return (null, null);
            a.Add(o);
            b.Add(r);
        }
        return (Median(a), Median(b));
    }

    private static long StatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }
}
