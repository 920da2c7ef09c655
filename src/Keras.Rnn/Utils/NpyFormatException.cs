namespace Keras.Rnn.Utils;

/// <summary>
/// Thrown when a NumPy <c>.npy</c> file or stream cannot be read: it is not an <c>.npy</c> file (bad magic string),
/// uses a format version other than 1.0, 2.0 or 3.0, has a truncated or malformed header, holds a dtype or memory
/// layout this reader does not support (Fortran order, object arrays, strings, complex numbers, ...), declares an
/// impossible shape, or holds less data than its shape requires. The message names the file and what was expected
/// versus found.
/// </summary>
public sealed class NpyFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file concerned, or <c>null</c> when the data came from a stream.</param>
    /// <param name="message">The full message (it should name the file).</param>
    /// <param name="inner">The underlying error (default <c>null</c>).</param>
    public NpyFormatException(string? filePath, string message, Exception? inner = null) : base(message, inner)
    {
        FilePath = filePath;
    }

    /// <summary>The file concerned, or <c>null</c> when the data came from a stream.</summary>
    public string? FilePath { get; }
}
