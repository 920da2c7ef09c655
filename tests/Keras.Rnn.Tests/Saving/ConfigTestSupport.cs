using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>Helpers for the config (architecture) tests.</summary>
internal static class ConfigTestSupport
{
    /// <summary>A file of Saving/TestData: beside this source file, or found upwards from the test binaries.</summary>
    public static string TestDataPath(string name, [CallerFilePath] string source = "")
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(source) ?? "", "TestData", name);
        if (File.Exists(besideSource)) return besideSource;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Keras.Rnn.Tests", "Saving", "TestData", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"Test data '{name}' not found beside {source} nor above {AppContext.BaseDirectory}.");
    }

    /// <summary>
    /// Rebuilds a Keras-written architecture the way the legacy loader does: the <c>model_config</c> text with the
    /// file's <c>keras_version</c> (kept as a separate root attribute in Keras' HDF5 files).
    /// </summary>
    public static Model FromKerasConfig(string json, string kerasVersion, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? custom = null)
    {
        var ctx = new KerasLoadContext("a Keras " + kerasVersion + " model_config", false, kerasVersion, custom);
        var root = KerasJson.Parse(json, m => new ArgumentException(m));
        return KerasLayerReader.DeserializeModel(root, ctx);
    }

    /// <summary>The weight shapes of a layer, as Keras prints them.</summary>
    public static string[] WeightShapes(Layer layer) => layer.Weights.Select(w => Shape.Of(w.Shape).ToString()).ToArray();

    /// <summary>Outputs of a model on real inputs (every output, flattened), without gradients.</summary>
    public static float[][] PredictAll(Model model, params Tensor[] inputs)
    {
        using var _ = torch.no_grad();
        var outputs = model.ApplyAll(inputs);
        return outputs.Select(o => o.detach().cpu().contiguous().data<float>().ToArray()).ToArray();
    }

    /// <summary>A deterministic input.</summary>
    public static Tensor Input(params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return torch.arange(n, ScalarType.Float32).mul(0.37).sin().reshape(shape);
    }

    /// <summary>The "config" object of the layer called <paramref name="name"/> in a serialized model.</summary>
    public static JsonObject LayerConfig(string modelJson, string name)
    {
        var root = JsonNode.Parse(modelJson)!;
        foreach (var layer in root["config"]!["layers"]!.AsArray())
            if ((string?)layer!["config"]!["name"] == name) return layer["config"]!.AsObject();
        throw new Xunit.Sdk.XunitException($"No layer '{name}' in the serialized model.");
    }

    /// <summary>Asserts that an exception message contains every fragment.</summary>
    public static void MessageHas(Exception e, params string[] fragments)
    {
        foreach (var f in fragments)
            Assert.True(e.Message.Contains(f, StringComparison.Ordinal), $"Expected the message to contain \"{f}\". Message: {e.Message}");
    }
}
