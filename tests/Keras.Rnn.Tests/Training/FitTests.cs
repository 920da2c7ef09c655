using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Training;

/// <summary>
/// The training loop against hand-computed references: a linear model whose losses and SGD updates are evaluated in
/// double precision in the test.
/// </summary>
public class FitTests
{
    private const int N = 10, F = 3;

    private static (float[,] X, float[,] Y) Data()
    {
        var x = new float[N, F];
        var y = new float[N, 1];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < F; j++) x[i, j] = (float)Math.Sin(1.3 * i + 0.7 * j);
            y[i, 0] = (float)Math.Cos(0.9 * i);
        }
        return (x, y);
    }

    private static readonly double[] W0 = [0.3, -0.2, 0.5];
    private const double B0 = 0.1;

    private static Sequential LinearModel(Optimizer optimizer, string loss = "mse", IEnumerable<Keras.Rnn.Metrics.Metric>? metrics = null,
        Regularizer? kernelRegularizer = null)
    {
        var model = new Sequential(new InputLayer([F]), new Dense(1, kernelRegularizer: kernelRegularizer));
        model.SetWeights([new float[,] { { (float)W0[0] }, { (float)W0[1] }, { (float)W0[2] } }, new[] { (float)B0 }]);
        model.Compile(optimizer: optimizer, loss: loss, metrics: metrics);
        return model;
    }

    private static double Prediction(float[,] x, int i, double[] w, double b)
    {
        double p = b;
        for (int j = 0; j < F; j++) p += x[i, j] * w[j];
        return p;
    }

    private static double SquaredError(float[,] x, float[,] y, int i) => Math.Pow(Prediction(x, i, W0, B0) - y[i, 0], 2);

    [Fact]
    public void EpochLossIsTheSampleWeightedMeanOverBatchesIncludingTheSmallLastBatch()
    {
        var (x, y) = Data();
        var model = LinearModel(new SGD(learningRate: 0.0), metrics: ["mae"]);
        var history = model.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
        double expected = Enumerable.Range(0, N).Average(i => SquaredError(x, y, i));
        double expectedMae = Enumerable.Range(0, N).Average(i => Math.Abs(Prediction(x, i, W0, B0) - y[i, 0]));
        Assert.Equal(expected, history["loss"][0], 1e-5);
        Assert.Equal(expectedMae, history["mae"][0], 1e-5);
    }

    [Fact]
    public void ValidationSplitTakesTheLastFractionBeforeShuffling()
    {
        var (x, y) = Data();
        var model = LinearModel(new SGD(learningRate: 0.0));
        var history = model.Fit(x, y, batchSize: 3, epochs: 2, verbose: 0, validationSplit: 0.3, shuffle: true);
        // floor(10 · 0.7) = 7 training samples; validation is samples 7, 8, 9.
        double train = Enumerable.Range(0, 7).Average(i => SquaredError(x, y, i));
        double val = Enumerable.Range(7, 3).Average(i => SquaredError(x, y, i));
        Assert.Equal(["loss", "val_loss"], history.HistoryValues.Keys.OrderBy(k => k));
        Assert.Equal(train, history["loss"][1], 1e-5);
        Assert.Equal(val, history["val_loss"][1], 1e-5);
    }

    [Fact]
    public void SgdStepsFollowTheBatchOrderAndKerasMeanSquaredErrorGradient()
    {
        var (x, y) = Data();
        const double lr = 0.05;
        var model = LinearModel(new SGD(learningRate: lr));
        model.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0, shuffle: false);

        var w = (double[])W0.Clone();
        double b = B0;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            for (int start = 0; start < N; start += 4)
            {
                int size = Math.Min(4, N - start);
                var gw = new double[F];
                double gb = 0;
                for (int i = start; i < start + size; i++)
                {
                    double err = Prediction(x, i, w, b) - y[i, 0];
                    for (int j = 0; j < F; j++) gw[j] += 2 * err * x[i, j] / size;
                    gb += 2 * err / size;
                }
                for (int j = 0; j < F; j++) w[j] -= lr * gw[j];
                b -= lr * gb;
            }
        }
        var kernel = (float[,])model.GetWeights()[0];
        for (int j = 0; j < F; j++) Assert.Equal(w[j], kernel[j, 0], 1e-5);
        Assert.Equal(b, ((float[])model.GetWeights()[1])[0], 1e-5);
    }

    [Fact]
    public void SampleWeightsScaleEachSampleAndDivideByTheSampleCount()
    {
        var (x, y) = Data();
        var weights = Enumerable.Range(0, N).Select(i => (float)(0.5 + i % 3)).ToArray();
        var model = LinearModel(new SGD(learningRate: 0.0));
        var history = model.Fit(x, y, batchSize: 4, verbose: 0, shuffle: false, sampleWeight: weights);
        double expected = Enumerable.Range(0, N).Sum(i => weights[i] * SquaredError(x, y, i)) / N;
        Assert.Equal(expected, history["loss"][0], 1e-5);
    }

    [Fact]
    public void ClassWeightsWeightEachSampleByItsClass()
    {
        var (x, _) = Data();
        var labels = new int[N];
        for (int i = 0; i < N; i++) labels[i] = i % 3 == 0 ? 1 : 0;
        var model = new Sequential(new InputLayer([F]), new Dense(2, activation: "softmax"));
        var kernel = new float[,] { { 0.2f, -0.1f }, { 0.4f, 0.3f }, { -0.5f, 0.1f } };
        var bias = new float[] { 0.05f, -0.05f };
        model.SetWeights([kernel, bias]);
        model.Compile(optimizer: new SGD(learningRate: 0.0), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
        var classWeight = new Dictionary<int, double> { [0] = 1.0, [1] = 3.0 };
        var history = model.Fit(x, labels, batchSize: 4, verbose: 0, shuffle: false, classWeight: classWeight);

        double loss = 0, correct = 0;
        for (int i = 0; i < N; i++)
        {
            var logits = new double[2];
            for (int k = 0; k < 2; k++)
            {
                logits[k] = bias[k];
                for (int j = 0; j < F; j++) logits[k] += x[i, j] * kernel[j, k];
            }
            double max = logits.Max(), z = logits.Sum(l => Math.Exp(l - max));
            double p = Math.Exp(logits[labels[i]] - max) / z;
            loss += classWeight[labels[i]] * -Math.Log(p);
            if ((logits[1] > logits[0] ? 1 : 0) == labels[i]) correct++;
        }
        Assert.Equal(loss / N, history["loss"][0], 1e-4);
        // Plain metrics ignore sample and class weights in Keras.
        Assert.Equal(correct / N, history["accuracy"][0], 1e-5);
    }

    [Fact]
    public void RegularizationPenaltiesAreAddedToTheLoss()
    {
        var (x, y) = Data();
        var model = LinearModel(new SGD(learningRate: 0.0), kernelRegularizer: new L2(0.1));
        var history = model.Fit(x, y, batchSize: 5, verbose: 0, shuffle: false);
        double expected = Enumerable.Range(0, N).Average(i => SquaredError(x, y, i)) + 0.1 * W0.Sum(w => w * w);
        Assert.Equal(expected, history["loss"][0], 1e-5);
    }

    [Fact]
    public void EvaluatePredictAndSingleBatchMethodsAgreeWithTheReference()
    {
        var (x, y) = Data();
        var model = LinearModel(new SGD(learningRate: 0.1), metrics: ["mse"]);
        double expected = Enumerable.Range(0, N).Average(i => SquaredError(x, y, i));
        var scores = model.Evaluate(x, y, batchSize: 3, verbose: 0);
        Assert.Equal(expected, scores["loss"], 1e-5);
        Assert.Equal(expected, scores["mse"], 1e-5);

        var predictions = (float[,])model.Predict(x, batchSize: 4, verbose: 0).ToArray();
        for (int i = 0; i < N; i++) Assert.Equal(Prediction(x, i, W0, B0), predictions[i, 0], 1e-5);
        var onBatch = model.PredictOnBatch(x);
        Assert.Equal(new long[] { N, 1 }, onBatch.shape);

        var logs = model.TestOnBatch(x, y);
        Assert.Equal(expected, logs["loss"], 1e-5);
        var trained = model.TrainOnBatch(x, y);
        Assert.Equal(expected, trained["loss"], 1e-5);
        Assert.True(model.Evaluate(x, y, verbose: 0)["loss"] < expected);
    }

    [Fact]
    public void StreamingBatchesTrainLikeTheSameArrayBatches()
    {
        var (x, y) = Data();
        var arrays = LinearModel(new SGD(learningRate: 0.05));
        arrays.Fit(x, y, batchSize: 5, epochs: 3, verbose: 0, shuffle: false);

        IEnumerable<(ArrayLike X, ArrayLike Y)> Batches()
        {
            for (int start = 0; start < N; start += 5)
            {
                var xb = new float[5, F];
                var yb = new float[5, 1];
                for (int i = 0; i < 5; i++)
                {
                    for (int j = 0; j < F; j++) xb[i, j] = x[start + i, j];
                    yb[i, 0] = y[start + i, 0];
                }
                yield return (xb, yb);
            }
        }
        var streamed = LinearModel(new SGD(learningRate: 0.05));
        var history = streamed.Fit(Batches(), epochs: 3, verbose: 0);
        Assert.Equal(3, history["loss"].Count);
        var a = (float[,])arrays.GetWeights()[0];
        var b = (float[,])streamed.GetWeights()[0];
        for (int j = 0; j < F; j++) Assert.Equal(a[j, 0], b[j, 0], 1e-6);
    }

    [Fact]
    public void MultipleOutputsLogPerOutputLossesAndWeightTheTotal()
    {
        var input = KerasApi.Input(shape: [F], name: "in");
        var first = new Dense(1, name: "first").Apply(input);
        var second = new Dense(2, name: "second").Apply(input);
        var model = new Model(input, [first, second]);
        model.Compile(optimizer: new SGD(learningRate: 0.0), loss: ["mse", "mae"], metrics: [["mae"], null], lossWeights: [1.0, 0.5]);
        var (x, y) = Data();
        var y2 = new float[N, 2];
        var history = model.Fit(x, [y, y2], batchSize: 4, verbose: 0, shuffle: false);
        Assert.Equal(["first_loss", "first_mae", "loss", "second_loss"], history.HistoryValues.Keys.OrderBy(k => k));
        Assert.Equal(history["first_loss"][0] + 0.5 * history["second_loss"][0], history["loss"][0], 1e-5);
        var outputs = model.PredictOutputs(x, verbose: 0);
        Assert.Equal(new long[] { N, 2 }, outputs[1].shape);
    }

    [Fact]
    public void NamedInputsAndOutputsAreMatchedByName()
    {
        var a = KerasApi.Input(shape: [2], name: "a");
        var b = KerasApi.Input(shape: [3], name: "b");
        var output = new Dense(1, name: "out").Apply(new Concatenate().Apply([a, b]));
        var model = new Model([a, b], output);
        model.Compile(optimizer: "sgd", loss: "mse");
        var xa = new float[6, 2];
        var xb = new float[6, 3];
        var y = new float[6, 1];
        var history = model.Fit(new Dictionary<string, Array> { ["b"] = xb, ["a"] = xa }, new Dictionary<string, Array> { ["out"] = y }, verbose: 0);
        Assert.Single(history["loss"]);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(new Dictionary<string, Array> { ["a"] = xa, ["c"] = xb }, y, verbose: 0));
        Assert.Contains("c", e.Message);
    }

    [Fact]
    public void SeededRunsRepeatExactly()
    {
        float[] Run()
        {
            KerasApi.SetRandomSeed(1234);
            var model = new Sequential(new InputLayer([6, 2]), new LSTM(5, dropout: 0.3, recurrentDropout: 0.2, returnSequences: true),
                new GRU(3), new Dropout(0.2), new Dense(1));
            model.Compile(optimizer: "adam", loss: "mse");
            var x = torch.randn(40, 6, 2);
            var y = torch.randn(40, 1);
            model.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0);
            return model.GetWeights().SelectMany(w => ((IEnumerable<float>)w.Cast<float>())).ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void BadInputGivesClearErrors()
    {
        var (x, y) = Data();
        var uncompiled = new Sequential(new InputLayer([F]), new Dense(1));
        var notCompiled = Assert.Throws<InvalidOperationException>(() => uncompiled.Fit(x, y, verbose: 0));
        Assert.Contains("Compile", notCompiled.Message);

        var model = LinearModel(new SGD());
        var sizes = Assert.Throws<ArgumentException>(() => model.Fit(x, new float[N - 1, 1], verbose: 0));
        Assert.Contains("'x' sizes: 10", sizes.Message);
        Assert.Contains("'y' sizes: 9", sizes.Message);

        var rank = Assert.Throws<ArgumentException>(() => model.Fit(new float[N, 2, F], y, verbose: 0));
        Assert.Contains("(None, 3)", rank.Message);

        var nan = (float[,])x.Clone();
        nan[3, 1] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => model.Fit(nan, y, verbose: 0)).Message);
        var nanTarget = (float[,])y.Clone();
        nanTarget[N - 1, 0] = float.NaN;
        Assert.Contains("y[0] contains NaN", Assert.Throws<ArgumentException>(() => model.Fit(x, nanTarget, verbose: 0)).Message);
        // Finite values whose float32 sum overflows (to ±inf, or NaN where both signs meet) are not mistaken for NaN.
        var huge = (float[,])x.Clone();
        huge[0, 0] = huge[1, 0] = 3e38f;
        huge[2, 0] = huge[3, 0] = -3e38f;
        LinearModel(new SGD()).Evaluate(huge, y, verbose: 0);
        LinearModel(new SGD()).Fit(huge, y, epochs: 1, verbose: 0);

        Assert.Contains("nonsense", Assert.Throws<ArgumentException>(() => model.Compile(optimizer: "sgd", loss: "nonsense")).Message);
        Assert.Contains("adamx", Assert.Throws<ArgumentException>(() => model.Compile(optimizer: "adamx", loss: "mse")).Message);
        Assert.Throws<ArgumentException>(() => model.Fit(x, y, epochs: 0, verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Fit(x, y, batchSize: 0, verbose: 0));
    }

    [Fact]
    public void ProgressBarPrintsKerasLinesWhenOutputIsRedirected()
    {
        var (x, y) = Data();
        var model = LinearModel(new SGD(learningRate: 0.0), metrics: ["mae"]);
        var output = new StringWriter();
        model.Fit(x, y, batchSize: 4, epochs: 2, validationSplit: 0.2, shuffle: false,
            callbacks: [new ProgbarLogger(output, interactive: false)]);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Epoch 1/2", lines[0]);
        Assert.Matches(@"^2/2 ━{20} \d+s \d+(ms|us|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4} - val_loss: \d+\.\d{4} - val_mae: \d+\.\d{4}$", lines[1]);
        Assert.Equal("Epoch 2/2", lines[2]);
        Assert.Equal(4, lines.Length);
    }
}
