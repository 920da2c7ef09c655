using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Keras.Rnn.Tests.Utils;

/// <summary>
/// Builds <c>.npy</c> bytes by hand from NumPy's documented layout (numpy/lib/format.py): the 6-byte magic string
/// <c>\x93NUMPY</c>, major and minor version bytes, the header length as a little-endian uint16 (version 1.0) or uint32
/// (2.0, 3.0), the header text (latin-1, or UTF-8 for 3.0), then the raw data. Independent of the code under test.
/// </summary>
internal static class NpyBytes
{
    public static byte[] Assemble(string header, byte[] data, byte major = 1, byte minor = 0)
    {
        var text = major == 3 ? Encoding.UTF8.GetBytes(header) : Encoding.Latin1.GetBytes(header);
        int lengthBytes = major == 1 ? 2 : 4;
        var result = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, minor };
        var length = new byte[lengthBytes];
        if (lengthBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)text.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)text.Length);
        result.AddRange(length);
        result.AddRange(text);
        result.AddRange(data);
        return result.ToArray();
    }

    /// <summary>
    /// A header dict padded with spaces and a newline so the data starts at an <paramref name="align"/>-byte boundary
    /// (NumPy aligns to 64 today; versions before 1.14 aligned to 16).
    /// </summary>
    public static string Padded(string dict, int align = 64, int lengthBytes = 2)
    {
        int used = 8 + lengthBytes + dict.Length + 1;
        int pad = (align - used % align) % align;
        return dict + new string(' ', pad) + "\n";
    }

    public static string Spaces(int n) => new(' ', n);

    public static byte[] F32(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] F64(params double[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] I32(params int[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] I64(params long[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    public static byte[] BigF32(params float[] values) => values.SelectMany(v => BitConverter.GetBytes(v).Reverse()).ToArray();
    public static byte[] BigF64(params double[] values) => values.SelectMany(v => BitConverter.GetBytes(v).Reverse()).ToArray();
    public static byte[] BigI32(params int[] values) => values.SelectMany(v => BitConverter.GetBytes(v).Reverse()).ToArray();
    public static byte[] BigI64(params long[] values) => values.SelectMany(v => BitConverter.GetBytes(v).Reverse()).ToArray();

    /// <summary>A plain version-1.0 file for a dtype string and shape text, 64-byte aligned, with the given data.</summary>
    public static byte[] Simple(string descr, string shape, byte[] data, string fortranOrder = "False") =>
        Assemble(Padded($"{{'descr': '{descr}', 'fortran_order': {fortranOrder}, 'shape': {shape}, }}"), data);
}

/// <summary>A read-only stream that cannot seek (like a pipe), for the non-seekable code paths.</summary>
internal sealed class NonSeekableStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7)); // short reads on purpose
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A temporary folder removed after each test.</summary>
public abstract class NpyTestBase : IDisposable
{
    protected NpyTestBase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "keras-rnn-npy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    protected string Folder { get; }

    protected string PathOf(string name) => Path.Combine(Folder, name);

    protected string WriteFile(string name, byte[] bytes)
    {
        var path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A file of Utils/TestData: beside this source file, or found upwards from the test binaries.</summary>
    protected static string TestDataPath(string name, [CallerFilePath] string source = "")
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(source) ?? "", "TestData", name);
        if (File.Exists(besideSource)) return besideSource;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Keras.Rnn.Tests", "Utils", "TestData", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"Test data '{name}' not found beside {source} or above {AppContext.BaseDirectory}.");
    }

    public void Dispose()
    {
        Keras.Rnn.Saving.AtomicFile.StreamWrapperForTests = null;
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }
}
