using System.Diagnostics;
using Keras.Rnn.DTypePolicies;
using Keras.Rnn.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// Mixed precision on the GPU: Fit time per step under <c>mixed_bfloat16</c> and <c>mixed_float16</c> against our own
/// float32 model (same weights, same batches, epochs interleaved), and the accuracy cost: the held-out loss after
/// training the same starting weights on a learnable task, and the largest prediction difference from float32.
/// </summary>
internal static class MixedPrecisionRows
{
    private static readonly string[] Policies = ["mixed_bfloat16", "mixed_float16"];

    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        foreach (var (name, spec) in new (string, RecurrentSpec)[]
        {
            ("lstm-standard", RecurrentSpec.Standard(CellType.Lstm) with { Device = "cuda" }),
            ("gru-standard", RecurrentSpec.Standard(CellType.Gru) with { Device = "cuda" }),
            ("lstm-large", new RecurrentSpec(CellType.Lstm, 128, 100, 256, 512, Device: "cuda")),
        })
            SpeedRows(options, table, name, spec);
        Accuracy(table);
    }

    private static Model Build(RecurrentSpec spec, string policy, Model? weightsFrom)
    {
        MixedPrecision.SetGlobalPolicy(policy);
        try
        {
            var model = spec.BuildOurs();
            if (weightsFrom is not null)
            {
                model.Device = "cpu";
                model.SetWeights(weightsFrom.GetWeights());
                model.Device = spec.Device;
            }
            return model;
        }
        finally
        {
            MixedPrecision.SetGlobalPolicy("float32");
        }
    }

    private static void SpeedRows(BenchmarkOptions options, ResultTable table, string name, RecurrentSpec spec)
    {
        int batches = options.Quick ? 12 : 24, repeats = options.Quick ? 3 : 7;
        KerasApi.SetRandomSeed(0);
        var (x, y) = spec.Data(batches);
        var fp32 = Build(spec, "float32", null);
        var models = Policies.Select(p => Build(spec, p, fp32)).ToArray();
        var times = new List<double>[Policies.Length + 1];
        for (int i = 0; i < times.Length; i++) times[i] = [];
        for (int r = 0; r <= repeats; r++)
        {
            for (int m = 0; m <= Policies.Length; m++)
            {
                var model = m == 0 ? fp32 : models[m - 1];
                var clock = Stopwatch.StartNew();
                model.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0, shuffle: true);
                torch.cuda.synchronize();
                if (r > 0) times[m].Add(clock.Elapsed.TotalMilliseconds / batches);
            }
        }
        for (int m = 0; m < Policies.Length; m++)
        {
            var ratios = times[m + 1].Zip(times[0], (a, b) => a / b);
            table.Add(new Row($"gpu-{Policies[m].Replace("mixed_", "")}-{name}", Harness.Median(times[m + 1]), Harness.Median(times[0]),
                Harness.Median(ratios), spec.TrainingFlops(), null, null, "ms/step", "ours, float32", true));
        }
        x.Dispose();
        y.Dispose();
    }

    /// <summary>
    /// The same starting weights trained under each policy on a learnable task (the target is a fixed random
    /// projection of the sequence mean, squashed): held-out MSE after training, and before training the largest
    /// prediction difference from float32.
    /// </summary>
    private static void Accuracy(ResultTable table)
    {
        var spec = RecurrentSpec.Standard(CellType.Lstm) with { Device = "cuda" };
        var gen = new Generator(11);
        var w = torch.randn([spec.Inputs, 1], generator: gen).div(Math.Sqrt(spec.Inputs));
        (Tensor X, Tensor Y) Task(int n)
        {
            var x = torch.randn([n, spec.Steps, spec.Inputs], generator: gen);
            return (x, x.mean([1]).matmul(w).mul(3).tanh());
        }
        var (xTrain, yTrain) = Task(spec.Batch * 32);
        var (xTest, yTest) = Task(spec.Batch * 8);
        KerasApi.SetRandomSeed(1);
        var fp32 = Build(spec, "float32", null);
        var all = new List<(string Policy, Model Model)> { ("float32", fp32) };
        all.AddRange(Policies.Select(p => (p, Build(spec, p, fp32))));
        var reference = fp32.Predict(xTest, verbose: 0).to_type(ScalarType.Float32);
        table.Note("Mixed precision, accuracy (LSTM 256 units, batch 64 × 50 steps × 128 inputs; target tanh(3·mean_t(x)·w); Adam, 10 epochs of 32 batches from the same weights):");
        table.Note("| policy | max abs prediction diff from float32 before training | held-out MSE after training | final loss scale |");
        table.Note("|---|---:|---:|---:|");
        foreach (var (policy, model) in all)
        {
            double diff = model.Predict(xTest, verbose: 0).to_type(ScalarType.Float32).sub(reference).abs().max().item<float>();
            model.Fit(xTrain, yTrain, batchSize: spec.Batch, epochs: 10, verbose: 0, shuffle: true);
            double mse = model.Evaluate(xTest, yTest, verbose: 0)["loss"];
            table.Note($"| {policy} | {diff:0.00e+00} | {mse:F5} | {(model.LossScale is double s ? s.ToString("R") : "—")} |");
        }
        table.Note("");
    }
}
