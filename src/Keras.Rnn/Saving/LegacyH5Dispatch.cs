using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving;

/// <summary>
/// Where <see cref="Model.Load"/> sends HDF5 files: legacy full-model <c>.h5</c> files written by Keras 1, Keras 2,
/// tf.keras or Keras 3's legacy writer (root attribute <c>model_config</c>, weights under <c>model_weights</c>).
/// </summary>
/// <remarks>
/// Integration point for the legacy reader: it rebuilds the architecture with
/// <see cref="KerasLayerReader.DeserializeModel"/> (a <see cref="KerasLoadContext"/> carrying the file's
/// <c>keras_version</c>, so that Keras 2's <c>hard_sigmoid</c>, argument names and node formats are honoured),
/// compiles it from <c>training_config</c> with <see cref="KerasCompileReader.CompileFromTrainingConfig"/> when
/// <c>compile</c> is true, then maps the legacy weights. Until that reader is wired in, this build reports that
/// legacy loading is unavailable.
/// </remarks>
internal static class LegacyH5Dispatch
{
    /// <summary>Loads a legacy <c>.h5</c> model.</summary>
    /// <param name="path">The HDF5 file.</param>
    /// <param name="customObjects">Layer factories for custom classes, or <c>null</c>.</param>
    /// <param name="compile">Whether to compile the model from its <c>training_config</c>.</param>
    /// <exception cref="KerasFileException">Always, in this build.</exception>
    public static Model Load(string path, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects, bool compile) =>
        throw new KerasFileException(path,
            $"'{path}' is an HDF5 file (a legacy Keras .h5 model): legacy .h5 loading is not available in this build. Save the model in Python as .keras (model.save(\"model.keras\")) and load that.");
}
