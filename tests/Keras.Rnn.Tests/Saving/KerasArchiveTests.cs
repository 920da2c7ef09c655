using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// `.keras` archives: a zip of metadata.json, config.json and model.weights.h5, entries stored (not compressed),
/// config in Keras 3's serialized form (keras/src/saving/serialization_lib.py, keras/src/models/functional.py).
/// </summary>
public class KerasArchiveTests : SavingTestBase
{
    /// <summary>A file of Saving/TestData: beside this source file, or found upwards from the test binaries (when
    /// the build maps source paths).</summary>
    private static string TestDataPath(string name, [CallerFilePath] string source = "")
    {
        var besideSource = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(source) ?? "", "TestData", name);
        if (File.Exists(besideSource)) return besideSource;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "Keras.Rnn.Tests", "Saving", "TestData", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"Test data '{name}' not found beside {source} nor above {AppContext.BaseDirectory}.");
    }

    /// <summary>Names and compression methods from the zip's central directory, read by hand.</summary>
    private static List<(string Name, int Method)> CentralDirectory(byte[] zip)
    {
        int eocd = zip.Length - 22;
        while (eocd >= 0 && BitConverter.ToUInt32(zip, eocd) != 0x06054b50) eocd--;
        Assert.True(eocd >= 0, "no end-of-central-directory record");
        int count = BitConverter.ToUInt16(zip, eocd + 10);
        int offset = (int)BitConverter.ToUInt32(zip, eocd + 16);
        var result = new List<(string, int)>();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(0x02014b50u, BitConverter.ToUInt32(zip, offset));
            int method = BitConverter.ToUInt16(zip, offset + 10);
            int nameLength = BitConverter.ToUInt16(zip, offset + 28);
            int extraLength = BitConverter.ToUInt16(zip, offset + 30);
            int commentLength = BitConverter.ToUInt16(zip, offset + 32);
            result.Add((Encoding.UTF8.GetString(zip, offset + 46, nameLength), method));
            offset += 46 + nameLength + extraLength + commentLength;
        }
        return result;
    }

    private static JsonElement ReadJson(ZipArchive zip, string entry)
    {
        using var s = zip.GetEntry(entry)!.Open();
        return JsonDocument.Parse(s).RootElement.Clone();
    }

    [Fact]
    public void ArchiveHasKerasEntriesStoredUncompressed()
    {
        var model = new Sequential(new InputLayer([5, 3]), new LSTM(4), new Dense(2));
        var path = PathOf("model.keras");
        model.Save(path);

        var entries = CentralDirectory(File.ReadAllBytes(path));
        Assert.Equal(new[] { "metadata.json", "config.json", "model.weights.h5" }, entries.Select(e => e.Name).ToArray());
        Assert.All(entries, e => Assert.Equal(0, e.Method)); // 0 = stored

        using var zip = ZipFile.OpenRead(path);
        var metadata = ReadJson(zip, "metadata.json");
        Assert.Equal("3.15.0", metadata.GetProperty("keras_version").GetString());
        Assert.Matches(new Regex(@"^\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}$"), metadata.GetProperty("date_saved").GetString());

        // The weights entry is the same file SaveWeights writes.
        var weightsPath = PathOf("model.weights.h5");
        model.SaveWeights(weightsPath);
        using var weights = new MemoryStream();
        using (var s = zip.GetEntry("model.weights.h5")!.Open()) s.CopyTo(weights);
        weights.Position = 0;
        Assert.Equal(H5Contents.Describe(weightsPath), H5Contents.Describe(weights));
    }

    [Fact]
    public void SequentialConfigHasKerasForm()
    {
        var model = new Sequential(new InputLayer([5, 3]), new LSTM(4, returnSequences: true), new Bidirectional(new GRU(2)), new Dense(2, activation: "softmax"));
        var path = PathOf("seq.keras");
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        var config = ReadJson(zip, "config.json");

        Assert.Equal(new[] { "module", "class_name", "config", "registered_name", "build_config", "compile_config" },
            config.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("keras", config.GetProperty("module").GetString());
        Assert.Equal("Sequential", config.GetProperty("class_name").GetString());
        Assert.Equal(JsonValueKind.Null, config.GetProperty("registered_name").ValueKind);
        Assert.Equal("[null,5,3]", config.GetProperty("build_config").GetProperty("input_shape").GetRawText().Replace(" ", ""));
        Assert.Equal(JsonValueKind.Object, config.GetProperty("compile_config").ValueKind); // {} when not compiled, as Keras 3.15

        var inner = config.GetProperty("config");
        Assert.Equal(model.Name, inner.GetProperty("name").GetString());
        Assert.Equal("DTypePolicy", inner.GetProperty("dtype").GetProperty("class_name").GetString());
        Assert.Equal("[null,5,3]", inner.GetProperty("build_input_shape").GetRawText().Replace(" ", ""));
        var layers = inner.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(new[] { "InputLayer", "LSTM", "Bidirectional", "Dense" }, layers.Select(l => l.GetProperty("class_name").GetString()).ToArray());
        Assert.All(layers, l => Assert.Equal("keras.layers", l.GetProperty("module").GetString()));
        Assert.False(layers[0].TryGetProperty("build_config", out _)); // InputLayer is never built through build()
        Assert.Equal("float32", layers[0].GetProperty("config").GetProperty("dtype").GetString());
        Assert.Equal("[null,5,3]", layers[0].GetProperty("config").GetProperty("batch_shape").GetRawText().Replace(" ", ""));

        var lstm = layers[1];
        Assert.Equal("[null,5,3]", lstm.GetProperty("build_config").GetProperty("input_shape").GetRawText().Replace(" ", ""));
        var lstmConfig = lstm.GetProperty("config");
        Assert.Equal(4, lstmConfig.GetProperty("units").GetInt32());
        Assert.Equal("tanh", lstmConfig.GetProperty("activation").GetString());
        Assert.Equal("sigmoid", lstmConfig.GetProperty("recurrent_activation").GetString());
        var kernelInit = lstmConfig.GetProperty("kernel_initializer");
        Assert.Equal("keras.initializers", kernelInit.GetProperty("module").GetString());
        Assert.Equal("GlorotUniform", kernelInit.GetProperty("class_name").GetString());
        Assert.Equal(JsonValueKind.Null, kernelInit.GetProperty("registered_name").ValueKind);
        Assert.Equal("Orthogonal", lstmConfig.GetProperty("recurrent_initializer").GetProperty("class_name").GetString());
        Assert.Equal(JsonValueKind.Null, lstmConfig.GetProperty("kernel_regularizer").ValueKind);
        var dtype = lstmConfig.GetProperty("dtype");
        Assert.Equal("keras", dtype.GetProperty("module").GetString());
        Assert.Equal("float32", dtype.GetProperty("config").GetProperty("name").GetString());

        var bidirectional = layers[2].GetProperty("config");
        Assert.Equal("concat", bidirectional.GetProperty("merge_mode").GetString());
        Assert.Equal("GRU", bidirectional.GetProperty("layer").GetProperty("class_name").GetString());
        Assert.True(bidirectional.GetProperty("layer").GetProperty("config").GetProperty("reset_after").GetBoolean());
        Assert.True(bidirectional.GetProperty("backward_layer").GetProperty("config").GetProperty("go_backwards").GetBoolean());
        Assert.Equal("softmax", layers[3].GetProperty("config").GetProperty("activation").GetString());
        Assert.Equal("[null,4]", layers[3].GetProperty("build_config").GetProperty("input_shape").GetRawText().Replace(" ", ""));

        // Python's json.dumps style: ", " and ": " separators, floats with a decimal point.
        using var s = zip.GetEntry("config.json")!.Open();
        var text = new StreamReader(s).ReadToEnd();
        Assert.Contains("\"module\": \"keras\", \"class_name\": \"Sequential\"", text);
        Assert.Contains("\"dropout\": 0.0", text);
    }

    [Fact]
    public void FunctionalConfigHasInboundNodesWithKerasHistory()
    {
        var encoderInputs = KerasApi.Input(shape: [null, 3], name: "encoder_inputs");
        var (_, h, c) = new LSTM(4, returnState: true, name: "encoder").Apply(encoderInputs);
        var decoderInputs = KerasApi.Input(shape: [null, 3], name: "decoder_inputs");
        var sequence = new LSTM(4, returnSequences: true, name: "decoder").Apply(decoderInputs, initialState: [h, c]);
        var outputs = new Dense(3, activation: "softmax", name: "probabilities").Apply(sequence);
        var model = new Model([encoderInputs, decoderInputs], outputs, name: "seq2seq");
        var path = PathOf("seq2seq.keras");
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        var config = ReadJson(zip, "config.json");

        Assert.Equal("Functional", config.GetProperty("class_name").GetString());
        Assert.Equal("keras.src.models.functional", config.GetProperty("module").GetString());
        Assert.Equal("Functional", config.GetProperty("registered_name").GetString());
        Assert.Equal(JsonValueKind.Null, config.GetProperty("build_config").GetProperty("input_shape").ValueKind);
        var inner = config.GetProperty("config");
        Assert.Equal("seq2seq", inner.GetProperty("name").GetString());
        var layers = inner.GetProperty("layers").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal(new[] { "decoder", "decoder_inputs", "encoder", "encoder_inputs", "probabilities" }, layers.Keys.Order().ToArray());
        Assert.Equal(0, layers["encoder_inputs"].GetProperty("inbound_nodes").GetArrayLength());

        static string History(JsonElement tensor)
        {
            Assert.Equal("__keras_tensor__", tensor.GetProperty("class_name").GetString());
            return tensor.GetProperty("config").GetProperty("keras_history").GetRawText().Replace(" ", "");
        }
        var encoderNode = layers["encoder"].GetProperty("inbound_nodes")[0];
        Assert.Equal("[\"encoder_inputs\",0,0]", History(encoderNode.GetProperty("args")[0]));
        Assert.Equal("[null,null,3]", encoderNode.GetProperty("args")[0].GetProperty("config").GetProperty("shape").GetRawText().Replace(" ", ""));
        var decoderNode = layers["decoder"].GetProperty("inbound_nodes")[0];
        Assert.Equal("[\"decoder_inputs\",0,0]", History(decoderNode.GetProperty("args")[0]));
        var initialState = decoderNode.GetProperty("kwargs").GetProperty("initial_state");
        Assert.Equal("[\"encoder\",0,1]", History(initialState[0]));
        Assert.Equal("[\"encoder\",0,2]", History(initialState[1]));
        Assert.Equal("[\"decoder\",0,0]", History(layers["probabilities"].GetProperty("inbound_nodes")[0].GetProperty("args")[0]));
        Assert.True(layers["decoder"].GetProperty("build_config").TryGetProperty("shapes_dict", out var shapes));
        Assert.Equal("[[null,4],[null,4]]", shapes.GetProperty("initial_state_shape").GetRawText().Replace(" ", ""));

        Assert.Equal("[[\"encoder_inputs\",0,0],[\"decoder_inputs\",0,0]]", inner.GetProperty("input_layers").GetRawText().Replace(" ", ""));
        Assert.Equal("[\"probabilities\",0,0]", inner.GetProperty("output_layers").GetRawText().Replace(" ", ""));
    }

    [Fact]
    public void SharedLayersAndNestedModelsUseOnlyTheModelsOwnNodes()
    {
        // A layer called twice, a multi-input merge and a nested functional model (whose output node counts from 1
        // in output_layers, as Keras' Functional.get_config writes it).
        var shared = new Dense(3, name: "shared");
        var a = KerasApi.Input(shape: [4], name: "a");
        var b = KerasApi.Input(shape: [4], name: "b");
        var merged = new Concatenate(name: "concat").Apply([shared.Apply(a), shared.Apply(b)]);
        var innerInput = KerasApi.Input(shape: [6], name: "inner_in");
        var inner = new Model(innerInput, new Dense(2, name: "inner_dense").Apply(innerInput), name: "inner");
        var output = inner.Apply(merged);
        var model = new Model([a, b], output, name: "outer");
        var path = PathOf("shared.keras");
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        var inner2 = ReadJson(zip, "config.json").GetProperty("config");
        var layers = inner2.GetProperty("layers").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);

        var sharedNodes = layers["shared"].GetProperty("inbound_nodes");
        Assert.Equal(2, sharedNodes.GetArrayLength());
        var concatArgs = layers["concat"].GetProperty("inbound_nodes")[0].GetProperty("args");
        Assert.Equal(1, concatArgs.GetArrayLength()); // one positional argument: the list of tensors
        Assert.Equal("[\"shared\",0,0]", concatArgs[0][0].GetProperty("config").GetProperty("keras_history").GetRawText().Replace(" ", ""));
        Assert.Equal("[\"shared\",1,0]", concatArgs[0][1].GetProperty("config").GetProperty("keras_history").GetRawText().Replace(" ", ""));

        var nested = layers["inner"];
        Assert.Equal("Functional", nested.GetProperty("class_name").GetString());
        Assert.Equal("inner_dense", nested.GetProperty("config").GetProperty("layers")[1].GetProperty("name").GetString());
        Assert.Equal("[\"inner_dense\",0,0]", nested.GetProperty("config").GetProperty("output_layers").GetRawText().Replace(" ", ""));
        Assert.Equal("[\"inner\",1,0]", inner2.GetProperty("output_layers").GetRawText().Replace(" ", ""));
        Assert.Equal("[\"concat\",0,0]", nested.GetProperty("inbound_nodes")[0].GetProperty("args")[0].GetProperty("config").GetProperty("keras_history").GetRawText().Replace(" ", ""));
    }

    [Fact]
    public void CompileConfigIsSerialized()
    {
        var model = new Sequential(new InputLayer([3]), new Dense(1));
        model.Compile(optimizer: new Keras.Rnn.Optimizers.Adam(learningRate: 0.001), loss: "mse", metrics: ["mae"]);
        var path = PathOf("compiled.keras");
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        var compile = ReadJson(zip, "config.json").GetProperty("compile_config");
        var optimizer = compile.GetProperty("optimizer");
        Assert.Equal("Adam", optimizer.GetProperty("class_name").GetString());
        Assert.Equal("keras.optimizers", optimizer.GetProperty("module").GetString());
        Assert.Equal(0.001, optimizer.GetProperty("config").GetProperty("learning_rate").GetDouble(), 1e-6);
        Assert.Equal("MeanSquaredError", compile.GetProperty("loss").GetProperty("class_name").GetString());
        Assert.Equal(JsonValueKind.Array, compile.GetProperty("metrics").ValueKind);
        Assert.False(compile.GetProperty("run_eagerly").GetBoolean());
    }

    /// <summary>The subclassed model Keras' fixture was written from: three Dense(4, no bias) then Dense(2).</summary>
    private sealed class NestedDenseModel : Model
    {
        private readonly List<Dense> _blocks;
        private readonly Dense _out;

        public NestedDenseModel()
        {
            _blocks = [.. Enumerable.Range(0, 3).Select(i => TrackLayer(new Dense(4, useBias: false, name: $"d_{i}")))];
            _out = TrackLayer(new Dense(2));
        }

        protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
        {
            var x = inputs[0];
            foreach (var d in _blocks) x = d.Apply(x);
            return [_out.Apply(x)];
        }
    }

    [Fact]
    public void LoadsWeightsFromAKerasWrittenArchive()
    {
        var model = new NestedDenseModel();
        model.Build(new Shape(null, 4));
        model.LoadWeights(TestDataPath("pre_pr22362_nested_container.keras"));

        // Values stated by Keras' own test for this fixture (saving_lib_test.py): kernels 0.1 * (i + 1), out 0.5, bias 0.
        for (int i = 0; i < 3; i++)
        {
            var kernel = (float[,])model.Layers[i].GetWeights()[0];
            Assert.All(kernel.Cast<float>(), v => Assert.Equal(0.1f * (i + 1), v, 1e-6f));
        }
        var outWeights = model.Layers[3].GetWeights();
        Assert.All(((float[,])outWeights[0]).Cast<float>(), v => Assert.Equal(0.5f, v));
        Assert.All((float[])outWeights[1], v => Assert.Equal(0f, v));

        // And the forward pass with those weights: x · 0.1·J · 0.2·J · 0.3·J · 0.5·J with J all-ones (4×4, then 4×2).
        var x = torch.tensor(new float[] { 1, 2, 3, 4 }, [1, 4]);
        var y = model.Apply(x).data<float>().ToArray();
        double expected = 10 * 0.1 * 4 * 0.2 * 4 * 0.3 * 4 * 0.5;
        Assert.Equal(expected, y[0], 1e-4);
        Assert.Equal(expected, y[1], 1e-4);
    }
}
