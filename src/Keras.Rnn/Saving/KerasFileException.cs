namespace Keras.Rnn.Saving;

/// <summary>
/// Thrown when a Keras file (<c>.weights.h5</c>, <c>.keras</c>) cannot be written or read: the file is not HDF5 or
/// not a zip, is truncated or corrupted, lacks a group, or holds weights that do not fit the model (wrong variable
/// count, shape or dtype). The message names the file, the layer (its name and its key in the file) and what was
/// expected versus found.
/// </summary>
public sealed class KerasFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file concerned.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The underlying error (default <c>null</c>).</param>
    public KerasFileException(string filePath, string message, Exception? inner = null) : base(message, inner)
    {
        FilePath = filePath;
    }

    /// <summary>The file concerned.</summary>
    public string FilePath { get; }
}
