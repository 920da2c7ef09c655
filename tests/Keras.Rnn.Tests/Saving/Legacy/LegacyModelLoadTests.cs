using System.Globalization;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// Whole Keras-written legacy files through the public API — <c>Model.Load</c> rebuilds the architecture from the
/// file's <c>model_config</c> (Keras 1/2 flavours, <c>hard_sigmoid</c> as Keras 2 defined it), compiles it from
/// <c>training_config</c> and loads the weights — checked against what Keras or the files' authors recorded.
/// </summary>
public class LegacyModelLoadTests
{
    [Fact]
    public void Keras213SimpleRnnLoadsAndPredictsKerasRecordedOutputs()
    {
        var model = Model.Load(LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_model.h5"));
        Assert.IsType<Sequential>(model);
        Assert.Equal(["simple_rnn_1", "dense_1"], model.Layers.Select(l => l.Name));
        Assert.True(model.Compiled);
        var golden = LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_inputs_and_outputs.h5");
        using var x = LegacyData.DatasetTensor(golden, "/inputs/simple_rnn_1_input");
        var (_, predictions) = LegacyData.ReadDataset(golden, "/predictions/dense_1");
        using var y = model.Predict(x, verbose: 0);
        LegacyData.AssertClose(predictions, LegacyData.Flat(y), 1e-5, "Model.Load predictions");
    }

    [Fact]
    public void Keras1PerGateModelLoadsWithKeras2HardSigmoid()
    {
        var model = Model.Load(LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_model.h5"));
        var lstm = Assert.IsType<LSTM>(model.Layers[0]);
        Assert.True(lstm.Cell.RecurrentActivation.IsKeras2HardSigmoid);
        var golden = LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_inputs_and_outputs.h5");
        using var x = LegacyData.DatasetTensor(golden, "/inputs/lstm_input_1");
        var (_, predictions) = LegacyData.ReadDataset(golden, "/predictions/dense_1");
        using var y = model.Predict(x, verbose: 0);
        LegacyData.AssertClose(predictions, LegacyData.Flat(y), 1e-5, "Keras 1 predictions through Model.Load");
    }

    [Fact]
    public void WeightsOnlyFileWithItsJsonArchitecturePredictsKerasRecordedOutputs()
    {
        var json = File.ReadAllText(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_config.json"));
        var model = Model.FromJson(json);
        model.LoadWeights(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_weights.h5"));
        var expected = Npy.Read(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/predictions.npy"));
        var inputs = new float[283, 4, 12];
        for (int i = 0; i < 283; i++)
        {
            var lines = File.ReadAllLines(LegacyData.PathOf($"dl4j/fullconfig-lstm-theano/data/sequences/{i}.csv"))
                .Where(l => l.Trim().Length > 0).ToArray();
            for (int t = 0; t < 4; t++)
            {
                var cells = lines[t].Split(';');
                for (int f = 0; f < 12; f++) inputs[i, t, f] = float.Parse(cells[f], CultureInfo.InvariantCulture);
            }
        }
        using var y = model.Predict(inputs, verbose: 0);
        Assert.True(y.reshape(283).allclose(expected, atol: 1e-5), "predictions differ from Keras' predictions.npy");
    }

    [Theory]
    [InlineData("ecg/lstm.h5", 0.58300288438797, 0.73)]
    [InlineData("ecg/gru.h5", 0.5913655662536621, 0.71)]
    [InlineData("ecg/bilstm.h5", 0.5843858551979065, 0.725)]
    public void EcgModelsLoadCompiledAndReproduceTheAuthorsEvaluation(string file, double loss, double accuracy)
    {
        var model = Model.Load(LegacyData.PathOf(file));
        Assert.True(model.Compiled);
        var x = Npy.Read(LegacyData.PathOf("ecg/Xs_test.npy"));
        var y = Npy.Read(LegacyData.PathOf("ecg/y_test.npy"));
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            // The training_config says loss binary_crossentropy, metrics ["accuracy"]: on the 2-way softmax with one-hot
            // targets, Keras 3's categorical resolution and Keras 2's binary accuracy give the same value.
            var scores = model.Evaluate(x, y, batchSize: 200, verbose: 0);
            Assert.Equal(loss, scores["loss"], 1e-5);
            Assert.Equal(accuracy, scores["accuracy"], 1e-6);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    [Fact]
    public void LegacyAndKerasFormatsConvertIntoEachOther()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"keras-rnn-convert-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var original = Model.Load(LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_model.h5"));
            var keras = Path.Combine(folder, "model.keras");
            original.Save(keras);
            var legacy = Path.Combine(folder, "back.h5");
            Model.Load(keras).Save(legacy);
            var again = Model.Load(legacy);
            var golden = LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_inputs_and_outputs.h5");
            using var x = LegacyData.DatasetTensor(golden, "/inputs/simple_rnn_1_input");
            Assert.True(original.Predict(x, verbose: 0).allclose(again.Predict(x, verbose: 0), rtol: 0, atol: 0));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
