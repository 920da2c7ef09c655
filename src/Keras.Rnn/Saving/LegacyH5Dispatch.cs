using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving.Legacy;

namespace Keras.Rnn.Saving;

/// <summary>
/// Where <see cref="Model.Load"/> sends HDF5 files: legacy full-model <c>.h5</c> files written by Keras 1, Keras 2,
/// tf.keras or Keras 3's legacy writer (root attribute <c>model_config</c>, weights under <c>model_weights</c>).
/// </summary>
/// <remarks>
/// Rebuilds the architecture from <c>model_config</c> with <see cref="KerasLayerReader.DeserializeModel"/> (the
/// context carries the file's <c>keras_version</c>, so Keras 2's <c>hard_sigmoid</c>, argument names and node formats
/// are honoured), compiles it from <c>training_config</c> when asked, maps the legacy weights
/// (<see cref="LegacyH5Weights"/>), and restores the optimizer state when it fits (a warning otherwise, as in Keras).
/// </remarks>
internal static class LegacyH5Dispatch
{
    /// <summary>Loads a legacy <c>.h5</c> model.</summary>
    /// <param name="path">The HDF5 file.</param>
    /// <param name="customObjects">Layer factories for custom classes, or <c>null</c>.</param>
    /// <param name="compile">Whether to compile the model from its <c>training_config</c>.</param>
    /// <exception cref="KerasFileException">The file is not a full legacy model, is corrupted, or its weights do not fit.</exception>
    public static Model Load(string path, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects, bool compile)
    {
        var (modelConfig, trainingConfig, kerasVersion, _) = LegacyH5Weights.ReadMetadata(path);
        var budget = Math.Max(KerasLoadContext.DefaultParameterBudget / 16, new FileInfo(path).Length);
        var ctx = new KerasLoadContext(path, true, kerasVersion, customObjects, budget, "model_config");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(modelConfig);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new KerasFileException(path, $"The model_config attribute of '{path}' is not valid JSON: {e.Message}", e);
        }
        if (node is null) throw new KerasFileException(path, $"The model_config attribute of '{path}' is empty.");
        var model = KerasLayerReader.DeserializeModel(node, ctx, compile: false);
        if (compile && trainingConfig is not null)
        {
            JsonObject? training;
            try
            {
                training = JsonNode.Parse(trainingConfig) as JsonObject;
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new KerasFileException(path, $"The training_config attribute of '{path}' is not valid JSON: {e.Message}", e);
            }
            if (training is not null) KerasCompileReader.CompileFromTrainingConfig(model, training, ctx, "training_config");
        }
        LegacyH5Weights.LoadInto(model, path, skipMismatch: false);
        if (model.Compiled) LegacyH5Weights.LoadOptimizerWeights(model, path);
        return model;
    }
}
