using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>Where the peak memory of one training epoch comes from, ours against the raw loop (diagnostics; not part of the table).</summary>
internal static class MemoryProfile
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        foreach (var cell in new[] { CellType.Lstm, CellType.Gru, CellType.SimpleRnn })
            foreach (var mask in new[] { MaskKind.None, MaskKind.Gaps })
            {
                var spec = RecurrentSpec.Standard(cell) with { Mask = mask };
                KerasApi.SetRandomSeed(0);
                var (x, y) = spec.Data(4);
                var model = spec.BuildOurs();
                var raw = new RawTrainer(spec.BuildRaw(), spec.Device);
                for (int i = 0; i < 2; i++)
                {
                    model.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0);
                    raw.Epoch(x, y, spec.Batch);
                }
                var layer = model.Layers.OfType<Keras.Rnn.Layers.RNN>().Single();
                var xb = x.narrow(0, 0, spec.Batch);
                var m = mask == MaskKind.None ? null : xb.ne(0).any(-1);
                var fit = new List<double>();
                var rawPeak = new List<double>();
                var fwd = new List<double>();
                var fwdBwd = new List<double>();
                var onBatch = new List<double>();
                var modelGrad = new List<double>();
                var yb = y.narrow(0, 0, spec.Batch);
                for (int r = 0; r < 3; r++)
                {
                    fit.Add(Harness.PeakMb(() => model.Fit(x, y, batchSize: spec.Batch, epochs: 1, verbose: 0)) ?? 0);
                    rawPeak.Add(Harness.PeakMb(() => raw.Epoch(x, y, spec.Batch)) ?? 0);
                    fwd.Add(Harness.PeakMb(() =>
                    {
                        using var s = torch.NewDisposeScope();
                        layer.Apply(xb.mul(1), m, training: true);
                    }) ?? 0);
                    fwdBwd.Add(Harness.PeakMb(() =>
                    {
                        using var s = torch.NewDisposeScope();
                        layer.Apply(xb.mul(1), m, training: true).sum().backward();
                    }) ?? 0);
                    onBatch.Add(Harness.PeakMb(() => model.TrainOnBatch(xb, yb)) ?? 0);
                    modelGrad.Add(Harness.PeakMb(() =>
                    {
                        using var s = torch.NewDisposeScope();
                        var (pred, _) = model.Forward([xb], true, null);
                        torch.autograd.grad([pred[0].sub(yb).square().mean()], model.TrainableWeights.Select(v => v.Value).ToList());
                    }) ?? 0);
                }
                foreach (int n in new[] { 1, 2, 4 })
                {
                    var xn = x.narrow(0, 0, n * spec.Batch);
                    var yn = y.narrow(0, 0, n * spec.Batch);
                    double plain = Harness.PeakMb(() => model.Fit(xn, yn, batchSize: spec.Batch, epochs: 1, verbose: 0)) ?? 0;
                    var collect = new Keras.Rnn.Callbacks.LambdaCallback(onTrainBatchEnd: (_, _) => { GC.Collect(); GC.WaitForPendingFinalizers(); });
                    double collected = Harness.PeakMb(() => model.Fit(xn, yn, batchSize: spec.Batch, epochs: 1, verbose: 0, callbacks: [collect])) ?? 0;
                    double rawN = Harness.PeakMb(() => raw.Epoch(xn, yn, spec.Batch)) ?? 0;
                    Console.WriteLine($"    {n} batches: Fit {plain,6:F1} MB, Fit with GC after each batch {collected,6:F1} MB, raw {rawN,6:F1} MB");
                }
                Console.WriteLine($"  {cell,-10} {mask,-5} Fit {Harness.Median(fit),6:F1} MB  raw {Harness.Median(rawPeak),6:F1} MB  layer fwd {Harness.Median(fwd),6:F1} MB  layer fwd+bwd {Harness.Median(fwdBwd),6:F1} MB  TrainOnBatch {Harness.Median(onBatch),6:F1} MB  model fwd+grad {Harness.Median(modelGrad),6:F1} MB");
            }
    }
}
