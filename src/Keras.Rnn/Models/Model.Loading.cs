using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Saving;

namespace Keras.Rnn.Models;

public partial class Model
{
    /// <summary>
    /// The model's architecture as JSON (Keras' <c>model.to_json()</c>): Keras 3's serialized form, the same text as a
    /// <c>.keras</c> archive's <c>config.json</c> — <c>{"module", "class_name", "config", "registered_name",
    /// "build_config", "compile_config"}</c> — which Keras 3 reads with <c>keras.models.model_from_json</c>. Weights are
    /// not included.
    /// </summary>
    /// <returns>The JSON text, formatted as Python's <c>json.dumps</c> writes it.</returns>
    /// <exception cref="InvalidOperationException">A layer's config holds a value with no Keras JSON form.</exception>
    public string ToJson() => PythonJson.Serialize(KerasConfigSerializer.SerializeModel(this));

    /// <summary>
    /// Rebuilds a model from its JSON architecture (Keras' <c>keras.models.model_from_json</c>): the output of
    /// <see cref="ToJson"/> or of Keras' <c>model.to_json()</c> — Keras 3's form, or Keras 1/2 and tf.keras's
    /// <c>{"class_name", "config", "keras_version"}</c> (list-style Sequential configs, <c>Model</c> and
    /// <c>Functional</c> graphs, Keras 2's <c>inbound_nodes</c>). Weights start fresh. When the JSON carries a
    /// non-empty <c>compile_config</c> (Keras 3), the model comes back compiled, as in Keras.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="customObjects">Factories for custom layer classes by class name or registered name, for this call
    /// (default <c>null</c>: only <see cref="KerasObjects"/> registrations).</param>
    /// <param name="compile">Whether to compile the model from its <c>compile_config</c> (default <c>true</c>).</param>
    /// <returns>The model, built when the JSON gives its input shape.</returns>
    /// <exception cref="ArgumentException">Broken JSON, an unknown layer class (the message names it and how to
    /// register it), a missing or ill-typed argument, or sizes beyond what a model may allocate (at most 2^30 weight
    /// values, so that a hostile config cannot exhaust memory); the message gives the JSON location, the layer and the
    /// expected and actual values.</exception>
    /// <example>
    /// <code>
    /// string json = model.ToJson();
    /// var copy = Model.FromJson(json);        // same architecture, new weights
    /// copy.SetWeights(model.GetWeights());
    /// </code>
    /// </example>
    public static Model FromJson(string json, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects = null,
        bool compile = true)
    {
        ArgumentNullException.ThrowIfNull(json);
        const string source = "the JSON string";
        var root = KerasJson.Parse(json, m => new KerasConfigArgumentException($"Cannot build the model from {source}: {m}", null));
        string? version = root is JsonObject o && o["keras_version"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        var ctx = new KerasLoadContext(source, false, version, customObjects);
        return KerasLayerReader.DeserializeModel(root, ctx, compile);
    }

    /// <summary>
    /// Loads a model saved by <see cref="Save"/> or by Keras (Keras' <c>keras.models.load_model</c>): a Keras 3
    /// <c>.keras</c> archive — architecture, weights, and, for a compiled model, the same optimizer (class,
    /// hyper-parameters and state: iterations, slots), loss and metrics, so training resumes where it stopped — or a
    /// legacy HDF5 <c>.h5</c> model (recognised by its signature).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="customObjects">Factories for custom layer classes by class name or registered name, for this call
    /// (default <c>null</c>: only <see cref="KerasObjects"/> registrations).</param>
    /// <param name="compile">Whether to compile the model as it was saved (default <c>true</c>).</param>
    /// <returns>The model.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="KerasFileException">The file is not a Keras model, is truncated or corrupted, holds an unknown
    /// layer class (the message names it and how to register it), or its weights do not fit the architecture; the
    /// message names the file, the location in it, the layer and the expected and actual values.</exception>
    /// <example>
    /// <code>
    /// var model = Model.Load("model.keras");
    /// var y = model.Predict(x);
    /// model.Fit(x, y, epochs: 5);   // continues with the saved optimizer state
    /// </code>
    /// </example>
    public static Model Load(string path, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects = null,
        bool compile = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Cannot load the model: the file '{path}' does not exist.", path);
        var kind = FileKind(path);
        return kind switch
        {
            ModelFileKind.Zip => KerasArchiveReader.Load(path, customObjects, compile),
            ModelFileKind.Hdf5 => LegacyH5Dispatch.Load(path, customObjects, compile),
            _ => throw new KerasFileException(path,
                $"'{path}' is neither a Keras 3 .keras archive (zip) nor a legacy Keras HDF5 model (.h5); its first bytes match neither format."),
        };
    }

    private enum ModelFileKind { Unknown, Zip, Hdf5 }

    private static ModelFileKind FileKind(string path)
    {
        Span<byte> head = stackalloc byte[8];
        int n;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            n = f.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KerasFileException(path, $"Cannot open '{path}': {e.Message}", e);
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return ModelFileKind.Zip;
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 5 && head[3] == 6) return ModelFileKind.Zip; // empty zip
        ReadOnlySpan<byte> hdf5 = [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];
        if (n == 8 && head.SequenceEqual(hdf5)) return ModelFileKind.Hdf5;
        return ModelFileKind.Unknown;
    }
}
