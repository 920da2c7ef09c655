namespace Keras.Rnn.Saving;

/// <summary>
/// Writes a file atomically: the content goes to a temporary file in the target's folder, which then replaces the
/// target in one rename. If anything fails, the temporary file is deleted and an existing file at the target is left
/// exactly as it was.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Test hook: wraps the temporary file's stream (e.g. to fail after some bytes). <c>null</c> in normal use.</summary>
    internal static Func<Stream, Stream>? StreamWrapperForTests;

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="overwrite">Whether an existing file may be replaced.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    /// <exception cref="IOException">The target exists and <paramref name="overwrite"/> is false, or writing failed.</exception>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    public static void Write(string path, bool overwrite, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Cannot save '{path}': the folder '{folder}' does not exist.");
        if (!overwrite && File.Exists(full))
            throw new IOException($"Cannot save '{path}': the file exists and overwrite is false.");
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                var target = StreamWrapperForTests?.Invoke(file) ?? file;
                write(target);
                target.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // The original error matters more than a temporary file we could not remove.
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }
}
