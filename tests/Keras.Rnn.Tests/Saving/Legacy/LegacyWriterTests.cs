using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Saving;
using Keras.Rnn.Saving.Legacy;
using PureHDF;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// The legacy writer: the layout of Keras 3's <c>legacy_h5_format.save_model_to_hdf5</c> (checked by reading the
/// file with PureHDF directly), round trips through the loader, optimizer state, atomic saving, and the metadata of
/// real Keras files.
/// </summary>
public class LegacyWriterTests : SavingTestBase
{
    private static Sequential Stack() => new(
        new InputLayer([5, 3]),
        new LSTM(4, returnSequences: true, name: "lstm"),
        new GRU(3, name: "gru"),
        new Dense(2, name: "dense"));

    private static string[] Strings(IH5Object o, string attribute) => o.Attribute(attribute).Read<string[]>();

    private static string String(IH5Object o, string attribute) => o.Attribute(attribute).Read<string>();

    [Fact]
    public void FullModelFileHasKeras3LegacyLayoutAndRoundTrips()
    {
        var source = Stack();
        var path = PathOf("model.h5");
        LegacyH5Writer.SaveModel(source, path);

        using (var h5 = H5File.OpenRead(path))
        {
            Assert.Equal("3.15.0", String(h5, "keras_version"));
            Assert.Equal("torch", String(h5, "backend"));
            Assert.False(h5.AttributeExists("training_config")); // not compiled
            Assert.False(h5.LinkExists("optimizer_weights"));

            var config = JsonNode.Parse(String(h5, "model_config"))!.AsObject();
            Assert.Equal("Sequential", config["class_name"]!.GetValue<string>());
            var layers = config["config"]!["layers"]!.AsArray();
            Assert.Equal(["InputLayer", "LSTM", "GRU", "Dense"], layers.Select(l => l!["class_name"]!.GetValue<string>()).ToArray());
            // Legacy serialization: {"class_name", "config"} only, no module / registered_name / build_config.
            Assert.All(layers, l => Assert.Equal(["class_name", "config"], l!.AsObject().Select(kv => kv.Key).ToArray()));
            Assert.Equal("lstm", layers[1]!["config"]!["name"]!.GetValue<string>());
            Assert.Equal(4, layers[1]!["config"]!["units"]!.GetValue<int>());

            var weights = h5.Group("model_weights");
            Assert.Equal(["lstm", "gru", "dense"], Strings(weights, "layer_names")); // Sequential: no input layer
            Assert.Equal("torch", String(weights, "backend"));
            Assert.Equal("3.15.0", String(weights, "keras_version"));
            foreach (var layer in source.Layers)
            {
                var group = weights.Group(layer.Name);
                var expected = layer.Weights.Select(v => v.Path).ToArray();
                Assert.Equal(expected, Strings(group, "weight_names"));
                foreach (var v in layer.Weights)
                {
                    var dataset = group.Dataset(v.Path);
                    Assert.Equal(v.Shape.Select(d => (ulong)d).ToArray(), dataset.Space.Dimensions);
                    Assert.Equal(LegacyData.Flat(v.Value), dataset.Read<float[]>());
                }
            }
            Assert.EndsWith("lstm_cell/kernel", Strings(weights.Group("lstm"), "weight_names")[0]);
            Assert.Empty(Strings(weights.Group("top_level_model_weights"), "weight_names"));
        }

        var fresh = Stack();
        using var x = torch.randn(2, 5, 3);
        Assert.NotEqual(Predict(source, x), Predict(fresh, x));
        LegacyH5Weights.LoadInto(fresh, path, skipMismatch: false);
        Assert.Equal(Predict(source, x), Predict(fresh, x));
    }

    [Fact]
    public void FunctionalModelWithWrappersRoundTripsAndKeepsGraphKeys()
    {
        Model Build()
        {
            var input = KerasApi.Input([6, 2], name: "inputs");
            var h = new Bidirectional(new LSTM(3, returnSequences: true), name: "bidirectional").Apply(input);
            var t = new TimeDistributed(new Dense(4), name: "time_distributed").Apply(h);
            var g = new GRU(2, resetAfter: false, name: "gru").Apply(t);
            return new Model(input, new Dense(1, ActivationFunction.Sigmoid, name: "out").Apply(g));
        }
        var source = Build();
        var path = PathOf("functional.h5");
        LegacyH5Writer.SaveModel(source, path);
        using (var h5 = H5File.OpenRead(path))
        {
            var config = JsonNode.Parse(String(h5, "model_config"))!.AsObject();
            Assert.Equal("Functional", config["class_name"]!.GetValue<string>());
            var layers = config["config"]!["layers"]!.AsArray();
            Assert.All(layers, l => Assert.Equal(["class_name", "config", "name", "inbound_nodes"], l!.AsObject().Select(kv => kv.Key).ToArray()));
            Assert.Equal(["inputs", "bidirectional", "time_distributed", "gru", "out"], Strings(h5.Group("model_weights"), "layer_names"));
            // Forward then backward, kernel / recurrent kernel / bias each.
            Assert.Equal(6, Strings(h5.Group("model_weights/bidirectional"), "weight_names").Length);
            Assert.Empty(Strings(h5.Group("model_weights/inputs"), "weight_names"));
        }
        var fresh = Build();
        using var x = torch.randn(3, 6, 2);
        Assert.NotEqual(Predict(source, x), Predict(fresh, x));
        LegacyH5Weights.LoadInto(fresh, path, skipMismatch: false);
        Assert.Equal(Predict(source, x), Predict(fresh, x));
    }

    [Fact]
    public void WeightsOnlyFileHasLayerNamesAtTheRootAndLoadsByOrderAndByName()
    {
        var source = Stack();
        var path = PathOf("weights.h5");
        LegacyH5Writer.SaveWeights(source, path);
        using (var h5 = H5File.OpenRead(path))
        {
            Assert.Equal(["lstm", "gru", "dense"], Strings(h5, "layer_names"));
            Assert.False(h5.AttributeExists("model_config"));
            Assert.False(h5.LinkExists("model_weights"));
        }
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.ReadMetadata(path));
        Assert.Contains("weights-only", e.Message);

        using var x = torch.randn(2, 5, 3);
        var byOrder = Stack();
        LegacyH5Weights.Load(byOrder, path);
        Assert.Equal(Predict(source, x), Predict(byOrder, x));
        var byName = Stack();
        LegacyH5Weights.Load(byName, path, byName: true);
        Assert.Equal(Predict(source, x), Predict(byName, x));
    }

    private static (Tensor X, Tensor Y) Data()
    {
        var x = torch.tensor(Enumerable.Range(0, 8 * 5 * 3).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), [8, 5, 3]);
        var y = torch.tensor(Enumerable.Range(0, 8 * 2).Select(i => (float)Math.Cos(i * 0.21)).ToArray(), [8, 2]);
        return (x, y);
    }

    [Fact]
    public void CompiledModelWritesTrainingConfigAndOptimizerStateThatResumesTraining()
    {
        var (x, y) = Data();
        using (x)
        using (y)
        {
            var source = Stack();
            source.Compile(optimizer: new Adam(learningRate: 0.01), loss: "mse");
            source.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false);
            var path = PathOf("compiled.h5");
            LegacyH5Writer.SaveModel(source, path);

            using (var h5 = H5File.OpenRead(path))
            {
                var training = JsonNode.Parse(String(h5, "training_config"))!.AsObject();
                Assert.Equal("Adam", training["optimizer_config"]!["class_name"]!.GetValue<string>());
                Assert.Equal(0.01, training["optimizer_config"]!["config"]!["learning_rate"]!.GetValue<double>(), 1e-6);
                // A loss object in legacy form (our Compile receives "mse" already resolved to a Loss object).
                Assert.Equal("MeanSquaredError", training["loss"]!["class_name"]!.GetValue<string>());
                Assert.False(training["loss"]!.AsObject().ContainsKey("module"));
                Assert.False(training.ContainsKey("optimizer"));
                var names = Strings(h5.Group("optimizer_weights"), "weight_names");
                Assert.Equal(source.Optimizer!.Variables.Select(v => v.Path).ToArray(), names);
            }
            var (_, trainingJson, version, backend) = LegacyH5Weights.ReadMetadata(path);
            Assert.NotNull(trainingJson);
            Assert.Equal(("3.15.0", "torch"), (version, backend));

            var resumed = Stack();
            resumed.Compile(optimizer: new Adam(learningRate: 0.01), loss: "mse");
            LegacyH5Weights.LoadInto(resumed, path, skipMismatch: false);
            Assert.True(LegacyH5Weights.LoadOptimizerWeights(resumed, path));
            var expected = source.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false)["loss"][0];
            var actual = resumed.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, shuffle: false)["loss"][0];
            Assert.Equal(expected, actual, 12);
        }
    }

    [Fact]
    public void Keras2OptimizerStateIsSkippedWithAWarningLikeKeras()
    {
        // Keras 2.2.4's Adam kept iterations, lr, beta_1, beta_2, decay and m/v per weight: not Keras 3's variables.
        var log = CaptureLog();
        var model = new Sequential(new InputLayer([905, 1]), new LSTM(64, returnSequences: true), new Dropout(0.3),
            new LSTM(64), new Dropout(0.3), new Dense(2, ActivationFunction.Softmax));
        model.Compile(optimizer: "adam", loss: "binary_crossentropy");
        var path = LegacyData.PathOf("ecg/lstm.h5");
        Assert.False(LegacyH5Weights.LoadOptimizerWeights(model, path));
        Assert.Single(log);
        Assert.Contains("freshly initialized optimizer", log[0]);
        Assert.Contains("the file 25", log[0]);
    }

    [Fact]
    public void MetadataOfRealFilesIsReturnedAsWritten()
    {
        var (config, training, version, backend) = LegacyH5Weights.ReadMetadata(LegacyData.PathOf("ecg/gru.h5"));
        var parsed = JsonNode.Parse(config)!;
        Assert.Equal("Sequential", parsed["class_name"]!.GetValue<string>());
        Assert.False(parsed["config"]!["layers"]![0]!["config"]!["reset_after"]!.GetValue<bool>());
        Assert.Equal("binary_crossentropy", JsonNode.Parse(training!)!["loss"]!.GetValue<string>());
        Assert.Equal(("2.2.4", "tensorflow"), (version, backend));

        // Keras 1.2.2: root keras_version, no backend, list-style Sequential config with output_dim.
        var keras1 = LegacyH5Weights.ReadMetadata(LegacyData.PathOf("dl4j/keras1/simple_lstm_th_keras_1_model.h5"));
        Assert.Equal("1.2.2", keras1.KerasVersion);
        Assert.Null(keras1.Backend);
        Assert.Equal(50, JsonNode.Parse(keras1.ModelConfigJson)!["config"]![0]!["config"]!["output_dim"]!.GetValue<int>());

        var masking = LegacyH5Weights.ReadMetadata(LegacyData.PathOf("dl4j/masking_zero_lstm.h5"));
        Assert.Null(masking.TrainingConfigJson);
        Assert.Equal("2.2.0", masking.KerasVersion);

        Assert.True(LegacyH5Weights.IsLegacyFile(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_weights.h5")));
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.ReadMetadata(LegacyData.PathOf("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_weights.h5")));
        Assert.Contains("weights-only", e.Message);
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousFileIntact()
    {
        var path = PathOf("model.h5");
        LegacyH5Writer.SaveModel(Stack(), path);
        var previous = File.ReadAllBytes(path);
        long written = 0;
        AtomicFile.StreamWrapperForTests = s => new FailAfter(s, 300, n => written = n);
        Assert.ThrowsAny<IOException>(() => LegacyH5Writer.SaveModel(Stack(), path));
        Assert.ThrowsAny<IOException>(() => LegacyH5Writer.SaveWeights(Stack(), path));
        AtomicFile.StreamWrapperForTests = null;
        Assert.True(written > 0);
        Assert.Equal(previous, File.ReadAllBytes(path));
        Assert.Equal(["model.h5"], Directory.GetFiles(Folder).Select(System.IO.Path.GetFileName).ToArray());
        Assert.Throws<IOException>(() => LegacyH5Writer.SaveModel(Stack(), path, overwrite: false));
    }

    [Fact]
    public void KerasThreeWeightsFilesAndOtherFilesAreToldApart()
    {
        var model = Stack();
        var keras3 = PathOf("model.weights.h5");
        model.SaveWeights(keras3);
        Assert.False(LegacyH5Weights.IsLegacyFile(keras3));
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, keras3));
        Assert.Contains("Keras 3 weights file", e.Message);
        var text = PathOf("notes.h5");
        File.WriteAllText(text, "not HDF5 at all");
        Assert.False(LegacyH5Weights.IsLegacyFile(text));
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, text));
        Assert.Equal(text, e.FilePath);
        Assert.Throws<FileNotFoundException>(() => LegacyH5Weights.Load(model, PathOf("missing.h5")));
    }

    /// <summary>Passes writes through until <paramref name="failAfter"/> bytes, then fails like a full disk.</summary>
    private sealed class FailAfter(Stream inner, long failAfter, Action<long> report) : Stream
    {
        private long _written;
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfter)
            {
                int part = (int)(failAfter - _written);
                inner.Write(buffer[..part]);
                report(_written += part);
                throw new IOException("No space left on device (simulated).");
            }
            inner.Write(buffer);
            report(_written += buffer.Length);
        }
    }
}
