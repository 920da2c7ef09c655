namespace Keras.Rnn;

/// <summary>
/// Thrown when libtorch or TorchSharp's native library cannot be loaded. The message says what failed and what to
/// install or configure.
/// </summary>
public sealed class KerasNativeLibraryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and how to fix it.</param>
    /// <param name="inner">The underlying error, if any (default <c>null</c>).</param>
    public KerasNativeLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}
