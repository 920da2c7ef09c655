// Forecasting noisy periodic signals with a stacked LSTM/GRU model: the Keras workflow in C#.
// Run: dotnet run --project examples/TimeSeriesForecast -c Release
using System.Diagnostics;
using Keras.Rnn;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;

const int window = 40;
KerasApi.SetRandomSeed(42);

// 1. Data: sums of two sines with random frequencies, phases and noise; predict the next value of each window.
var (xTrain, yTrain) = SignalData.Generate(samples: 4000, window, seed: 1);
var (xTest, yTest) = SignalData.Generate(samples: 800, window, seed: 2);
Console.WriteLine($"train: {xTrain.GetLength(0)} windows of {window} steps; test: {xTest.GetLength(0)}");

// 2. Model: the same stack a Keras user would write.
var model = new Sequential(
    new InputLayer([window, 1]),
    new LSTM(48, returnSequences: true),
    new GRU(24),
    new Dense(1));
model.Summary();

// 3. Train with Keras' progress bar, a validation split and early stopping.
model.Compile(optimizer: new Adam(learningRate: 3e-3), loss: "mse", metrics: ["mae"]);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, yTrain, batchSize: 64, epochs: 12, validationSplit: 0.1,
    callbacks: [new EarlyStopping(monitor: "val_loss", patience: 3, restoreBestWeights: true)]);
Console.WriteLine($"trained {history.Epoch.Count} epochs in {clock.Elapsed.TotalSeconds:F1} s");

// 4. Evaluate on unseen signals, against the naive forecast "next value = last value".
var scores = model.Evaluate(xTest, yTest, verbose: 0);
double naive = SignalData.NaiveMse(xTest, yTest);
Console.WriteLine($"test mse {scores["loss"]:F5}, mae {scores["mae"]:F5}; naive last-value mse {naive:F5} ({naive / scores["loss"]:F1}x worse)");

// 5. Predict.
var predictions = (float[,])model.Predict(xTest, verbose: 0).ToArray();
Console.WriteLine("signal  last input  predicted  actual");
for (int i = 0; i < 5; i++)
    Console.WriteLine($"{i,6}  {xTest[i, window - 1, 0],10:F4}  {predictions[i, 0],9:F4}  {yTest[i, 0],6:F4}");

if (scores["loss"] >= naive)
{
    Console.Error.WriteLine("The model did not beat the naive forecast.");
    return 1;
}
return 0;

/// <summary>Synthetic periodic signals.</summary>
internal static class SignalData
{
    public static (float[,,] X, float[,] Y) Generate(int samples, int window, int seed)
    {
        var random = new Random(seed);
        var x = new float[samples, window, 1];
        var y = new float[samples, 1];
        for (int s = 0; s < samples; s++)
        {
            double f1 = 0.05 + 0.15 * random.NextDouble(), f2 = 0.2 + 0.3 * random.NextDouble();
            double p1 = 2 * Math.PI * random.NextDouble(), p2 = 2 * Math.PI * random.NextDouble();
            double a2 = 0.3 + 0.4 * random.NextDouble();
            double Value(int t) => Math.Sin(f1 * t + p1) + a2 * Math.Sin(f2 * t + p2) + 0.05 * Gaussian(random);
            for (int t = 0; t < window; t++) x[s, t, 0] = (float)Value(t);
            y[s, 0] = (float)Value(window);
        }
        return (x, y);
    }

    public static double NaiveMse(float[,,] x, float[,] y)
    {
        int n = x.GetLength(0), last = x.GetLength(1) - 1;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Pow(x[i, last, 0] - y[i, 0], 2);
        return sum / n;
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
