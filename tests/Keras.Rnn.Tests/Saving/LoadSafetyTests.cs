using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Loading untrusted configs and archives: broken JSON, missing fields, wrong types, absurd sizes, truncated zips,
/// missing entries and weights that do not fit each give a clean exception naming the file (or JSON), the place, the
/// layer, and the expected and actual values — before anything large is allocated.
/// </summary>
public class LoadSafetyTests : SavingTestBase
{
    private static Sequential SmallModel() =>
        new([new InputLayer([4, 3], name: "in"), new LSTM(5, name: "lstm"), new Dense(2, name: "out")], name: "small");

    private const string DenseTemplate = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "name": "in"}, "registered_name": null},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": UNITS, "activation": ACTIVATION}, "registered_name": null}]},
         "registered_name": null}
        """;

    private static string Dense(string units, string activation = "\"relu\"") =>
        DenseTemplate.Replace("UNITS", units).Replace("ACTIVATION", activation);

    /// <summary>Rewrites the entries of an archive (null content removes the entry).</summary>
    private static void RewriteArchive(string source, string target, Func<string, byte[], byte[]?> change)
    {
        var entries = new List<(string Name, byte[] Data)>();
        using (var zip = ZipFile.OpenRead(source))
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                entries.Add((e.FullName, m.ToArray()));
            }
        using var output = ZipFile.Open(target, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            var changed = change(name, data);
            if (changed is null) continue;
            using var s = output.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(changed);
        }
    }

    private static byte[]? EditConfig(string name, byte[] data, Action<JsonNode> edit)
    {
        if (name != "config.json") return data;
        var root = JsonNode.Parse(data)!;
        edit(root);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private string SavedSmallModel()
    {
        var path = PathOf("small.keras");
        SmallModel().Save(path);
        return path;
    }

    [Fact]
    public void BrokenJson()
    {
        var json = SmallModel().ToJson();
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json[..(json.Length / 2)]));
        MessageHas(e, "the JSON string", "broken JSON");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson("[1, 2]"));
        MessageHas(e, "expected a serialized layer");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(new string('[', 100_000) + new string(']', 100_000)));
        MessageHas(e, "broken JSON");
    }

    [Fact]
    public void MissingAndWrongTypedArguments()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("null")));
        MessageHas(e, "$.config.layers[1].config.units", "layer 'd' (Dense)", "argument 'units' expects a positive integer", "found null");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("\"32\"")));
        MessageHas(e, "argument 'units'", "found the string \"32\"");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("-3")));
        MessageHas(e, "argument 'units'", "found the number -3");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("4", "5")));
        MessageHas(e, "argument 'activation' expects an activation name", "found the number 5");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("4", "\"swirl\"")));
        MessageHas(e, "Unknown activation 'swirl'");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("4, \"use_lut\": true")));
        MessageHas(e, "unrecognized argument(s) 'use_lut'=true");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("4, \"kernel_initializer\": {\"class_name\": \"Mystery\", \"config\": {}}")));
        MessageHas(e, "unknown initializer class 'Mystery'", "kernel_initializer");
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("4, \"kernel_initializer\": {\"class_name\": \"RandomUniform\", \"config\": {\"minval\": \"low\"}}")));
        MessageHas(e, "argument 'minval' expects a number", "found the string \"low\"");
        // Unused arguments Keras tolerates: null or false values, Keras 2's time_major=false, implementation 0.
        Assert.IsType<Dense>(Model.FromJson(Dense("4, \"lora_rank\": null, \"some_flag\": false")).Layers[0]);
    }

    [Fact]
    public void AbsurdSizesAreRejectedBeforeAllocating()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("1000000000000")));
        MessageHas(e, "argument 'units' expects a positive integer (at most 16777216)", "found the number 1000000000000");
        // Within the per-argument limit but far beyond any real model: refused by the weight budget, at once.
        var watch = Stopwatch.StartNew();
        e = Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(Dense("16000000").Replace("[null, 3]", "[null, 16000000]")));
        MessageHas(e, "$.config.layers[1]", "layer 'd' (Dense)", "would create 256000016000000 weight values", "exceeds");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));

        // In an archive the weights file bounds the model: a bigger LSTM than its weights is refused before it is built.
        var source = SavedSmallModel();
        var path = PathOf("inflated.keras");
        RewriteArchive(source, path, (name, data) => EditConfig(name, data, root => root["config"]!["layers"]![1]!["config"]!["units"] = 100_000));
        var fileError = Assert.Throws<KerasFileException>(() => Model.Load(path));
        MessageHas(fileError, path, "config.json", "layer 'lstm' (LSTM)", "exceeds");
    }

    [Fact]
    public void ShapesThatDoNotFitTheWeightsAreReportedPerLayer()
    {
        var source = SavedSmallModel();
        var path = PathOf("mismatch.keras");
        RewriteArchive(source, path, (name, data) => EditConfig(name, data, root => root["config"]!["layers"]![2]!["config"]!["units"] = 3));
        var e = Assert.Throws<KerasFileException>(() => Model.Load(path));
        MessageHas(e, path, "layer 'out'", "(5, 3)", "(5, 2)");
    }

    [Fact]
    public void TruncatedAndCorruptedArchives()
    {
        var source = SavedSmallModel();
        var bytes = File.ReadAllBytes(source);
        foreach (var length in new[] { 0, 3, 30, bytes.Length / 3, bytes.Length / 2, bytes.Length - 30, bytes.Length - 1 })
        {
            var path = PathOf($"truncated_{length}.keras");
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.ThrowsAny<IOException>(() => Model.Load(path));
            if (e is KerasFileException k) Assert.Equal(path, k.FilePath);
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void MissingEntries()
    {
        var source = SavedSmallModel();
        var noConfig = PathOf("no_config.keras");
        RewriteArchive(source, noConfig, (name, data) => name == "config.json" ? null : data);
        MessageHas(Assert.Throws<KerasFileException>(() => Model.Load(noConfig)), noConfig, "no 'config.json' entry", "model.weights.h5");

        var noWeights = PathOf("no_weights.keras");
        RewriteArchive(source, noWeights, (name, data) => name == "model.weights.h5" ? null : data);
        MessageHas(Assert.Throws<KerasFileException>(() => Model.Load(noWeights)), noWeights, "model.weights.h5");

        // metadata.json is optional (the version then defaults to Keras 3's semantics).
        var noMetadata = PathOf("no_metadata.keras");
        RewriteArchive(source, noMetadata, (name, data) => name == "metadata.json" ? null : data);
        Assert.Equal(5, Model.Load(noMetadata).Weights.Count);

        var brokenConfig = PathOf("broken_config.keras");
        RewriteArchive(source, brokenConfig, (name, data) => name == "config.json" ? data[..(data.Length / 2)] : data);
        MessageHas(Assert.Throws<KerasFileException>(() => Model.Load(brokenConfig)), brokenConfig, "config.json", "broken JSON");
    }

    [Fact]
    public void FilesThatAreNotModels()
    {
        Assert.Throws<FileNotFoundException>(() => Model.Load(PathOf("missing.keras")));
        var text = PathOf("notes.keras");
        File.WriteAllText(text, "hello");
        MessageHas(Assert.Throws<KerasFileException>(() => Model.Load(text)), text, "neither a Keras 3 .keras archive");
        // An HDF5 file goes to the legacy .h5 loader, which refuses a truncated one cleanly.
        var h5 = PathOf("legacy.h5");
        File.WriteAllBytes(h5, [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n', 0, 0, 0, 0]);
        MessageHas(Assert.Throws<KerasFileException>(() => Model.Load(h5)), h5, "not a readable Keras HDF5 file");
    }

    [Fact]
    public void GraphReferencesThatDoNotExist()
    {
        var json = SmallModel().ToJson();
        // Sequential configs are checked layer by layer; a functional one by its references.
        var x = KerasApi.Input([3], name: "x");
        var functional = new Model(x, new Dense(2, name: "d").Apply(x), name: "f").ToJson();
        var badOutput = functional.Replace("\"output_layers\": [\"d\", 0, 0]", "\"output_layers\": [\"d\", 5, 0]");
        Assert.NotEqual(functional, badOutput);
        MessageHas(Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(badOutput)), "$.config.output_layers", "[\"d\",5,0]", "does not exist");
        var badTensor = functional.Replace("\"output_layers\": [\"d\", 0, 0]", "\"output_layers\": [\"d\", 0, 3]");
        MessageHas(Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(badTensor)), "output 3 of layer 'd'", "1 output(s)");
        var badHistory = functional.Replace("\"keras_history\": [\"x\", 0, 0]", "\"keras_history\": [\"nowhere\", 0, 0]");
        Assert.NotEqual(functional, badHistory);
        MessageHas(Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(badHistory)), "layer 'nowhere'", "inbound_nodes[0]");
        Assert.NotNull(Model.FromJson(json));
    }

    [Fact]
    public void WrongKindsOfSubObjects()
    {
        const string json = """
            {"class_name": "Sequential", "config": {"name": "s", "layers": [
              {"class_name": "RNN", "config": {"name": "r", "batch_input_shape": [null, 4, 3], "cell": {"class_name": "Dense", "config": {"units": 2}}}}]},
             "keras_version": "2.2.4"}
            """;
        MessageHas(Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(json)), "$.config.layers[0].config.cell", "expected an RNN cell", "(Dense)");
        var timeMajor = json.Replace("\"cell\": {\"class_name\": \"Dense\", \"config\": {\"units\": 2}}", "\"cell\": {\"class_name\": \"LSTMCell\", \"config\": {\"units\": 2}}, \"time_major\": true");
        MessageHas(Assert.ThrowsAny<ArgumentException>(() => Model.FromJson(timeMajor)), "time_major=true is not supported");
    }

    [Fact]
    public void PythonNonFiniteNumbersAreRead()
    {
        // Python's json.dumps writes NaN and Infinity bare.
        const string json = """
            {"class_name": "Sequential", "config": {"name": "s", "layers": [
              {"class_name": "Masking", "config": {"name": "m", "mask_value": NaN, "batch_input_shape": [null, 2, 3]}},
              {"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": Infinity, "axis": 0}}}}]},
             "keras_version": "2.2.4"}
            """;
        var model = Model.FromJson(json);
        Assert.True(double.IsNaN(((Masking)model.Layers[0]).MaskValue));
        Assert.True(double.IsPositiveInfinity(((Keras.Rnn.Constraints.MaxNorm)((Dense)model.Layers[1]).KernelConstraint!).MaxValue));
        // Inside strings the words stay text.
        Assert.Equal("NaN is not Infinity", KerasJson.QuoteNonFiniteLiterals("\"NaN is not Infinity\"").Trim('"'));
    }
}
