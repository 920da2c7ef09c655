using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using PureHDF;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Saving.Legacy;

/// <summary>
/// Reads legacy Keras HDF5 files — what Keras 1, Keras 2, tf.keras 2.x and Keras 3's <c>legacy_h5_format</c> write
/// for <c>model.save("x.h5")</c> and (before Keras 3) <c>model.save_weights("x.h5")</c> — into a model that already
/// exists and is built.
/// </summary>
/// <remarks>
/// <para>Layout: a full-model file has root attributes <c>model_config</c> (JSON), <c>keras_version</c>,
/// <c>backend</c>, optionally <c>training_config</c>, and a group <c>model_weights</c>; a weights-only file has the
/// same weights group at its root. The weights group lists the model's layers in its <c>layer_names</c> attribute (or
/// Keras' chunks <c>layer_names0</c>, <c>layer_names1</c>...); each layer has a group of that name whose
/// <c>weight_names</c> attribute lists its datasets in the layer's weight order (trainable weights first). Datasets
/// are read in that order, never in HDF5's alphabetical one, so every producer's paths work:
/// <c>lstm_1/kernel:0</c> (Keras 2.0–2.2), <c>lstm/lstm_cell_6/kernel:0</c> (tf.keras),
/// <c>bidirectional_1/forward_lstm_1/kernel:0</c>, <c>lstm_1_W_i</c> (Keras 1), <c>sequential/lstm/lstm_cell/kernel</c>
/// (Keras 3). Keras 3's writer adds a group <c>top_level_model_weights</c> for a model's own variables.</para>
/// <para>Matching (Keras' <c>load_weights_from_hdf5_group</c>): by default topological — the model's layers that
/// have weights are paired in order with the file's layers whose <c>weight_names</c> is not empty, whatever their
/// names; with <c>byName</c>, each file layer goes to the model's layers of the same name and the rest is skipped.
/// Each layer's arrays go through <see cref="LegacyWeightConversions"/> (Keras 1 per-gate weights, CuDNN weights,
/// wrappers, nested models) before their count and shapes are compared with the layer's weights.</para>
/// <para>Nothing is assigned unless everything fits. With <c>skipMismatch</c>, a layer whose weight count differs (or
/// whose arrays cannot be converted) is skipped, and so is each weight whose shape differs, with a warning through
/// <see cref="KerasConfig.Logger"/> (Keras skips mismatched shapes per weight). A different number of layers with
/// weights is always an error in topological mode, as in Keras.</para>
/// <para>Untrusted files: attributes and datasets are checked before they are read, and a layer's datasets are only
/// read when their declared sizes are plausible for the layer (at most twice its own size plus 64 Ki values, the
/// largest legitimate conversion being CuDNN's doubled LSTM bias). Files that are not HDF5, truncated or corrupted
/// raise <see cref="KerasFileException"/> naming the file.</para>
/// </remarks>
internal static class LegacyH5Weights
{
    /// <summary>The group Keras 3's legacy writer keeps a model's own (top-level) variables in.</summary>
    internal const string TopLevelGroup = "top_level_model_weights";

    private const double SlackValues = 65536;

    private sealed record FileLayer(int Index, string Name, IH5Group Group, string GroupPath, List<string> WeightNames);

    private sealed class LoadPlan(string path, bool skipMismatch)
    {
        public List<(Variable Target, LegacyArray Value)> Assignments { get; } = [];
        public List<string> Failures { get; } = [];
        public List<string> Warnings { get; } = [];

        /// <summary>A mismatch: skipped with a warning when skipping, else an error.</summary>
        public void Mismatch(string message)
        {
            if (skipMismatch) Warnings.Add(message);
            else Failures.Add(message);
        }

        public string Path => path;
    }

    /// <summary>
    /// The entry point for <c>Model.Load</c> on a legacy full-model file: loads the weights of <paramref name="path"/>
    /// into <paramref name="model"/> (built from the file's <c>model_config</c>) topologically, as Keras'
    /// <c>load_model_from_hdf5</c> does.
    /// </summary>
    /// <param name="model">The built model.</param>
    /// <param name="path">A legacy <c>.h5</c> file (full model or weights only).</param>
    /// <param name="skipMismatch">Skip what does not fit with a warning instead of failing.</param>
    internal static void LoadInto(Model model, string path, bool skipMismatch) => Load(model, path, byName: false, skipMismatch);

    /// <summary>
    /// Loads the weights of a legacy Keras HDF5 file into <paramref name="model"/> (Keras'
    /// <c>model.load_weights("x.h5", by_name=..., skip_mismatch=...)</c>).
    /// </summary>
    /// <param name="model">The built model.</param>
    /// <param name="path">A legacy <c>.h5</c> file: a full-model file (weights under <c>model_weights</c>) or a
    /// weights-only file (<c>layer_names</c> at the root).</param>
    /// <param name="byName">Match layers by name instead of by order (default <c>false</c>).</param>
    /// <param name="skipMismatch">Skip layers whose weight count differs and weights whose shape differs, with a
    /// warning (default <c>false</c>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="KerasFileException">The file is not a legacy Keras HDF5 file, is corrupted, or does not fit the
    /// model; the message names the file, each layer (in the model and in the file) and the expected and actual counts
    /// and shapes. Nothing is loaded in that case.</exception>
    internal static void Load(Model model, string path, bool byName = false, bool skipMismatch = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!model.Built)
            throw new InvalidOperationException(
                $"You are loading weights into model '{model.Name}', which has not yet been built. Build it first by calling it on some data, by calling Build(shape), or by giving it an input shape.");

        var plan = new LoadPlan(path, skipMismatch);
        using (var h5 = LegacyH5Format.Open(path, out var stream))
        using (stream)
        {
            try
            {
                var (group, groupPath) = WeightsGroup(h5, path);
                var version = LegacyH5Format.ReadString(group, "keras_version", GroupText(groupPath), path);
                // Keras takes a weights group without keras_version for Keras 1 (whose files lack it).
                bool keras1 = version is null || version == "1" || version.StartsWith("1.", StringComparison.Ordinal);
                var fileLayers = ReadFileLayers(group, groupPath, path);
                if (byName) PlanByName(model, fileLayers, keras1, plan);
                else PlanTopological(model, fileLayers, keras1, plan);
                PlanTopLevel(model, group, groupPath, plan);
            }
            catch (Exception e) when (e is not KerasFileException)
            {
                throw LegacyH5Format.Corrupt(path, e);
            }
        }

        if (plan.Failures.Count > 0)
            throw new KerasFileException(path,
                $"Cannot load the legacy Keras weights of '{path}' into model '{model.Name}': {plan.Failures.Count} problem(s).\n" +
                string.Join("\n", plan.Failures.Select(f => "- " + f)) +
                "\nNothing was loaded. Pass skipMismatch: true to skip the layers and weights that do not fit.");
        foreach (var warning in plan.Warnings)
            KerasConfig.Log($"Skipping loading from '{path}': {warning}");

        using var _ = torch.no_grad();
        foreach (var (target, value) in plan.Assignments)
        {
            using var t = torch.tensor(value.Data, value.Shape);
            target.Assign(t);
        }
    }

    /// <summary>
    /// The metadata of a legacy full-model file, for <c>Model.Load</c>: the <c>model_config</c> JSON (Keras'
    /// <c>{"class_name": ..., "config": ...}</c>), the <c>training_config</c> JSON when the model was compiled, and the
    /// <c>keras_version</c> and <c>backend</c> that wrote it (root attributes, else those of <c>model_weights</c>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="KerasFileException">The file is not readable HDF5, or has no <c>model_config</c> (e.g. a
    /// weights-only file).</exception>
    internal static (string ModelConfigJson, string? TrainingConfigJson, string? KerasVersion, string? Backend) ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var h5 = LegacyH5Format.Open(path, out var stream);
        using (stream)
        {
            try
            {
                var config = LegacyH5Format.ReadString(h5, "model_config", "the file's root", path);
                if (string.IsNullOrWhiteSpace(config))
                {
                    if (LegacyH5Format.HasStringList(h5, "layer_names"))
                        throw new KerasFileException(path,
                            $"'{path}' is a legacy Keras weights-only file (written by save_weights: 'layer_names' at its root, no 'model_config'). " +
                            "It holds no architecture: build the model in code (or from its JSON) and load the weights into it with LoadWeights.");
                    throw new KerasFileException(path,
                        $"No model config found in the file at '{path}' (the root attribute 'model_config' is missing or empty); it is not a legacy Keras full-model .h5 file.");
                }
                var training = LegacyH5Format.ReadString(h5, "training_config", "the file's root", path);
                var version = LegacyH5Format.ReadString(h5, "keras_version", "the file's root", path);
                var backend = LegacyH5Format.ReadString(h5, "backend", "the file's root", path);
                if ((version is null || backend is null) && h5.LinkExists("model_weights") && h5.Get("model_weights") is IH5Group weights)
                {
                    version ??= LegacyH5Format.ReadString(weights, "keras_version", "group '/model_weights'", path);
                    backend ??= LegacyH5Format.ReadString(weights, "backend", "group '/model_weights'", path);
                }
                return (config, string.IsNullOrWhiteSpace(training) ? null : training, version, backend);
            }
            catch (Exception e) when (e is not KerasFileException)
            {
                throw LegacyH5Format.Corrupt(path, e);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a legacy Keras HDF5 file (an HDF5 file with <c>layer_names</c> at its root, a
    /// <c>model_weights</c> group or a <c>model_config</c> attribute) rather than a Keras 3 <c>.weights.h5</c> file.
    /// Unreadable files answer <c>false</c>.
    /// </summary>
    /// <param name="path">The file.</param>
    internal static bool IsLegacyFile(string path)
    {
        try
        {
            using var h5 = LegacyH5Format.Open(path, out var stream);
            using (stream)
                return LegacyH5Format.HasStringList(h5, "layer_names") || h5.LinkExists("model_weights") || h5.AttributeExists("model_config");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>
    /// Restores a compiled model's optimizer state from the file's <c>optimizer_weights</c> group (Keras'
    /// <c>load_model_from_hdf5</c> with <c>compile=True</c>): the optimizer is built, and its variables are set when the
    /// saved ones match in count and shapes. Otherwise — typically Keras 1/2 optimizer state, whose variables differ
    /// from Keras 3's — a warning is logged and the optimizer keeps its fresh state, as in Keras.
    /// </summary>
    /// <param name="model">The compiled model.</param>
    /// <param name="path">The legacy file.</param>
    /// <returns>Whether the optimizer state was restored.</returns>
    /// <exception cref="KerasFileException">The file is unreadable.</exception>
    internal static bool LoadOptimizerWeights(Model model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Optimizer is null) return false;
        using var h5 = LegacyH5Format.Open(path, out var stream);
        using (stream)
        {
            try
            {
                if (!h5.LinkExists("optimizer_weights") || h5.Get("optimizer_weights") is not IH5Group group) return false;
                var names = LegacyH5Format.ReadStringList(group, "weight_names", "group '/optimizer_weights'", path);
                var targets = model.OptimizerTargetsForLoading()!;
                string? reason = names.Count != targets.Count
                    ? $"the optimizer has {targets.Count} variables, the file {names.Count}"
                    : null;
                using var scope = torch.NewDisposeScope();
                var values = new List<Tensor>();
                for (int i = 0; reason is null && i < names.Count; i++)
                {
                    var (array, why) = ReadArray(group, "/optimizer_weights", names[i], targets[i].Value.shape);
                    if (why is not null) reason = why;
                    else if (!array!.Shape.SequenceEqual(targets[i].Value.shape))
                        reason = $"variable '{targets[i].Path}' has shape {Shape.Of(targets[i].Value.shape)}, the saved '{names[i]}' {array.ShapeText}";
                    else values.Add(torch.tensor(array.Data, array.Shape));
                }
                if (reason is not null)
                {
                    KerasConfig.Log($"Error in loading the saved optimizer state from '{path}' ({reason}). As a result, your model is starting with a freshly initialized optimizer.");
                    return false;
                }
                model.Optimizer.SetVariableValues(values);
                return true;
            }
            catch (Exception e) when (e is not KerasFileException)
            {
                throw LegacyH5Format.Corrupt(path, e);
            }
        }
    }

    // ------------------------------------------------------------------ structure

    private static string GroupText(string groupPath) => groupPath.Length == 0 ? "the file's root" : $"group '/{groupPath}'";

    private static string Join(string groupPath, string name) => groupPath.Length == 0 ? name : groupPath + "/" + name;

    /// <summary>Keras' choice: the root when it lists <c>layer_names</c>, else <c>model_weights</c>.</summary>
    private static (IH5Group Group, string GroupPath) WeightsGroup(IH5Group root, string path)
    {
        if (LegacyH5Format.HasStringList(root, "layer_names")) return (root, "");
        if (root.LinkExists("model_weights"))
        {
            if (root.Get("model_weights") is not IH5Group weights)
                throw new KerasFileException(path, $"'/model_weights' in '{path}' is not a group.");
            if (!LegacyH5Format.HasStringList(weights, "layer_names"))
                throw new KerasFileException(path, $"The group '/model_weights' of '{path}' has no 'layer_names' attribute listing the saved layers.");
            return (weights, "model_weights");
        }
        if (root.AttributeExists("nb_layers"))
            throw new KerasFileException(path,
                $"'{path}' is in the pre-1.0 Keras weights format ('nb_layers', groups 'layer_0'...), which Keras 2 and later do not read either.");
        if (root.LinkExists("layers") || root.LinkExists("vars") || root.LinkExists("_layer_checkpoint_dependencies"))
            throw new KerasFileException(path,
                $"'{path}' is a Keras 3 weights file (.weights.h5 with '/layers/<key>/vars' groups), not a legacy Keras HDF5 file; load it with Model.LoadWeights.");
        throw new KerasFileException(path,
            $"'{path}' is not a legacy Keras HDF5 file: it has neither a 'layer_names' attribute at its root (weights-only file) nor a 'model_weights' group (full-model file).");
    }

    private static List<FileLayer> ReadFileLayers(IH5Group group, string groupPath, string path)
    {
        var names = LegacyH5Format.ReadStringList(group, "layer_names", GroupText(groupPath), path);
        var layers = new List<FileLayer>(names.Count);
        for (int k = 0; k < names.Count; k++)
        {
            var name = names[k];
            var layerPath = Join(groupPath, name);
            if (name.Length == 0 || name.Contains('/') || !group.LinkExists(name))
                throw new KerasFileException(path,
                    $"The attribute 'layer_names' of {GroupText(groupPath)} in '{path}' lists layer #{k} '{name}', but there is no group '/{layerPath}'.");
            if (group.Get(name) is not IH5Group layerGroup)
                throw new KerasFileException(path, $"'/{layerPath}' in '{path}' (layer #{k} of 'layer_names') is not a group.");
            var weightNames = LegacyH5Format.ReadStringList(layerGroup, "weight_names", $"group '/{layerPath}'", path);
            layers.Add(new FileLayer(k, name, layerGroup, layerPath, weightNames));
        }
        return layers;
    }

    /// <summary>Keras' <c>_legacy_weights</c>: trainable weights, then non-trainable ones.</summary>
    internal static List<Variable> LegacyWeights(Layer layer) => [.. layer.TrainableWeights, .. layer.NonTrainableWeights];

    // ------------------------------------------------------------------ matching

    private static void PlanTopological(Model model, List<FileLayer> fileLayers, bool keras1, LoadPlan plan)
    {
        var modelLayers = model.Layers.Where(l => LegacyWeights(l).Count > 0).ToList();
        var saved = fileLayers.Where(f => f.WeightNames.Count > 0).ToList();
        if (modelLayers.Count != saved.Count)
            throw new KerasFileException(plan.Path,
                $"Layer count mismatch when loading weights from '{plan.Path}': model '{model.Name}' has {modelLayers.Count} layers with weights " +
                $"[{string.Join(", ", modelLayers.Select(l => l.Name))}], but the file has {saved.Count} saved layers with weights " +
                $"[{string.Join(", ", saved.Select(f => f.Name))}]. Layers are matched in order; pass byName to match them by name.");
        for (int k = 0; k < saved.Count; k++)
        {
            var layer = modelLayers[k];
            var where = layer.Name == saved[k].Name
                ? $"layer #{k} '{layer.Name}' ({layer.GetType().Name})"
                : $"layer #{k} (named '{layer.Name}' ({layer.GetType().Name}) in the model, '{saved[k].Name}' in the file)";
            PlanLayer(where, layer, LegacyWeights(layer), saved[k], keras1, convert: true, plan);
        }
    }

    private static void PlanByName(Model model, List<FileLayer> fileLayers, bool keras1, LoadPlan plan)
    {
        var index = model.Layers.GroupBy(l => l.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var file in fileLayers)
        {
            if (!index.TryGetValue(file.Name, out var layers)) continue;
            foreach (var layer in layers)
                PlanLayer($"layer #{file.Index} '{layer.Name}' ({layer.GetType().Name})", layer, LegacyWeights(layer), file, keras1, convert: true, plan);
        }
    }

    /// <summary>Keras 3's <c>top_level_model_weights</c>: the model's own variables (none for Sequential and functional models).</summary>
    private static void PlanTopLevel(Model model, IH5Group group, string groupPath, LoadPlan plan)
    {
        if (!group.LinkExists(TopLevelGroup)) return;
        var topPath = Join(groupPath, TopLevelGroup);
        if (group.Get(TopLevelGroup) is not IH5Group top)
            throw new KerasFileException(plan.Path, $"'/{topPath}' in '{plan.Path}' is not a group.");
        var names = LegacyH5Format.ReadStringList(top, "weight_names", $"group '/{topPath}'", plan.Path);
        var own = WeightsLayout.OwnVariables(model);
        var targets = own.Where(v => v.Trainable && model.Trainable).Concat(own.Where(v => !(v.Trainable && model.Trainable))).ToList();
        if (names.Count == 0 && targets.Count == 0) return;
        PlanLayer($"the top-level weights of model '{model.Name}'", model, targets, new FileLayer(-1, TopLevelGroup, top, topPath, names), keras1: false, convert: false, plan);
    }

    /// <summary>Reads one file layer for one model layer, converts, and checks count and shapes.</summary>
    private static void PlanLayer(string where, Layer layer, List<Variable> targets, FileLayer file, bool keras1, bool convert, LoadPlan plan)
    {
        string Expected() => "[" + string.Join(", ", targets.Select(v => $"{v.Path} {Shape.Of(v.Shape)}")) + "]";

        // Look every dataset up and check the declared sizes before reading anything.
        var datasets = new List<(string Name, IH5Dataset Dataset, long[] Shape)>(file.WeightNames.Count);
        double declared = 0;
        foreach (var name in file.WeightNames)
        {
            var datasetPath = $"/{file.GroupPath}/{name}";
            if (name.Length == 0 || !file.Group.LinkExists(name) || file.Group.Get(name) is not IH5Dataset dataset)
            {
                plan.Mismatch($"{where}: the file's group '/{file.GroupPath}' has no dataset '{name}' although its 'weight_names' lists it.");
                return;
            }
            var (shape, reason) = LegacyH5Format.DeclaredShape(dataset, datasetPath);
            if (reason is not null)
            {
                plan.Mismatch($"{where}: {reason}.");
                return;
            }
            datasets.Add((name, dataset, shape!));
            declared += LegacyH5Format.ElementCount(shape!);
        }
        double expected = targets.Sum(v => (double)v.Size);
        if (declared > 2 * expected + SlackValues)
        {
            plan.Mismatch(
                $"{where}: the file's group '/{file.GroupPath}' declares {declared:0} values in {datasets.Count} dataset(s) " +
                $"[{string.Join(", ", datasets.Select(d => $"{d.Name} {Shape.Of(d.Shape)}"))}], but the layer has {expected:0} in {targets.Count} weight(s) {Expected()}; refusing to read it.");
            return;
        }

        var arrays = new List<LegacyArray>(datasets.Count);
        foreach (var (name, dataset, shape) in datasets)
        {
            var (data, reason) = LegacyH5Format.ReadNumeric(dataset, shape, $"/{file.GroupPath}/{name}");
            if (reason is not null)
            {
                plan.Mismatch($"{where}: {reason}.");
                return;
            }
            arrays.Add(new LegacyArray(name, shape, data!));
        }

        List<LegacyArray> values;
        try
        {
            values = convert ? LegacyWeightConversions.Preprocess(layer, arrays, keras1) : arrays;
        }
        catch (LegacyConversionException e)
        {
            plan.Mismatch($"{where}: {e.Message}.");
            return;
        }

        if (values.Count != targets.Count)
        {
            plan.Mismatch(
                $"{where}: weight count mismatch: the layer expects {targets.Count} weight(s) {Expected()}, but the file has {values.Count} saved weight(s) " +
                $"[{string.Join(", ", values.Select(a => $"{a.Name} {a.ShapeText}"))}] in '/{file.GroupPath}'.");
            return;
        }
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i].Shape.SequenceEqual(values[i].Shape))
                plan.Assignments.Add((targets[i], values[i]));
            else
                plan.Mismatch(
                    $"{where}: shape mismatch for weight '{targets[i].Path}': the weight expects shape {Shape.Of(targets[i].Shape)}, but the saved weight '{values[i].Name}' in '/{file.GroupPath}' has shape {values[i].ShapeText}.");
        }
    }

    /// <summary>Reads one named dataset of a group, refusing declared sizes far beyond <paramref name="expectedShape"/>.</summary>
    private static (LegacyArray? Array, string? Reason) ReadArray(IH5Group group, string groupPath, string name, long[] expectedShape)
    {
        var datasetPath = $"{groupPath}/{name}";
        if (name.Length == 0 || !group.LinkExists(name) || group.Get(name) is not IH5Dataset dataset)
            return (null, $"the group '{groupPath}' has no dataset '{name}'");
        var (shape, reason) = LegacyH5Format.DeclaredShape(dataset, datasetPath);
        if (reason is not null) return (null, reason);
        var declared = shape!;
        if (!declared.SequenceEqual(expectedShape))
            return (null, $"dataset '{datasetPath}' has shape {Shape.Of(declared)}, expected {Shape.Of(expectedShape)}");
        var (data, why) = LegacyH5Format.ReadNumeric(dataset, declared, datasetPath);
        return why is not null ? (null, why) : (new LegacyArray(name, declared, data!), null);
    }
}
