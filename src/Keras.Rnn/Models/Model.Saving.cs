using Keras.Rnn.Saving;

namespace Keras.Rnn.Models;

public partial class Model
{
    /// <summary>
    /// Saves the weights in Keras 3's <c>.weights.h5</c> format (Keras' <c>model.save_weights</c>): one HDF5 group per
    /// layer, keyed as Keras keys it (<c>/layers/lstm/cell/vars/0</c>...), so Keras 3 can load the file into the same
    /// architecture and this model can load Keras' files. A compiled model also writes its optimizer state. The file
    /// is written atomically: to a temporary file in the same folder, then renamed over <paramref name="path"/>; if
    /// anything fails, an existing file at <paramref name="path"/> is left untouched.
    /// </summary>
    /// <param name="path">Target file; must end in <c>.weights.h5</c>.</param>
    /// <param name="overwrite">Whether an existing file may be replaced (default <c>true</c>).</param>
    /// <exception cref="ArgumentException">The name does not end in <c>.weights.h5</c>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built (it has no weights yet).</exception>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false, or writing failed.</exception>
    /// <example>
    /// <code>
    /// model.SaveWeights("model.weights.h5");
    /// var copy = new Sequential(new InputLayer([5, 3]), new LSTM(4), new Dense(2));
    /// copy.LoadWeights("model.weights.h5");
    /// </code>
    /// </example>
    public void SaveWeights(string path, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!path.EndsWith(".weights.h5", StringComparison.Ordinal))
            throw new ArgumentException($"The filename must end in `.weights.h5`. Received: path={path}", nameof(path));
        if (!Built)
            throw new InvalidOperationException(
                $"You are saving model '{Name}', which has not yet been built. Build it first by calling it on some data, by calling Build(shape), or by giving it an input shape.");
        WriteAtomically(path, overwrite, stream => H5WeightsWriter.Write(this, stream));
    }

    /// <summary>
    /// Loads weights saved by <see cref="SaveWeights"/> or by Keras 3 (<c>.weights.h5</c>, or the weights inside a
    /// <c>.keras</c> archive) into this model, which must have the same architecture (Keras'
    /// <c>model.load_weights</c>). Every layer is checked — variable count, shapes, dtypes (float64 data is converted
    /// to float32) — before anything is assigned; a compiled model also restores its optimizer state when the file has
    /// one that fits (otherwise a warning, as in Keras).
    /// </summary>
    /// <param name="path">A <c>.weights.h5</c> file or a <c>.keras</c> archive (recognised by content).</param>
    /// <param name="skipMismatch">Skip layers whose weights do not fit (count, shape or dtype) with a one-line warning
    /// through <see cref="KerasConfig.Logger"/> instead of failing (default <c>false</c>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="KerasFileException">The file is not a Keras 3 weights file or archive, is truncated or
    /// corrupted, or (without <paramref name="skipMismatch"/>) some layer's weights do not fit; the message names the
    /// file, each layer (name and key) and what was expected and found. Nothing is loaded in that case.</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public void LoadWeights(string path, bool skipMismatch = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Built)
            throw new InvalidOperationException(
                $"You are loading weights into model '{Name}', which has not yet been built. Build it first by calling it on some data, by calling Build(shape), or by giving it an input shape.");
        if (Saving.Legacy.LegacyH5Weights.IsLegacyFile(path)) Saving.Legacy.LegacyH5Weights.Load(this, path, byName: false, skipMismatch);
        else H5WeightsReader.Load(this, path, skipMismatch);
    }

    /// <summary>
    /// Saves the model as a Keras 3 <c>.keras</c> archive (Keras' <c>model.save</c>): a zip of <c>metadata.json</c>,
    /// <c>config.json</c> (the architecture in Keras' serialized form) and <c>model.weights.h5</c>, entries stored
    /// uncompressed as Keras writes them. Written atomically, like <see cref="SaveWeights"/>.
    /// </summary>
    /// <param name="path">Target file; must end in <c>.keras</c>.</param>
    /// <param name="overwrite">Whether an existing file may be replaced (default <c>true</c>).</param>
    /// <exception cref="ArgumentException">The name does not end in <c>.keras</c>.</exception>
    /// <exception cref="InvalidOperationException">A layer's config holds a value with no Keras JSON form.</exception>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false, or writing failed.</exception>
    public void Save(string path, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if ((path.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".hdf5", StringComparison.OrdinalIgnoreCase))
            && !path.EndsWith(".weights.h5", StringComparison.OrdinalIgnoreCase))
        {
            // Keras 3: a .h5 path writes the legacy full-model HDF5 format.
            if (!Built)
                throw new InvalidOperationException($"You are saving model '{Name}', which has not yet been built. Build it first.");
            Saving.Legacy.LegacyH5Writer.SaveModel(this, path, overwrite);
            return;
        }
        if (!path.EndsWith(".keras", StringComparison.Ordinal))
            throw new ArgumentException($"Invalid path argument: expected a `.keras` extension (or `.h5` for the legacy format). Received: path={path}", nameof(path));
        if (!Built)
            KerasConfig.Log($"You are saving model '{Name}', which has not yet been built. It might not contain any weights yet.");
        WriteAtomically(path, overwrite, stream => KerasArchive.Write(this, stream));
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
