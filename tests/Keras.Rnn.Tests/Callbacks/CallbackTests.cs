using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Xunit;

namespace Keras.Rnn.Tests.Callbacks;

/// <summary>
/// Callbacks driven by a scripted monitored value: a <see cref="LambdaCallback"/> placed first writes the value of
/// <c>score</c> for each epoch into the logs, so the expected decisions can be worked out by hand.
/// </summary>
public class CallbackTests
{
    private static (float[,] X, float[,] Y) Data(int n = 8)
    {
        var x = new float[n, 2];
        var y = new float[n, 1];
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = i / (float)n;
            x[i, 1] = 1 - i / (float)n;
            y[i, 0] = 0.3f * i / n;
        }
        return (x, y);
    }

    private static Sequential Model(double lr = 0.01)
    {
        var model = new Sequential(new InputLayer([2]), new Dense(1));
        model.Compile(optimizer: new SGD(learningRate: lr), loss: "mse");
        return model;
    }

    private static LambdaCallback Script(params double[] scores) =>
        new(onEpochEnd: (epoch, logs) => logs["score"] = scores[epoch]);

    [Fact]
    public void EarlyStoppingStopsAfterPatienceAndRestoresTheBestWeights()
    {
        var (x, y) = Data();
        var model = Model(lr: 0.5);
        var weightsByEpoch = new List<float[,]>();
        var record = new LambdaCallback(onEpochEnd: (_, _) => weightsByEpoch.Add((float[,])model.GetWeights()[0]));
        var stop = new EarlyStopping(monitor: "score", patience: 2, mode: "min", restoreBestWeights: true);
        // Best at epoch 1 (2.0); epochs 2 and 3 do not improve; patience 2 stops after epoch 3.
        var history = model.Fit(x, y, epochs: 10, verbose: 0, shuffle: false, callbacks: [Script(3, 2, 2.5, 2.6, 1, 1, 1, 1, 1, 1), record, stop]);
        Assert.Equal(4, history["loss"].Count);
        Assert.Equal(3, stop.StoppedEpoch);
        Assert.Equal(1, stop.BestEpoch);
        Assert.Equal(weightsByEpoch[1], (float[,])model.GetWeights()[0]);
    }

    [Fact]
    public void EarlyStoppingMinDeltaAndBaseline()
    {
        var (x, y) = Data();
        // Improvements smaller than minDelta do not count: 1.0 → 0.95 → 0.92 are not improvements with minDelta 0.1.
        var stop = new EarlyStopping(monitor: "score", minDelta: 0.1, patience: 1, mode: "min");
        Model().Fit(x, y, epochs: 5, verbose: 0, callbacks: [Script(1.0, 0.95, 0.92, 0.5, 0.4), stop]);
        Assert.Equal(1, stop.StoppedEpoch);

        // With a baseline that is never beaten, improvements do not reset the wait: training stops at the first
        // non-improving epoch once patience is used up (epoch 2), not at epoch 3 as without a baseline.
        var baseline = new EarlyStopping(monitor: "score", patience: 2, mode: "min", baseline: 0.1);
        var history = Model().Fit(x, y, epochs: 6, verbose: 0, callbacks: [Script(1, 0.9, 0.95, 0.97, 0.99, 1.0), baseline]);
        Assert.Equal(2, baseline.StoppedEpoch);
        Assert.Equal(3, history["loss"].Count);
        var plain = new EarlyStopping(monitor: "score", patience: 2, mode: "min");
        Model().Fit(x, y, epochs: 6, verbose: 0, callbacks: [Script(1, 0.9, 0.95, 0.97, 0.99, 1.0), plain]);
        Assert.Equal(3, plain.StoppedEpoch);
    }

    [Fact]
    public void ReduceLROnPlateauMultipliesTheRateAfterPatienceAndCooldown()
    {
        var (x, y) = Data();
        var model = Model(lr: 0.1);
        var reduce = new ReduceLROnPlateau(monitor: "score", factor: 0.5, patience: 2, mode: "min", cooldown: 1, minLr: 0.02);
        var history = model.Fit(x, y, epochs: 8, verbose: 0, callbacks: [Script(1, 1, 1, 1, 1, 1, 1, 1), reduce]);
        // Keras' rule, by hand: epoch 0 best; epochs 1, 2 wait → reduce at 2 (0.05, cooldown 1); epoch 3 ends the cooldown
        // and waits once; epoch 4 waits again → 0.025; epoch 5 waits once; epoch 6 → max(0.0125, minLr) = 0.02.
        // The logged rate is the one in force during the epoch.
        Assert.Equal([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02], history["learning_rate"].Select(v => Math.Round(v, 6)));
        Assert.Equal(0.02, model.Optimizer!.LearningRate, 1e-6);
        Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(factor: 1.0));
    }

    [Fact]
    public void LearningRateSchedulerSetsTheRateBeforeEachEpoch()
    {
        var (x, y) = Data();
        var model = Model(lr: 1.0);
        var seen = new List<double>();
        var probe = new LambdaCallback(onTrainBatchBegin: (_, _) => seen.Add(model.Optimizer!.LearningRate));
        model.Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, callbacks: [new LearningRateScheduler((epoch, lr) => lr / (epoch + 1)), probe]);
        Assert.Equal([1.0, 0.5, Math.Round(0.5 / 3, 6)], seen.Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void CsvLoggerWritesAHeaderAndOneRowPerEpoch()
    {
        var (x, y) = Data();
        var path = Path.Combine(Path.GetTempPath(), $"keras-rnn-{Guid.NewGuid():N}.csv");
        try
        {
            var model = Model();
            model.Compile(optimizer: new SGD(0.01), loss: "mse", metrics: ["mae"]);
            model.Fit(x, y, epochs: 3, verbose: 0, validationSplit: 0.25, callbacks: [new CSVLogger(path)]);
            var lines = File.ReadAllLines(path);
            Assert.Equal("epoch,loss,mae,val_loss,val_mae", lines[0]);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith("2,", lines[3]);
            model.Fit(x, y, epochs: 1, verbose: 0, validationSplit: 0.25, callbacks: [new CSVLogger(path, append: true)]);
            Assert.Equal(5, File.ReadAllLines(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TerminateOnNaNStopsADivergingRun()
    {
        var (x, y) = Data();
        var model = Model(lr: 1e30);
        var terminate = new TerminateOnNaN();
        var history = model.Fit(x, y, batchSize: 2, epochs: 5, verbose: 0, shuffle: false, callbacks: [terminate]);
        Assert.NotNull(terminate.TerminatedAtBatch);
        Assert.Single(history["loss"]);
    }

    [Fact]
    public void CustomCallbackSeesHooksInKerasOrder()
    {
        var (x, y) = Data(6);
        var recorder = new Recorder();
        Model().Fit(x, y, batchSize: 4, epochs: 2, verbose: 0, validationData: (x, y), callbacks: [recorder]);
        Assert.Equal(
            "train_begin epoch_begin:0 batch_begin:0 batch_end:0 batch_begin:1 batch_end:1 test_begin test_end epoch_end:0 " +
            "epoch_begin:1 batch_begin:0 batch_end:0 batch_begin:1 batch_end:1 test_begin test_end epoch_end:1 train_end",
            string.Join(" ", recorder.Events));
        Assert.Contains("val_loss", recorder.LastEpochKeys);
        Assert.NotNull(recorder.Model);
        Assert.Equal(2, recorder.Params["steps"]);
    }

    private sealed class Recorder : Callback
    {
        public List<string> Events { get; } = [];
        public List<string> LastEpochKeys { get; private set; } = [];
        public override void OnTrainBegin(IDictionary<string, double> logs) => Events.Add("train_begin");
        public override void OnTrainEnd(IDictionary<string, double> logs) => Events.Add("train_end");
        public override void OnEpochBegin(int epoch, IDictionary<string, double> logs) => Events.Add($"epoch_begin:{epoch}");
        public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
        {
            Events.Add($"epoch_end:{epoch}");
            LastEpochKeys = logs.Keys.ToList();
        }
        public override void OnTrainBatchBegin(int batch, IDictionary<string, double> logs) => Events.Add($"batch_begin:{batch}");
        public override void OnTrainBatchEnd(int batch, IDictionary<string, double> logs) => Events.Add($"batch_end:{batch}");
        public override void OnTestBegin(IDictionary<string, double> logs) => Events.Add("test_begin");
        public override void OnTestEnd(IDictionary<string, double> logs) => Events.Add("test_end");
    }

    [Fact]
    public void ModelCheckpointSavesOnlyImprovementsWithKerasPlaceholders()
    {
        var (x, y) = Data();
        var folder = Path.Combine(Path.GetTempPath(), $"keras-rnn-ckpt-{Guid.NewGuid():N}");
        try
        {
            var checkpoint = new ModelCheckpoint(Path.Combine(folder, "w-{epoch:02d}-{score:.2f}.weights.h5"), monitor: "score",
                mode: "min", saveBestOnly: true, saveWeightsOnly: true);
            Model().Fit(x, y, epochs: 5, verbose: 0, callbacks: [Script(3, 2, 2.5, 1, 1.5), checkpoint]);
            Assert.Equal(["w-01-3.00.weights.h5", "w-02-2.00.weights.h5", "w-04-1.00.weights.h5"], checkpoint.SavedPaths.Select(Path.GetFileName));
            Assert.All(checkpoint.SavedPaths, p => Assert.True(File.Exists(p)));
            Assert.Throws<ArgumentException>(() => new ModelCheckpoint("x.h5", saveWeightsOnly: true));
            Assert.Throws<ArgumentException>(() => new ModelCheckpoint("x.weights.h5"));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }
}
