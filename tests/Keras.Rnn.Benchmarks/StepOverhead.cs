using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>
/// The framework's own cost per training step: a tiny LSTM model (batch 4, 2 steps, 2 inputs, 4 units), where the
/// arithmetic is negligible and what remains is the number of libtorch calls and the .NET work around them. On a GPU
/// at standard sizes the host issues kernels slower than the device runs them, so this cost shows there one to one
/// (diagnostics; not part of the table). Our layers run torch's fused kernel here (<c>--kernels aten</c> is implied),
/// as they do on a GPU, so that ours and raw differ only by the framework around the kernel.
/// </summary>
internal static class StepOverhead
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        var savedMode = Keras.Rnn.Backend.RecurrentKernels.Mode;
        Keras.Rnn.Backend.RecurrentKernels.Mode = Keras.Rnn.Backend.RecurrentKernelMode.Aten;
        var spec = new RecurrentSpec(CellType.Lstm, 4, 2, 2, 4);
        KerasApi.SetRandomSeed(0);
        var (x, y) = spec.Data(1);
        var model = spec.BuildOurs();
        var net = spec.BuildRaw();
        var optimizer = optim.Adam(net.parameters(), lr: 0.001);
        var (xs, ys) = spec.Data(50);
        var pieces = RawPieces.Of(net, optimizer, x, y);
        var rawStep = pieces[0].A;
        pieces.Add(("ours Fit, 50 steps per call", () => model.Fit(xs, ys, batchSize: 4, epochs: 1, verbose: 0, shuffle: true)));
        pieces.Add(("ours TrainOnBatch", () => model.TrainOnBatch(x, y)));
        pieces.AddRange(OursPieces.Of(model, x, y));
        var trainer = model.GetTrainer();
        Action trainStep = () => trainer.TrainStep(new Keras.Rnn.Training.DataBatch([x], [y], null, spec.Batch), torch.CPU, model.TrainableWeights);
        pieces.Add(("ours Trainer.TrainStep", trainStep));
        Harness.RoundRobin(pieces, options.Quick, 20, "tiny");
        // Tensors made outside any dispose scope and never disposed are freed by the finalizer thread, which on a
        // GPU competes with the issuing thread; count them per step.
        foreach (var (name, action, steps) in new (string, Action, int)[]
        {
            ("Fit", () => model.Fit(xs, ys, batchSize: 4, epochs: 1, verbose: 0, shuffle: true), 50),
            ("TrainStep", trainStep, 1),
            ("raw step", rawStep, 1),
        })
        {
            var stats = DisposeScopeManager.Statistics;
            long createdOutside = stats.CreatedOutsideScopeCount, disposedOutside = stats.DisposedOutsideScopeCount;
            long createdIn = stats.CreatedInScopeCount, disposedIn = stats.DisposedInScopeCount, detached = stats.DetachedFromScopeCount;
            for (int i = 0; i < 20; i++) action();
            double per = 20.0 * steps;
            Console.WriteLine($"  tiny   {name,-10} per step: tensors made in scopes {(stats.CreatedInScopeCount - createdIn) / per:F1}, " +
                              $"outside {(stats.CreatedOutsideScopeCount - createdOutside) / per:F1} (disposed outside {(stats.DisposedOutsideScopeCount - disposedOutside) / per:F1}), " +
                              $"detached from scopes {(stats.DetachedFromScopeCount - detached) / per:F1}, disposed in scopes {(stats.DisposedInScopeCount - disposedIn) / per:F1}");
        }
        Keras.Rnn.Backend.RecurrentKernels.Mode = savedMode;
    }
}
