using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using PureHDF;
using static TorchSharp.torch;

namespace Keras.Rnn.Saving.Legacy;

/// <summary>
/// Writes legacy Keras HDF5 files as Keras 3's <c>legacy_h5_format</c> does: the full-model file of
/// <c>model.save("x.h5")</c> (<c>save_model_to_hdf5</c>) and the weights-only layout of <c>save_weights_to_hdf5_group</c>
/// (what tf.keras' <c>save_weights("x.h5")</c> wrote). Both are written atomically (<see cref="AtomicFile"/>).
/// </summary>
/// <remarks>
/// <para>Full model: root attributes <c>keras_version</c> (<see cref="KerasArchive.KerasVersion"/>), <c>backend</c>
/// (<c>"torch"</c>), <c>model_config</c> (JSON of <see cref="LegacyModelConfig"/>) and, for a compiled model,
/// <c>training_config</c>; the weights group <c>model_weights</c>; and, for a compiled model with
/// <c>includeOptimizer</c>, <c>optimizer_weights</c> (attribute <c>weight_names</c> = the optimizer's
/// variable paths, one dataset per variable).</para>
/// <para>Weights group (<c>save_weights_to_hdf5_group</c>): attributes <c>layer_names</c> (the model's layers in
/// order — for a Sequential model without its input layer, for a functional one with its input layers),
/// <c>backend</c> and <c>keras_version</c>; one group per layer named after it, with attribute <c>weight_names</c> =
/// the paths of the layer's weights, trainable ones first (Keras' <c>_legacy_weights</c>), and one dataset per weight
/// at that path (e.g. <c>model_weights/lstm/lstm/lstm_cell/kernel</c>, no <c>:0</c>); an empty
/// <c>weight_names</c> for layers without weights; and a group <c>top_level_model_weights</c> for the model's own
/// variables. Strings are written as variable-length UTF-8 (h5py writes fixed-length bytes in places; Keras and h5py
/// read both).</para>
/// </remarks>
internal static class LegacyH5Writer
{
    /// <summary>The <c>backend</c> attribute written: Keras 3's name for the PyTorch backend, which libtorch is.</summary>
    internal const string BackendName = "torch";

    private static readonly H5WriteOptions Options = new(PreferCompactDatasetLayout: false);

    /// <summary>Saves <paramref name="model"/> as a legacy full-model <c>.h5</c> file, atomically.</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The target file.</param>
    /// <param name="overwrite">Whether an existing file may be replaced (default <c>true</c>).</param>
    /// <param name="includeOptimizer">Whether a compiled model's optimizer state is written (default <c>true</c>).</param>
    /// <exception cref="InvalidOperationException">A layer's config has no Keras JSON form, or layer names are not unique.</exception>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false, or writing failed.</exception>
    internal static void SaveModel(Model model, string path, bool overwrite = true, bool includeOptimizer = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!model.Built)
            KerasConfig.Log($"You are saving model '{model.Name}', which has not yet been built. It might not contain any weights yet.");
        WriteAtomically(path, overwrite, stream => WriteModel(model, stream, includeOptimizer));
    }

    /// <summary>Saves the weights of <paramref name="model"/> in the legacy weights-only <c>.h5</c> layout, atomically.</summary>
    /// <param name="model">The built model.</param>
    /// <param name="path">The target file.</param>
    /// <param name="overwrite">Whether an existing file may be replaced (default <c>true</c>).</param>
    /// <exception cref="InvalidOperationException">The model is not built, or layer names are not unique.</exception>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false, or writing failed.</exception>
    internal static void SaveWeights(Model model, string path, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!model.Built)
            throw new InvalidOperationException(
                $"You are saving model '{model.Name}', which has not yet been built. Build it first by calling it on some data, by calling Build(shape), or by giving it an input shape.");
        WriteAtomically(path, overwrite, stream => WriteWeights(model, stream));
    }

    /// <summary>Writes the full-model file to a seekable stream.</summary>
    internal static void WriteModel(Model model, Stream stream, bool includeOptimizer = true)
    {
        // Everything is serialized before the first byte is written.
        var (modelConfig, trainingConfig) = LegacyModelConfig.Build(model);
        var file = new H5File();
        file.Attributes["keras_version"] = KerasArchive.KerasVersion;
        file.Attributes["backend"] = BackendName;
        file.Attributes["model_config"] = PythonJson.Serialize(modelConfig);
        if (trainingConfig is not null && includeOptimizer)
            file.Attributes["training_config"] = PythonJson.Serialize(trainingConfig);
        var weights = new H5Group();
        file["model_weights"] = weights;
        FillWeightsGroup(weights, model);
        if (includeOptimizer && trainingConfig is not null && model.Optimizer is { } optimizer)
        {
            var variables = optimizer.Variables;
            if (variables.Count > 0)
            {
                var group = new H5Group();
                file["optimizer_weights"] = group;
                WriteSubset(group, variables.Select(v => (v.Path, v.Value)).ToList());
            }
        }
        file.Write(stream, Options);
    }

    /// <summary>Writes the weights-only file (the weights group at the root) to a seekable stream.</summary>
    internal static void WriteWeights(Model model, Stream stream)
    {
        var file = new H5File();
        FillWeightsGroup(file, model);
        file.Write(stream, Options);
    }

    /// <summary>Keras' <c>save_weights_to_hdf5_group</c>.</summary>
    private static void FillWeightsGroup(H5Group group, Model model)
    {
        var layers = model.Layers;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            if (layer.Name.Length == 0 || layer.Name.Contains('/') || layer.Name is "." or "..")
                throw new InvalidOperationException($"Cannot save model '{model.Name}' as legacy HDF5: layer name '{layer.Name}' cannot name an HDF5 group.");
            if (layer.Name == LegacyH5Weights.TopLevelGroup || !seen.Add(layer.Name))
                throw new InvalidOperationException(
                    $"Cannot save model '{model.Name}' as legacy HDF5: the layer name '{layer.Name}' is used twice (or is reserved); the format keys layers by name.");
        }
        group.Attributes["layer_names"] = layers.Select(l => l.Name).ToArray();
        group.Attributes["backend"] = BackendName;
        group.Attributes["keras_version"] = KerasArchive.KerasVersion;
        foreach (var layer in layers.OrderBy(l => l.Name, StringComparer.Ordinal))
        {
            var layerGroup = new H5Group();
            group[layer.Name] = layerGroup;
            WriteSubset(layerGroup, LegacyH5Weights.LegacyWeights(layer).Select(v => (v.Path, v.Value)).ToList());
        }
        var own = WeightsLayout.OwnVariables(model);
        var top = new H5Group();
        group[LegacyH5Weights.TopLevelGroup] = top;
        var ordered = own.Where(v => v.Trainable && model.Trainable).Concat(own.Where(v => !(v.Trainable && model.Trainable)));
        WriteSubset(top, ordered.Select(v => (v.Path, v.Value)).ToList());
    }

    /// <summary>Keras' <c>save_subset_weights_to_hdf5_group</c>: <c>weight_names</c>, then one dataset per weight at its path.</summary>
    private static void WriteSubset(H5Group group, IReadOnlyList<(string Name, Tensor Value)> weights)
    {
        var names = new string[weights.Count];
        for (int i = 0; i < weights.Count; i++)
        {
            var dataset = H5WeightsWriter.ToDataset(weights[i].Value);
            var baseName = Sanitize(weights[i].Name);
            var name = baseName;
            // Paths are unique in a sane model; make a clash (a custom layer naming two weights alike) unique rather than fail.
            for (int n = 1; !TryAdd(group, name, dataset); n++) name = $"{baseName}_{n}";
            names[i] = name;
        }
        group.Attributes["weight_names"] = names;
    }

    /// <summary>A weight path usable as an HDF5 path: no empty, <c>.</c> or <c>..</c> segments.</summary>
    private static string Sanitize(string name)
    {
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(p => p is "." or ".." ? "_" : p).ToArray();
        return parts.Length == 0 ? "weight" : string.Join('/', parts);
    }

    /// <summary>Adds a dataset at a '/'-separated path below <paramref name="root"/>, creating groups; <c>false</c> when the path is taken.</summary>
    private static bool TryAdd(H5Group root, string path, H5Dataset dataset)
    {
        var parts = path.Split('/');
        // Check the whole path first so that a clash leaves no stray groups behind.
        H5Group? group = root;
        for (int i = 0; i < parts.Length - 1 && group is not null; i++)
        {
            if (!group.TryGetValue(parts[i], out var existing)) { group = null; break; }
            if (existing is not H5Group g) return false;
            group = g;
        }
        if (group is not null && group.ContainsKey(parts[^1])) return false;

        group = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            if (group.TryGetValue(parts[i], out var existing))
            {
                group = (H5Group)existing;
                continue;
            }
            var created = new H5Group();
            group[parts[i]] = created;
            group = created;
        }
        group[parts[^1]] = dataset;
        return true;
    }

    private static void WriteAtomically(string path, bool overwrite, Action<Stream> write)
    {
        AtomicFile.Write(path, overwrite, stream =>
        {
            try
            {
                write(stream);
            }
            catch (Exception e) when (e is not (IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException))
            {
                throw new KerasFileException(path, $"Cannot write '{path}': {e.GetType().Name}: {e.Message}", e);
            }
        });
    }
}
