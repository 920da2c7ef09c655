using System.Runtime.CompilerServices;

namespace Keras.Rnn.Saving;

/// <summary>
/// A read-only view of a seekable stream for the HDF5 reader (PureHDF) on untrusted files. PureHDF follows soft links
/// and B-tree pointers recursively without a cycle check, so a corrupted or hostile file could recurse until the
/// process dies of a stack overflow, or loop reading forever. Every read here first checks that the thread has stack
/// to spare and that the bytes read so far stay within a budget; otherwise it throws
/// <see cref="InvalidDataException"/>, which ends the recursion or loop and surfaces as a clean error.
/// </summary>
internal sealed class GuardedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly long _maxBytes;
    private long _bytesRead;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">A readable, seekable stream.</param>
    /// <param name="maxBytes">Most bytes that may be read in all (default: 16 times the length plus 64 MiB).</param>
    /// <param name="leaveOpen">Whether disposing this stream leaves <paramref name="inner"/> open.</param>
    public GuardedReadStream(Stream inner, long? maxBytes = null, bool leaveOpen = false)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _maxBytes = maxBytes ?? checked(16 * inner.Length + (64L << 20));
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _bytesRead;

    private void Check(int count)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new InvalidDataException("the file's structure is cyclic or nested too deeply (its links or tree nodes lead back into themselves).");
        if (_bytesRead + count > _maxBytes)
            throw new InvalidDataException($"reading the file's structure did not end after {_bytesRead} bytes (it loops).");
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        Check(count);
        int n = _inner.Read(buffer, offset, count);
        _bytesRead += n;
        return n;
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        Check(buffer.Length);
        int n = _inner.Read(buffer);
        _bytesRead += n;
        return n;
    }

    /// <inheritdoc />
    public override int ReadByte()
    {
        Check(1);
        int b = _inner.ReadByte();
        if (b >= 0) _bytesRead++;
        return b;
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => true;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => _inner.Length;

    /// <inheritdoc />
    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("The stream is read-only.");

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read-only.");

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen) _inner.Dispose();
        base.Dispose(disposing);
    }
}
