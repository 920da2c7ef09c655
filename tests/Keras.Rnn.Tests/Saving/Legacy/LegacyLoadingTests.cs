using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Keras.Rnn.Saving.Legacy;
using PureHDF;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Saving.Legacy.LegacyFileBuilder;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// Loading real Keras 2 files without recorded outputs (functional model, Masking, Keras 2.0.6), matching by order and
/// by name, mismatch reports, <c>skipMismatch</c>, and the conversions of layouts no real fixture has (Keras 1 GRU and
/// Bidirectional, CuDNN weights) on small hand-made files.
/// </summary>
public class LegacyLoadingTests : SavingTestBase
{
    private static readonly ActivationFunction HardSigmoid2 = ActivationFunction.HardSigmoidKeras2;

    private static float[] Column(float[] matrix, int rows, int columns, int from, int to)
    {
        var result = new float[rows * (to - from)];
        for (int r = 0; r < rows; r++) Array.Copy(matrix, r * columns + from, result, r * (to - from), to - from);
        return result;
    }

    [Fact]
    public void MaskingModelFromKeras220LoadsAndSkipsMaskedStepsLikeAHandWrittenLstm()
    {
        // masking_zero_lstm.h5: Masking(0.0) on (None, 10, 42) → LSTM(32, hard_sigmoid); the file has no recorded
        // outputs, so the check is a double-precision LSTM written here, fed the file's own arrays.
        var file = LegacyData.PathOf("dl4j/masking_zero_lstm.h5");
        var model = new Sequential(new InputLayer([10, 42]), new Masking(0.0, name: "masking_1"), new LSTM(32, recurrentActivation: HardSigmoid2, name: "lstm_1"));
        LegacyH5Weights.Load(model, file);
        var weights = model.Layers[1].GetWeightTensors();
        Assert.Equal([42L, 128], weights[0].shape);
        Assert.Equal([32L, 128], weights[1].shape);
        Assert.Equal([128L], weights[2].shape);
        var (_, kernel) = LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/kernel:0");
        var (_, recurrent) = LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/recurrent_kernel:0");
        var (_, bias) = LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/bias:0");
        Assert.Equal(kernel, LegacyData.Flat(weights[0]));
        Assert.Equal(recurrent, LegacyData.Flat(weights[1]));
        Assert.Equal(bias, LegacyData.Flat(weights[2]));

        // Sample 0 is right-padded (last 3 steps zero), sample 1 has masked steps inside, sample 2 none.
        var x = Values(3 * 10 * 42, 7);
        bool[][] masks = [new bool[10], new bool[10], new bool[10]];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 10; t++)
            {
                bool masked = (b == 0 && t >= 7) || (b == 1 && (t == 2 || t == 5));
                masks[b][t] = !masked;
                if (masked) Array.Clear(x, (b * 10 + t) * 42, 42);
            }
        using var input = torch.tensor(x, [3, 10, 42]);
        using var _ = torch.no_grad();
        var actual = LegacyData.Flat(model.Apply(input));
        for (int b = 0; b < 3; b++)
        {
            var expected = ReferenceLstm.Run(kernel, recurrent, bias, x[(b * 420)..((b + 1) * 420)], 10, 42, 32, ReferenceLstm.HardSigmoid2, masks[b]);
            LegacyData.AssertClose(expected.Select(v => (float)v).ToArray(), actual[(b * 32)..((b + 1) * 32)], 1e-5, $"sample {b}");
        }
    }

    [Fact]
    public void FunctionalModelFromKeras208LoadsWithItsInputLayerListed()
    {
        // lstm_functional_tf_keras_2.h5: class_name 'Model'; layer_names [inputLayer_1, lstm, outputLayer_a].
        var file = LegacyData.PathOf("dl4j/lstm_functional_tf_keras_2.h5");
        var input = KerasApi.Input([10, 4], name: "inputLayer_1");
        var hidden = new LSTM(8, recurrentActivation: HardSigmoid2, name: "lstm").Apply(input);
        var output = new Dense(5, ActivationFunction.Softmax, name: "outputLayer_a").Apply(hidden);
        var model = new Model(input, output);
        LegacyH5Weights.Load(model, file);

        var (_, kernel) = LegacyData.ReadDataset(file, "/model_weights/lstm/lstm/kernel:0");
        var (_, recurrent) = LegacyData.ReadDataset(file, "/model_weights/lstm/lstm/recurrent_kernel:0");
        var (_, bias) = LegacyData.ReadDataset(file, "/model_weights/lstm/lstm/bias:0");
        var (_, dense) = LegacyData.ReadDataset(file, "/model_weights/outputLayer_a/outputLayer_a/kernel:0");
        var (_, denseBias) = LegacyData.ReadDataset(file, "/model_weights/outputLayer_a/outputLayer_a/bias:0");
        var lstm = model.GetLayer("lstm").GetWeightTensors();
        Assert.Equal([4L, 32], lstm[0].shape);
        Assert.Equal(kernel, LegacyData.Flat(lstm[0]));
        Assert.Equal(recurrent, LegacyData.Flat(lstm[1]));
        Assert.Equal(bias, LegacyData.Flat(lstm[2]));

        var x = Values(2 * 10 * 4, 11);
        using var xs = torch.tensor(x, [2, 10, 4]);
        using var _ = torch.no_grad();
        var y = LegacyData.Flat(model.Apply(xs));
        for (int b = 0; b < 2; b++)
        {
            var h = ReferenceLstm.Run(kernel, recurrent, bias, x[(b * 40)..((b + 1) * 40)], 10, 4, 8, ReferenceLstm.HardSigmoid2);
            var logits = Enumerable.Range(0, 5).Select(j => denseBias[j] + Enumerable.Range(0, 8).Sum(k => h[k] * dense[k * 5 + j])).ToArray();
            double max = logits.Max();
            double sum = logits.Sum(l => Math.Exp(l - max));
            var expected = logits.Select(l => (float)(Math.Exp(l - max) / sum)).ToArray();
            LegacyData.AssertClose(expected, y[(b * 5)..((b + 1) * 5)], 1e-6, $"softmax output of sample {b}");
        }
    }

    [Fact]
    public void Keras206LstmLoadsInWeightNamesOrderNotAlphabeticalOrder()
    {
        // HDF5 lists the datasets as bias, kernel, recurrent_kernel; weight_names says kernel, recurrent_kernel, bias.
        var file = LegacyData.PathOf("dl4j/simple_lstm_tf_keras_2_model.h5");
        var model = new Sequential(new InputLayer([1, 1], batchSize: 25), new LSTM(50, recurrentActivation: HardSigmoid2, dropout: 0.2), new Dense(1));
        LegacyH5Weights.Load(model, file);
        var w = model.Layers[0].GetWeightTensors();
        Assert.Equal(LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/kernel:0").Data, LegacyData.Flat(w[0]));
        Assert.Equal(LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/recurrent_kernel:0").Data, LegacyData.Flat(w[1]));
        Assert.Equal(LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/bias:0").Data, LegacyData.Flat(w[2]));
    }

    [Fact]
    public void ByNameLoadsMatchingLayersAndLeavesOthersWhereTopologicalLoadingRefuses()
    {
        var file = LegacyData.PathOf("dl4j/masking_zero_lstm.h5");
        var model = new Sequential(new InputLayer([10, 42]),
            new LSTM(32, recurrentActivation: HardSigmoid2, returnSequences: true, name: "lstm_1"), new Dense(3, name: "extra"));
        var extraBefore = model.Layers[1].GetWeights();

        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, file));
        Assert.Contains("Layer count mismatch", e.Message);
        Assert.Contains("2 layers with weights [lstm_1, extra]", e.Message);
        Assert.Contains("1 saved layers with weights [lstm_1]", e.Message);

        LegacyH5Weights.Load(model, file, byName: true);
        Assert.Equal(LegacyData.ReadDataset(file, "/model_weights/lstm_1/lstm_1/kernel:0").Data, LegacyData.Flat(model.Layers[0].GetWeightTensors()[0]));
        var extraAfter = model.Layers[1].GetWeights();
        for (int i = 0; i < extraBefore.Length; i++) Assert.Equal(extraBefore[i], extraAfter[i]);
    }

    [Fact]
    public void ShapeMismatchNamesFileLayersAndShapesAndLoadsNothing()
    {
        var path = LegacyData.PathOf("ecg/lstm.h5");
        var model = new Sequential(new InputLayer([905, 1]), new LSTM(32, returnSequences: true), new Dropout(0.3),
            new LSTM(64), new Dropout(0.3), new Dense(2, ActivationFunction.Softmax));
        var before = model.GetWeights();
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains($"layer #0 (named '{model.Layers[0].Name}' (LSTM) in the model, 'lstm_3' in the file)", e.Message);
        Assert.Contains("expects shape (1, 128), but the saved weight 'lstm_3/kernel:0' in '/model_weights/lstm_3' has shape (1, 256)", e.Message);
        Assert.Contains("expects shape (32, 256), but the saved weight 'lstm_4/kernel:0'", e.Message);
        Assert.Contains("skipMismatch", e.Message);
        var after = model.GetWeights();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void SkipMismatchSkipsWhatDoesNotFitWithWarningsAndLoadsTheRest()
    {
        // Keras skips mismatched shapes weight by weight: the second LSTM's kernel (32 inputs here, 64 in the file)
        // is skipped, its recurrent kernel and bias and the Dense layer load.
        var path = LegacyData.PathOf("ecg/lstm.h5");
        var log = CaptureLog();
        var model = new Sequential(new InputLayer([905, 1]), new LSTM(32, returnSequences: true), new Dropout(0.3),
            new LSTM(64), new Dropout(0.3), new Dense(2, ActivationFunction.Softmax));
        var firstBefore = model.Layers[0].GetWeights();
        var secondKernelBefore = model.Layers[2].GetWeights()[0];
        LegacyH5Weights.Load(model, path, skipMismatch: true);
        Assert.Equal(4, log.Count(m => m.Contains("shape mismatch")));
        Assert.All(log, m => Assert.Contains(path, m));
        var firstAfter = model.Layers[0].GetWeights();
        for (int i = 0; i < 3; i++) Assert.Equal(firstBefore[i], firstAfter[i]);
        var second = model.Layers[2].GetWeightTensors();
        Assert.Equal(secondKernelBefore, model.Layers[2].GetWeights()[0]);
        Assert.Equal(LegacyData.ReadDataset(path, "/model_weights/lstm_4/lstm_4/recurrent_kernel:0").Data, LegacyData.Flat(second[1]));
        Assert.Equal(LegacyData.ReadDataset(path, "/model_weights/lstm_4/lstm_4/bias:0").Data, LegacyData.Flat(second[2]));
        Assert.Equal(LegacyData.ReadDataset(path, "/model_weights/dense_2/dense_2/kernel:0").Data, LegacyData.Flat(model.Layers[4].GetWeightTensors()[0]));
    }

    [Fact]
    public void WeightCountMismatchIsReportedPerLayerAndSkippable()
    {
        var path = LegacyData.PathOf("dl4j/masking_zero_lstm.h5");
        var model = new Sequential(new InputLayer([10, 42]), new Masking(), new LSTM(32, useBias: false));
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, path));
        Assert.Contains("weight count mismatch: the layer expects 2 weight(s)", e.Message);
        Assert.Contains("the file has 3 saved weight(s) [lstm_1/kernel:0 (42, 128), lstm_1/recurrent_kernel:0 (32, 128), lstm_1/bias:0 (128,)]", e.Message);
        var log = CaptureLog();
        LegacyH5Weights.Load(model, path, skipMismatch: true);
        Assert.Single(log);
        Assert.Contains("weight count mismatch", log[0]);
    }

    [Fact]
    public void ProducerPathsOfTfKerasAndKeras3AreFollowedThroughWeightNames()
    {
        // tf.keras 2.x keys cells by their own (unrelated) names; Keras 3's legacy writer drops ':0' and may put the
        // model's name in the path. Only weight_names says where each array is.
        var path = PathOf("paths.h5");
        LayerEntry[] layers =
        [
            new("lstm", [W("lstm/lstm_cell_6/kernel:0", [2, 12], 1), W("lstm/lstm_cell_6/recurrent_kernel:0", [3, 12], 2), W("lstm/lstm_cell_6/bias:0", [12], 3)]),
            new("gru", [W("sequential_2/gru/gru_cell/kernel", [3, 6], 4), W("sequential_2/gru/gru_cell/recurrent_kernel", [2, 6], 5), W("sequential_2/gru/gru_cell/bias", [2, 6], 6)]),
            new("time_distributed", [W("time_distributed/kernel:0", [2, 4], 7), W("time_distributed/bias:0", [4], 8)]),
        ];
        Write(path, layers, "2.4.0");
        var model = new Sequential(new InputLayer([5, 2]), new LSTM(3, returnSequences: true), new GRU(2, returnSequences: true), new TimeDistributed(new Dense(4)));
        LegacyH5Weights.Load(model, path);
        var all = model.GetWeightTensors();
        var expected = layers.SelectMany(l => l.Weights).ToList();
        Assert.Equal(expected.Count, all.Length);
        for (int i = 0; i < all.Length; i++) Assert.Equal(expected[i].Data, LegacyData.Flat(all[i]));
    }

    [Fact]
    public void LayersWithoutBiasLoadTheirTwoOrOneArrays()
    {
        var path = PathOf("no_bias.h5");
        LayerEntry[] layers =
        [
            new("lstm_1", [W("lstm_1/kernel:0", [2, 12], 1), W("lstm_1/recurrent_kernel:0", [3, 12], 2)]),
            new("gru_1", [W("gru_1/kernel:0", [3, 6], 3), W("gru_1/recurrent_kernel:0", [2, 6], 4)]),
            new("dense_1", [W("dense_1/kernel:0", [2, 4], 5)]),
        ];
        Write(path, layers, "2.2.4");
        var model = new Sequential(new InputLayer([5, 2]), new LSTM(3, useBias: false, returnSequences: true),
            new GRU(2, useBias: false, resetAfter: false), new Dense(4, useBias: false));
        LegacyH5Weights.Load(model, path);
        var all = model.GetWeightTensors();
        var expected = layers.SelectMany(l => l.Weights).ToList();
        Assert.Equal(expected.Count, all.Length);
        for (int i = 0; i < all.Length; i++) Assert.Equal(expected[i].Data, LegacyData.Flat(all[i]));
    }

    [Fact]
    public void NestedModelIsOneLayerGroupWithItsWeightsInOrder()
    {
        Sequential Build() => new(new InputLayer([4, 3]),
            new Sequential(new InputLayer([4, 3]), new LSTM(5, returnSequences: true), new Dense(2)),
            new GRU(3));
        var source = Build();
        var path = PathOf("nested.h5");
        LegacyH5Writer.SaveModel(source, path);
        using (var h5 = H5File.OpenRead(path))
            Assert.Equal(5, h5.Group($"model_weights/{source.Layers[0].Name}").Attribute("weight_names").Read<string[]>().Length);
        var fresh = Build();
        using var x = torch.randn(2, 4, 3);
        Assert.NotEqual(Predict(source, x), Predict(fresh, x));
        LegacyH5Weights.LoadInto(fresh, path, skipMismatch: false);
        Assert.Equal(Predict(source, x), Predict(fresh, x));
    }

    [Fact]
    public void ChunkedLayerNamesAttributeIsFollowed()
    {
        // Keras splits attributes over 64 KiB into layer_names0, layer_names1, ...
        var path = PathOf("chunked.h5");
        var file = new H5File();
        var dense = new PureHDF.H5Group();
        file["a"] = dense;
        dense.Attributes["weight_names"] = new[] { "a/kernel:0" };
        var nested = new PureHDF.H5Group();
        dense["a"] = nested;
        nested["kernel:0"] = new PureHDF.H5Dataset(Values(6, 3), fileDims: [3, 2]);
        var empty = new PureHDF.H5Group();
        file["b"] = empty;
        empty.Attributes["weight_names"] = Array.Empty<string>();
        file.Attributes["layer_names0"] = new[] { "b" };
        file.Attributes["layer_names1"] = new[] { "a" };
        file.Attributes["keras_version"] = "2.3.1";
        file.Write(path);
        var model = new Sequential(new InputLayer([3]), new Dense(2, useBias: false));
        LegacyH5Weights.Load(model, path);
        Assert.Equal(Values(6, 3), LegacyData.Flat(model.Layers[0].GetWeightTensors()[0]));
    }

    [Fact]
    public void Keras1PerGateGruIsConcatenatedInZrhOrderAndRefusedByAResetAfterGru()
    {
        var path = PathOf("keras1_gru.h5");
        string[] gates = ["z", "r", "h"];
        var weights = new List<Weight>();
        for (int g = 0; g < 3; g++)
        {
            weights.Add(W($"gru_1_W_{gates[g]}", [2, 3], 10 * g + 1));
            weights.Add(W($"gru_1_U_{gates[g]}", [3, 3], 10 * g + 2));
            weights.Add(W($"gru_1_b_{gates[g]}", [3], 10 * g + 3));
        }
        Write(path, [new LayerEntry("gru_1", weights)], kerasVersion: null); // Keras 1 wrote no keras_version on the group
        var model = new Sequential(new InputLayer([4, 2]), new GRU(3, resetAfter: false));
        LegacyH5Weights.Load(model, path);
        var w = model.Layers[0].GetWeightTensors();
        for (int g = 0; g < 3; g++)
        {
            Assert.Equal(weights[3 * g].Data, Column(LegacyData.Flat(w[0]), 2, 9, 3 * g, 3 * g + 3));
            Assert.Equal(weights[3 * g + 1].Data, Column(LegacyData.Flat(w[1]), 3, 9, 3 * g, 3 * g + 3));
            Assert.Equal(weights[3 * g + 2].Data, LegacyData.Flat(w[2])[(3 * g)..(3 * g + 3)]);
        }
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(new Sequential(new InputLayer([4, 2]), new GRU(3)), path));
        Assert.Contains("GRU(reset_after=False) weights (bias (9,)), which are not compatible with GRU(reset_after=True)", e.Message);
    }

    [Fact]
    public void Keras1BidirectionalLstmIsSplitInHalvesAndEachHalfReorderedToIfco()
    {
        var path = PathOf("keras1_bidirectional.h5");
        string[] keras1Order = ["i", "c", "f", "o"];
        var weights = new List<Weight>();
        foreach (var direction in new[] { "forward", "backward" })
            foreach (var gate in keras1Order)
            {
                int seed = (direction == "forward" ? 100 : 200) + Array.IndexOf(keras1Order, gate) * 10;
                weights.Add(W($"{direction}_lstm_1_W_{gate}", [2, 3], seed));
                weights.Add(W($"{direction}_lstm_1_U_{gate}", [3, 3], seed + 1));
                weights.Add(W($"{direction}_lstm_1_b_{gate}", [3], seed + 2));
            }
        Write(path, [new LayerEntry("bidirectional_1", weights)], kerasVersion: "1.2.2");
        var model = new Sequential(new InputLayer([4, 2]), new Bidirectional(new LSTM(3)));
        LegacyH5Weights.Load(model, path);
        var w = model.Layers[0].GetWeightTensors(); // forward kernel, recurrent, bias, then backward
        string[] ours = ["i", "f", "c", "o"];
        for (int d = 0; d < 2; d++)
            for (int g = 0; g < 4; g++)
            {
                int source = d * 12 + Array.IndexOf(keras1Order, ours[g]) * 3;
                Assert.Equal(weights[source].Data, Column(LegacyData.Flat(w[3 * d]), 2, 12, 3 * g, 3 * g + 3));
                Assert.Equal(weights[source + 1].Data, Column(LegacyData.Flat(w[3 * d + 1]), 3, 12, 3 * g, 3 * g + 3));
                Assert.Equal(weights[source + 2].Data, LegacyData.Flat(w[3 * d + 2])[(3 * g)..(3 * g + 3)]);
            }
    }

    /// <summary>Keras' to-CuDNN transform of one gate's input kernel: <c>kernel.T.reshape(kernel.shape, order='C')</c>.</summary>
    private static float[] ToCudnnKernel(float[] kernel, int rows, int gates, int units)
    {
        int columns = gates * units;
        var result = new float[kernel.Length];
        for (int g = 0; g < gates; g++)
        {
            // The block transposed, (units, rows), read in C order ...
            var flat = new List<float>();
            for (int a = 0; a < units; a++)
                for (int b = 0; b < rows; b++) flat.Add(kernel[b * columns + g * units + a]);
            // ... and written back into a (rows, units) block in C order.
            for (int p = 0; p < flat.Count; p++) result[(p / units) * columns + g * units + p % units] = flat[p];
        }
        return result;
    }

    private static float[] ToCudnnRecurrent(float[] recurrent, int gates, int units)
    {
        int columns = gates * units;
        var result = new float[recurrent.Length];
        for (int g = 0; g < gates; g++)
            for (int r = 0; r < units; r++)
                for (int c = 0; c < units; c++)
                    result[r * columns + g * units + c] = recurrent[c * columns + g * units + r];
        return result;
    }

    [Fact]
    public void CudnnLstmWeightsAreConvertedBackToLstmLayout()
    {
        // The file holds what Keras' LSTM → CuDNNLSTM conversion makes of known LSTM weights: per gate the input
        // kernel re-laid, the recurrent kernel transposed, and the bias split into two halves (8·units).
        const int inputs = 2, units = 3;
        var kernel = Values(inputs * 4 * units, 1);
        var recurrent = Values(units * 4 * units, 2);
        var bias = Values(4 * units, 3);
        var path = PathOf("cudnn_lstm.h5");
        Write(path, [new LayerEntry("cu_dnnlstm_1",
        [
            new Weight("cu_dnnlstm_1/kernel:0", [inputs, 4 * units], ToCudnnKernel(kernel, inputs, 4, units)),
            new Weight("cu_dnnlstm_1/recurrent_kernel:0", [units, 4 * units], ToCudnnRecurrent(recurrent, 4, units)),
            new Weight("cu_dnnlstm_1/bias:0", [8 * units], [.. bias.Select(b => 0.5f * b), .. bias.Select(b => 0.5f * b)]),
        ])], "2.2.4");
        var model = new Sequential(new InputLayer([5, inputs]), new LSTM(units));
        LegacyH5Weights.Load(model, path);
        var w = model.Layers[0].GetWeightTensors();
        Assert.Equal(kernel, LegacyData.Flat(w[0]));
        Assert.Equal(recurrent, LegacyData.Flat(w[1]));
        Assert.Equal(bias, LegacyData.Flat(w[2]));
    }

    [Fact]
    public void CudnnGruWeightsBecomeResetAfterGruWeightsAndAreRefusedByAResetBeforeGru()
    {
        const int inputs = 2, units = 3;
        var kernel = Values(inputs * 3 * units, 4);
        var recurrent = Values(units * 3 * units, 5);
        var bias = Values(2 * 3 * units, 6); // (2, 3·units): input bias row, recurrent bias row
        var path = PathOf("cudnn_gru.h5");
        Write(path, [new LayerEntry("cu_dnngru_1",
        [
            new Weight("cu_dnngru_1/kernel:0", [inputs, 3 * units], ToCudnnKernel(kernel, inputs, 3, units)),
            new Weight("cu_dnngru_1/recurrent_kernel:0", [units, 3 * units], ToCudnnRecurrent(recurrent, 3, units)),
            new Weight("cu_dnngru_1/bias:0", [6 * units], bias),
        ])], "2.2.4");
        var model = new Sequential(new InputLayer([5, inputs]), new GRU(units));
        LegacyH5Weights.Load(model, path);
        var w = model.Layers[0].GetWeightTensors();
        Assert.Equal(kernel, LegacyData.Flat(w[0]));
        Assert.Equal(recurrent, LegacyData.Flat(w[1]));
        Assert.Equal([2L, 3 * units], w[2].shape);
        Assert.Equal(bias, LegacyData.Flat(w[2]));

        var e = Assert.Throws<KerasFileException>(() =>
            LegacyH5Weights.Load(new Sequential(new InputLayer([5, inputs]), new GRU(units, resetAfter: false)), path));
        Assert.Contains("CuDNNGRU weights (bias (18,)), which are not compatible with GRU(reset_after=False)", e.Message);
    }
}
