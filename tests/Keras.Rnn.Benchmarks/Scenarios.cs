using System.Diagnostics;
using Keras.Rnn.Backend;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using static TorchSharp.torch;
using KLSTM = Keras.Rnn.Layers.LSTM;
using KGRU = Keras.Rnn.Layers.GRU;

namespace Keras.Rnn.Benchmarks;

/// <summary>A named benchmark.</summary>
internal sealed record Scenario(string Name, string Group, string Description, Action<BenchmarkOptions, ResultTable> Run)
{
    /// <summary>Whether the scenario runs on a CUDA device (its name starts with <c>gpu-</c>); skipped with a note without one.</summary>
    public bool NeedsCuda => Name.StartsWith("gpu-", StringComparison.Ordinal);
}

/// <summary>All scenarios.</summary>
internal static class Scenarios
{
    public static IReadOnlyList<Scenario> All { get; } = Build();

    /// <summary>Scenarios matching a comma-separated list of names, groups, name prefixes or <c>all</c>.</summary>
    public static List<Scenario> Select(string filter)
    {
        var parts = filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return All.Where(s => parts.Any(p => (p == "all" && s.Group != "diagnostics") || p == s.Group || s.Name.StartsWith(p, StringComparison.Ordinal))).ToList();
    }

    private static List<Scenario> Build()
    {
        var list = new List<Scenario>();
        var cells = new (string Name, CellType Cell)[]
        {
            ("lstm", CellType.Lstm), ("gru", CellType.Gru), ("gru-reset-before", CellType.GruResetBefore), ("simplernn", CellType.SimpleRnn),
        };
        foreach (var (name, cell) in cells)
        {
            list.Add(Fit($"fit-{name}-small", RecurrentSpec.Small(cell)));
            list.Add(Fit($"fit-{name}-standard", RecurrentSpec.Standard(cell)));
        }
        foreach (var (name, cell) in cells)
        {
            list.Add(Fit($"fit-{name}-stacked", RecurrentSpec.Standard(cell) with { Layers = 2 }));
            list.Add(Fit($"fit-{name}-bidirectional", RecurrentSpec.Standard(cell) with { Bidirectional = true }));
            list.Add(Fit($"fit-{name}-right-padded", RecurrentSpec.Standard(cell) with { Mask = MaskKind.RightPadded }));
            list.Add(Fit($"fit-{name}-gaps", RecurrentSpec.Standard(cell) with { Mask = MaskKind.Gaps }));
        }
        // The same Fit comparisons on the GPU (skipped, with a note, where CUDA is not available).
        foreach (var (name, cell) in cells)
        {
            list.Add(Fit($"gpu-fit-{name}-standard", RecurrentSpec.Standard(cell) with { Device = "cuda" }, "gpu"));
            list.Add(Fit($"gpu-fit-{name}-gaps", RecurrentSpec.Standard(cell) with { Mask = MaskKind.Gaps, Device = "cuda" }, "gpu"));
        }
        list.Add(Fit("gpu-fit-lstm-bidirectional", RecurrentSpec.Standard(CellType.Lstm) with { Bidirectional = true, Device = "cuda" }, "gpu"));
        list.Add(Fit("gpu-fit-lstm-right-padded", RecurrentSpec.Standard(CellType.Lstm) with { Mask = MaskKind.RightPadded, Device = "cuda" }, "gpu"));
        list.Add(Fit("gpu-fit-lstm-large", new RecurrentSpec(CellType.Lstm, 128, 100, 256, 512, Device: "cuda"), "gpu"));
        list.Add(new Scenario("gpu-mixed", "gpu", "Mixed precision on the GPU: Fit speed (bfloat16, float16) against our float32, and the accuracy cost (rows and notes)",
            MixedPrecisionRows.Run));
        list.Add(new Scenario("gpu-agreement", "gpu", "CPU vs GPU: predictions, losses and trained weights of the same models (notes, not rows)",
            GpuAgreement.Run));
        list.Add(Slow("slow-lstm-recurrent-dropout", RecurrentSpec.Standard(CellType.Lstm),
            (u, seq) => new KLSTM(u, returnSequences: seq, recurrentDropout: 0.2), "LSTM recurrentDropout 0.2 (our kernel, one mask per gate)"));
        list.Add(Slow("slow-lstm-custom-activation", RecurrentSpec.Standard(CellType.Lstm),
            (u, seq) => new KLSTM(u, activation: CustomActivations.Softsign, returnSequences: seq), "LSTM with a lambda activation (step loop)"));
        list.Add(Slow("slow-gru-recurrent-dropout", RecurrentSpec.Standard(CellType.Gru),
            (u, seq) => new KGRU(u, returnSequences: seq, recurrentDropout: 0.2), "GRU recurrentDropout 0.2 (our kernel, one mask per gate)"));
        list.Add(Slow("slow-gru-reset-before-recurrent-dropout", RecurrentSpec.Standard(CellType.GruResetBefore),
            (u, seq) => new KGRU(u, returnSequences: seq, recurrentDropout: 0.2, resetAfter: false), "GRU resetAfter=false recurrentDropout 0.2 (our kernel, one mask per gate)"));
        list.Add(Slow("slow-lstm-dropout-and-recurrent-dropout", RecurrentSpec.Standard(CellType.Lstm),
            (u, seq) => new KLSTM(u, returnSequences: seq, dropout: 0.2, recurrentDropout: 0.2),
            "LSTM dropout 0.2 + recurrentDropout 0.2 (step loop: one input mask per gate)"));
        list.Add(Slow("slow-lstm-step-loop", RecurrentSpec.Standard(CellType.Lstm),
            (u, seq) => new KLSTM(u, returnSequences: seq, useCudnn: false), "LSTM useCudnn=false (step loop)"));
        list.Add(new Scenario("predict-lstm-batch1", "predict", "Predict one sequence (batch 1, 50 steps, 128 inputs, 256 units) vs nn.LSTM forward",
            (o, t) => PredictRow(o, t, "predict-lstm-batch1", RecurrentSpec.Standard(CellType.Lstm) with { Batch = 1 })));
        list.Add(new Scenario("predict-gru-batch1", "predict", "Predict one sequence, GRU",
            (o, t) => PredictRow(o, t, "predict-gru-batch1", RecurrentSpec.Standard(CellType.Gru) with { Batch = 1 })));
        list.Add(new Scenario("predict-simplernn-batch1", "predict", "Predict one sequence, SimpleRNN",
            (o, t) => PredictRow(o, t, "predict-simplernn-batch1", RecurrentSpec.Standard(CellType.SimpleRnn) with { Batch = 1 })));
        list.Add(new Scenario("predict-lstm-scaling", "predict", "Predict with batch 1…256 (LSTM 256 units): time per call and sequences/s",
            PredictScaling));
        list.Add(new Scenario("coldstart", "predict", "keras-rnn predict on a small saved model from a cold process start (spawns the built CLI)",
            ColdStart.Run));
        list.Add(new Scenario("memory-10k", "memory", "10,000 Fit steps of a small masked LSTM → GRU model; resident memory at 1k, 5k, 10k steps",
            MemorySteps));
        foreach (var (name, cell) in cells)
            list.Add(new Scenario($"layer-{name}", "layer", $"One {name} layer forward+backward (no optimizer): our kernel, torch's fused kernel, raw module",
                (o, t) => LayerRows(o, t, name, RecurrentSpec.Standard(cell))));
        list.Add(new Scenario("fit-profile", "diagnostics", "Where the time of one small LSTM training step goes (not in the table)", FitProfile.Run));
        list.Add(new Scenario("memory-profile", "diagnostics", "Peak memory of one epoch, ours and raw, and of one layer's forward and backward (not in the table)", MemoryProfile.Run));
        list.Add(new Scenario("predict-profile", "diagnostics", "Where the time of one small Predict goes (not in the table)", PredictProfile.Run));
        list.Add(new Scenario("step-overhead", "diagnostics", "The framework's own cost per training step, on a tiny model (not in the table)", StepOverhead.Run));
        list.Add(new Scenario("gpu-profile", "diagnostics", "Where the time of one standard training step on the GPU goes (not in the table)", GpuProfile.Run));
        list.Add(new Scenario("micro", "diagnostics", "Element-wise micro-benchmarks of one LSTM step (not in the table)", Micro.Run));
        return list;
    }

    // ---------------------------------------------------------------- Fit

    private static Scenario Fit(string name, RecurrentSpec spec, string group = "fit") =>
        new(name, group, $"Fit vs raw TorchSharp loop: {spec.Describe()}", (o, t) => FitRow(o, t, name, spec));

    /// <summary>
    /// One <c>Fit</c> call (as users train); each epoch of ours is timed from its start to its end, and an epoch of
    /// the raw loop on the same data runs right after it, so both see the same machine state. The first pair is
    /// warm-up; the ratio is the median of the per-pair ratios.
    /// </summary>
    private static void FitRow(BenchmarkOptions options, ResultTable table, string name, RecurrentSpec spec)
    {
        bool small = spec.Units < 64;
        int batches = small ? (options.Quick ? 10 : 50) : (options.Quick ? 3 : 12);
        if (spec.OnCuda) batches *= 4;
        int repeats = options.Quick ? 3 : 9;
        KerasApi.SetRandomSeed(0);
        var (x, y) = spec.Data(batches);
        var model = spec.BuildOurs();
        var raw = new RawTrainer(spec.BuildRaw(), spec.Device);
        var ours = new List<double>();
        var baseline = new List<double>();
        var clock = new Stopwatch();
        var interleave = new LambdaCallback(
            onEpochBegin: (_, _) => clock.Restart(),
            onEpochEnd: (epoch, _) =>
            {
                spec.Synchronize();
                double ms = clock.Elapsed.TotalMilliseconds;
                double rawMs = raw.Epoch(x, y, spec.Batch);
                if (epoch == 0) return;
                ours.Add(ms / batches);
                baseline.Add(rawMs / batches);
            });
        model.Fit(x, y, batchSize: spec.Batch, epochs: repeats + 1, verbose: 0, shuffle: true, callbacks: [interleave]);
        // Peak resident (host) memory; on the GPU it would say little, so it is left out there.
        var (peakOurs, peakRaw) = spec.OnCuda
            ? (null, null)
            : Harness.PeakPair(() => model.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0, shuffle: true), () => raw.Epoch(x, y, spec.Batch));
        string baselineName = spec.Cell == CellType.GruResetBefore ? "nn.GRU (torch has no reset_after=False)" : RawName(spec);
        table.Add(new Row(name, Harness.Median(ours), Harness.Median(baseline), Harness.Median(ours.Zip(baseline, (a, b) => a / b)),
            spec.TrainingFlops(), peakOurs, peakRaw, "ms/step", baselineName, spec.OnCuda));
        x.Dispose();
        y.Dispose();
    }

    private static string RawName(RecurrentSpec spec)
    {
        string module = spec.Cell switch { CellType.Lstm => "LSTM", CellType.SimpleRnn => "RNN", _ => "GRU" };
        return spec.Mask switch
        {
            MaskKind.Gaps => $"nn.{module}Cell loop + where",
            MaskKind.RightPadded => $"nn.{module} + pack_padded_sequence",
            _ => $"nn.{module}" + (spec.Layers > 1 ? $"(num_layers={spec.Layers})" : "") + (spec.Bidirectional ? "(bidirectional)" : ""),
        };
    }

    // ---------------------------------------------------------------- slow paths

    private static Scenario Slow(string name, RecurrentSpec spec, Func<int, bool, Keras.Rnn.Layers.RNN> layer, string what) =>
        new(name, "slow", $"{what} vs the same model on the fused path, {spec.Describe()}", (o, t) =>
        {
            int batches = o.Quick ? 2 : 8;
            int repeats = o.Quick ? 3 : 7;
            KerasApi.SetRandomSeed(0);
            var (x, y) = spec.Data(batches);
            var slow = spec.BuildOurs(layer);
            var fused = spec.BuildOurs();
            var (ours, baseline, ratio) = Harness.Pairs(
                () => slow.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0),
                () => fused.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0), 1, repeats);
            var (peakSlow, peakFused) = Harness.PeakPair(() => slow.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0),
                () => fused.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0));
            t.Add(new Row(name, ours / batches, baseline / batches, ratio, spec.TrainingFlops(), peakSlow, peakFused, "ms/step", "ours, fused path"));
            x.Dispose();
            y.Dispose();
        });

    // ---------------------------------------------------------------- inference

    private static (double Ours, double Baseline, double Ratio) MeasurePredict(BenchmarkOptions options, RecurrentSpec spec, Model model,
        RawTrainer raw, Tensor x)
    {
        int calls = spec.Batch <= 8 ? (options.Quick ? 5 : 20) : 1;
        int repeats = options.Quick ? 5 : 15;
        return Harness.Pairs(
            () =>
            {
                for (int i = 0; i < calls; i++) model.Predict(x, batchSize: spec.Batch, verbose: 0).Dispose();
            },
            () =>
            {
                for (int i = 0; i < calls; i++) raw.Predict(x).Dispose();
            }, 2, repeats) is var (o, b, r)
            ? (o / calls, b / calls, r)
            : default;
    }

    private static void PredictRow(BenchmarkOptions options, ResultTable table, string name, RecurrentSpec spec)
    {
        KerasApi.SetRandomSeed(0);
        var (x, _) = spec.Data(1);
        var model = spec.BuildOurs();
        var raw = new RawTrainer(spec.BuildRaw());
        var (o, b, r) = MeasurePredict(options, spec, model, raw, x);
        var (peakOurs, peakRaw) = Harness.PeakPair(() => model.Predict(x, batchSize: spec.Batch, verbose: 0).Dispose(), () => raw.Predict(x).Dispose());
        table.Add(new Row(name, o, b, r, spec.ForwardFlops(), peakOurs, peakRaw, "ms/call", RawName(spec) + " forward, no_grad"));
    }

    private static void PredictScaling(BenchmarkOptions options, ResultTable table)
    {
        var model = RecurrentSpec.Standard(CellType.Lstm).BuildOurs();
        var raw = new RawTrainer(RecurrentSpec.Standard(CellType.Lstm).BuildRaw());
        table.Note("Batch inference scaling (LSTM 256 units, 50 steps, 128 inputs; Predict with batchSize = batch):");
        table.Note("| batch | ours ms/call | raw ms/call | ratio | ours sequences/s |");
        table.Note("|---:|---:|---:|---:|---:|");
        foreach (int batch in new[] { 1, 2, 4, 8, 16, 32, 64, 128, 256 })
        {
            var spec = RecurrentSpec.Standard(CellType.Lstm) with { Batch = batch };
            var (x, _) = spec.Data(1);
            var (o, b, r) = MeasurePredict(options with { Quick = true }, spec, model, raw, x);
            table.Note($"| {batch} | {Harness.F(o, "F2")} | {Harness.F(b, "F2")} | {Harness.F(r, "F3")} | {Harness.F(batch / (o / 1000), "F0")} |");
            table.Add(new Row($"predict-lstm-scaling-b{batch}", o, b, r, spec.ForwardFlops(), null, null, "ms/call", "nn.LSTM forward, no_grad"));
            x.Dispose();
        }
        table.Note("");
    }

    // ---------------------------------------------------------------- memory

    private static void MemorySteps(BenchmarkOptions options, ResultTable table)
    {
        int[] checkpoints = options.Quick ? [200, 1000, 2000] : [1000, 5000, 10000];
        int total = checkpoints[^1];
        const int stepsPerFit = 100;
        KerasApi.SetRandomSeed(0);
        // Masks with gaps make both layers run our kernels (custom autograd functions) on CPU.
        var model = new Sequential(new InputLayer([20, 8]), new Masking(0.0), new KLSTM(32, returnSequences: true), new KGRU(16), new Dense(1));
        model.Compile(optimizer: "adam", loss: "mse", metrics: ["mae"]);
        using var x = torch.randn(32 * stepsPerFit, 20, 8);
        x.mul_(torch.rand(32 * stepsPerFit, 20, 1).ge(0.2).to_type(ScalarType.Float32));
        using var y = torch.randn(32 * stepsPerFit, 1);
        var rss = new Dictionary<int, double>();
        var clock = Stopwatch.StartNew();
        for (int step = stepsPerFit; step <= total; step += stepsPerFit)
        {
            model.Fit(x, y, batchSize: 32, epochs: 1, verbose: 0);
            if (!checkpoints.Contains(step)) continue;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            rss[step] = Harness.RssMb();
        }
        double msPerStep = clock.Elapsed.TotalMilliseconds / total;
        table.Note($"Memory: {total} Fit steps (batch 32, 20 steps with gaps, Masking → LSTM 32 → GRU 16 → Dense, Adam, MSE, mae metric), resident memory after a full GC:");
        table.Note(string.Join(", ", rss.Select(kv => $"step {kv.Key}: {Harness.F(kv.Value, "F1")} MB")) +
                   $"; growth {Harness.F(rss[total] - rss[checkpoints[0]], "F1")} MB ({Harness.F((rss[total] / rss[checkpoints[0]] - 1) * 100, "F1")}%) " +
                   $"from step {checkpoints[0]} to {total}");
        table.Note("");
        table.Add(new Row("memory-10k", msPerStep, null, null, 0, rss[total], rss[checkpoints[0]], "ms/step", $"peak col: RSS at step {total} / step {checkpoints[0]}"));
    }

    // ---------------------------------------------------------------- single layer

    private static void LayerRows(BenchmarkOptions options, ResultTable table, string name, RecurrentSpec spec)
    {
        int repeats = options.Quick ? 5 : 15;
        using var x = torch.randn(spec.Batch, spec.Steps, spec.Inputs);
        var layer = spec.BuildOurs().Layers.OfType<Keras.Rnn.Layers.RNN>().Single();
        var raw = spec.BuildRaw();
        void Ours()
        {
            using var s = torch.NewDisposeScope();
            layer.ApplyAll([x], training: true)[0].sum().backward();
        }
        void Raw()
        {
            using var s = torch.NewDisposeScope();
            raw.forward(x).sum().backward();
        }
        var saved = RecurrentKernels.Mode;
        try
        {
            RecurrentKernels.Mode = RecurrentKernelMode.Custom;
            var (o, b, r) = Harness.Pairs(Ours, Raw, 2, repeats);
            table.Add(new Row($"layer-{name}", o, b, r, spec.TrainingFlops(), null, null, "ms/call", RawName(spec) + " (+Linear), fwd+bwd"));
            (o, b, r) = Harness.Pairs(
                () => { using var s = torch.NewDisposeScope(); using var g = torch.no_grad(); layer.ApplyAll([x], training: false); },
                () => { using var s = torch.NewDisposeScope(); using var g = torch.no_grad(); raw.forward(x); }, 2, repeats);
            table.Add(new Row($"layer-{name}-forward", o, b, r, spec.ForwardFlops(), null, null, "ms/call", RawName(spec) + " (+Linear), forward, no_grad"));
            if (spec.Cell is CellType.Lstm or CellType.Gru or CellType.SimpleRnn)
            {
                RecurrentKernels.Mode = RecurrentKernelMode.Aten;
                (o, b, r) = Harness.Pairs(Ours, Raw, 1, repeats);
                table.Add(new Row($"layer-{name}-aten", o, b, r, spec.TrainingFlops(), null, null, "ms/call", RawName(spec) + " (+Linear), fwd+bwd"));
            }
        }
        finally
        {
            RecurrentKernels.Mode = saved;
        }
    }
}
