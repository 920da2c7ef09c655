using System.Globalization;
using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving.Legacy;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// Real files written by Keras 1.2.2, 2.0.8 and 2.1.3 (DL4J's Keras-import test resources, Apache-2.0; see
/// TestData/README.md) loaded into architectures built in C#, checked against the activations and predictions Keras
/// itself recorded.
/// </summary>
public class LegacyGoldenTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly ActivationFunction HardSigmoid2 = ActivationFunction.HardSigmoidKeras2;

    [Fact]
    public void SimpleRnnFromKeras213MatchesKerasRecordedActivationsAndPredictions()
    {
        // model_config: SimpleRNN(50, tanh) on batch_input_shape [25, 1, 1], then Dense(1, linear).
        var model = new Sequential(new InputLayer([1, 1], batchSize: 25), new SimpleRNN(50, name: "simple_rnn_1"), new Dense(1, name: "dense_1"));
        LegacyH5Weights.Load(model, LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_model.h5"));

        var golden = LegacyData.PathOf("dl4j/simple_rnn_tf_keras_2_inputs_and_outputs.h5");
        using var x = LegacyData.DatasetTensor(golden, "/inputs/simple_rnn_1_input");
        var (_, activations) = LegacyData.ReadDataset(golden, "/activations/simple_rnn_1");
        var (_, predictions) = LegacyData.ReadDataset(golden, "/predictions/dense_1");
        using var _ = torch.no_grad();
        using var h = model.Layers[0].Apply(x);
        output.WriteLine($"SimpleRNN activations: max |diff| {LegacyData.AssertClose(activations, LegacyData.Flat(h), 1e-5, "SimpleRNN activations"):E2}");
        using var y = model.Apply(x);
        output.WriteLine($"Dense predictions: max |diff| {LegacyData.AssertClose(predictions, LegacyData.Flat(y), 1e-5, "Dense predictions"):E2}");
    }

    [Fact]
    public void Keras1PerGateLstmMatchesKerasRecordedActivationsAndPredictions()
    {
        // Keras 1.2.2 (Theano): LSTM(output_dim=50, inner_activation=hard_sigmoid) on (None, 1, 1), Dense(1). Its
        // weights are 12 per-gate arrays lstm_1_W_i ... lstm_1_b_o in the order i, c, f, o.
        var model = new Sequential(new InputLayer([1, 1]), new LSTM(50, recurrentActivation: HardSigmoid2, name: "lstm_1"), new Dense(1, name: "dense_1"));
        LegacyH5Weights.Load(model, LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_model.h5"));

        var golden = LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_inputs_and_outputs.h5");
        using var x = LegacyData.DatasetTensor(golden, "/inputs/lstm_input_1");
        var (_, activations) = LegacyData.ReadDataset(golden, "/activations/lstm_1");
        var (_, predictions) = LegacyData.ReadDataset(golden, "/predictions/dense_1");
        using var _ = torch.no_grad();
        using var h = model.Layers[0].Apply(x);
        output.WriteLine($"Keras 1 LSTM activations: max |diff| {LegacyData.AssertClose(activations, LegacyData.Flat(h), 1e-5, "Keras 1 LSTM activations"):E2}");
        using var y = model.Apply(x);
        output.WriteLine($"Keras 1 predictions: max |diff| {LegacyData.AssertClose(predictions, LegacyData.Flat(y), 1e-5, "Keras 1 predictions"):E2}");
    }

    [Fact]
    public void Keras1GateOrderIsConvertedToIfco()
    {
        // Independent of the model math: the loaded kernel's column blocks are the file's W_i, W_f, W_c, W_o.
        var file = LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_model.h5");
        var model = new Sequential(new InputLayer([1, 1]), new LSTM(50, recurrentActivation: HardSigmoid2), new Dense(1));
        LegacyH5Weights.Load(model, file);
        var weights = model.Layers[0].GetWeightTensors();
        string[] gates = ["i", "f", "c", "o"];
        for (int g = 0; g < 4; g++)
        {
            var (_, w) = LegacyData.ReadDataset(file, $"/model_weights/lstm_1/lstm_1_W_{gates[g]}");
            var (_, u) = LegacyData.ReadDataset(file, $"/model_weights/lstm_1/lstm_1_U_{gates[g]}");
            var (_, b) = LegacyData.ReadDataset(file, $"/model_weights/lstm_1/lstm_1_b_{gates[g]}");
            Assert.Equal(w, LegacyData.Flat(weights[0][.., (g * 50)..((g + 1) * 50)]));
            Assert.Equal(u, LegacyData.Flat(weights[1][.., (g * 50)..((g + 1) * 50)]));
            Assert.Equal(b, LegacyData.Flat(weights[2][(g * 50)..((g + 1) * 50)]));
        }
    }

    [Fact]
    public void TheanoWeightsOnlyFileMatchesKerasPredictionsOnTheCsvSequences()
    {
        // lstm_th_keras_2_config.json: LSTM(96, return_sequences, hard_sigmoid) on (None, 4, 12) → LSTM(96,
        // hard_sigmoid) → Dense(1, sigmoid); the weights-only file (save_weights, backend theano, Keras 2.0.8) has
        // 'layer_names' at its root and dataset names without ':0'.
        var model = new Sequential(
            new InputLayer([4, 12]),
            new LSTM(96, recurrentActivation: HardSigmoid2, returnSequences: true, name: "lstm_1"),
            new LSTM(96, recurrentActivation: HardSigmoid2, name: "lstm_2"),
            new Dense(1, ActivationFunction.Sigmoid, name: "dense_1"));
        LegacyH5Weights.Load(model, LegacyData.PathOf("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_weights.h5"));

        var (shape, expected) = LegacyData.ReadNpyFloat32(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/predictions.npy"));
        Assert.Equal([283L], shape);
        var inputs = new float[283 * 4 * 12];
        for (int i = 0; i < 283; i++)
        {
            // data/sequences/{i}.csv: ';'-separated, one time step per line; the first 12 columns are the features.
            var lines = File.ReadAllLines(LegacyData.PathOf($"dl4j/fullconfig-lstm-theano/data/sequences/{i}.csv"))
                .Where(l => l.Trim().Length > 0).ToArray();
            Assert.Equal(4, lines.Length);
            for (int t = 0; t < 4; t++)
            {
                var cells = lines[t].Split(';');
                for (int f = 0; f < 12; f++)
                    inputs[(i * 4 + t) * 12 + f] = float.Parse(cells[f], CultureInfo.InvariantCulture);
            }
        }
        using var x = torch.tensor(inputs, [283, 4, 12]);
        using var _ = torch.no_grad();
        using var y = model.Apply(x);
        output.WriteLine($"predictions on the 283 sequences: max |diff| {LegacyData.AssertClose(expected, LegacyData.Flat(y), 1e-5, "predictions on the 283 sequences"):E2}");
    }
}
