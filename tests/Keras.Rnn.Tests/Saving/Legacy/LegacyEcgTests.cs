using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Metrics;
using Keras.Rnn.Models;
using Keras.Rnn.Saving.Legacy;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// The ECG classifiers of zabir-nabil/dot-res-lstm (MIT; Keras 2.2.4 full-model files) evaluated on the authors' test
/// set, against the loss and accuracy the authors' notebook reports for <c>model.evaluate(Xs_test, y_test)</c>.
/// </summary>
/// <remarks>
/// The models were compiled with <c>loss='binary_crossentropy', metrics=['accuracy']</c> on a two-way softmax.
/// Keras 2.2.4 resolved "accuracy" by the loss: with binary cross-entropy it is <c>binary_accuracy</c> (the share of
/// the 2 × 200 outputs that round to their one-hot target), which is what is compiled here. Evaluated in one batch of
/// 200: the mean over all samples is what Keras' batched evaluate reports.
/// </remarks>
public class LegacyEcgTests(ITestOutputHelper output)
{
    private static readonly ActivationFunction HardSigmoid2 = ActivationFunction.HardSigmoidKeras2;

    private void AssertEvaluate(Sequential model, string file, double expectedLoss, double expectedAccuracy)
    {
        LegacyH5Weights.Load(model, LegacyData.PathOf(file));
        var (xShape, xData) = LegacyData.ReadNpyFloat32(LegacyData.PathOf("ecg/Xs_test.npy"));
        var (yShape, yData) = LegacyData.ReadNpyFloat32(LegacyData.PathOf("ecg/y_test.npy"));
        Assert.Equal([200L, 905, 1], xShape);
        Assert.Equal([200L, 2], yShape);
        using var x = torch.tensor(xData, xShape);
        using var y = torch.tensor(yData, yShape);
        model.Compile(loss: "binary_crossentropy", metrics: [new BinaryAccuracy()]);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Dictionary<string, double> result;
        // 905 small steps per layer: one intra-op thread avoids libtorch's thread hand-offs on a busy 2-core machine.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            result = model.Evaluate(x, y, batchSize: 200, verbose: 0);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
        output.WriteLine($"{file}: evaluate took {watch.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"{file}: loss {result["loss"]:R} (authors {expectedLoss:R}), binary accuracy {result["binary_accuracy"]:R} (authors {expectedAccuracy:R})");
        Assert.Equal(expectedLoss, result["loss"], 1e-6);
        Assert.Equal(expectedAccuracy, result["binary_accuracy"], 1e-6);
    }

    [Fact]
    public void LstmClassifierReproducesTheAuthorsEvaluation()
    {
        var model = new Sequential(
            new InputLayer([905, 1]),
            new LSTM(64, recurrentActivation: HardSigmoid2, returnSequences: true, name: "lstm_3"),
            new Dropout(0.3, name: "dropout_3"),
            new LSTM(64, recurrentActivation: HardSigmoid2, name: "lstm_4"),
            new Dropout(0.3, name: "dropout_4"),
            new Dense(2, ActivationFunction.Softmax, name: "dense_2"));
        AssertEvaluate(model, "ecg/lstm.h5", 0.58300288438797, 0.73);
    }

    [Fact]
    public void GruResetAfterFalseClassifierReproducesTheAuthorsEvaluation()
    {
        var model = new Sequential(
            new InputLayer([905, 1]),
            new GRU(64, recurrentActivation: HardSigmoid2, returnSequences: true, resetAfter: false, name: "gru_1"),
            new Dropout(0.3, name: "dropout_5"),
            new GRU(64, recurrentActivation: HardSigmoid2, resetAfter: false, name: "gru_2"),
            new Dropout(0.3, name: "dropout_6"),
            new Dense(2, ActivationFunction.Softmax, name: "dense_6"));
        AssertEvaluate(model, "ecg/gru.h5", 0.5913655662536621, 0.71);
    }

    [Fact]
    public void StackedBidirectionalLstmClassifierReproducesTheAuthorsEvaluation()
    {
        var model = new Sequential(
            new InputLayer([905, 1]),
            new Bidirectional(new LSTM(40, recurrentActivation: HardSigmoid2, returnSequences: true, dropout: 0.2, recurrentDropout: 0.3), name: "bidirectional_5"),
            new Bidirectional(new LSTM(40, recurrentActivation: HardSigmoid2), name: "bidirectional_6"),
            new Dense(2, ActivationFunction.Softmax, name: "dense_5"));
        AssertEvaluate(model, "ecg/bilstm.h5", 0.5843858551979065, 0.725);
    }

    [Fact]
    public void GruFileRefusesAResetAfterTrueModelWithAHint()
    {
        var model = new Sequential(
            new InputLayer([905, 1]),
            new GRU(64, returnSequences: true), new Dropout(0.3), new GRU(64), new Dropout(0.3), new Dense(2, ActivationFunction.Softmax));
        var path = LegacyData.PathOf("ecg/gru.h5");
        var e = Assert.Throws<Keras.Rnn.Saving.KerasFileException>(() => LegacyH5Weights.Load(model, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("GRU(reset_after=False)", e.Message);
        Assert.Contains("bias (192,)", e.Message);
        Assert.Contains("resetAfter: false", e.Message);
        Assert.Contains("layer #0", e.Message);
        Assert.Contains("'gru_1' in the file", e.Message);
    }
}
