using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Keras.Rnn.Backend;
using Keras.Rnn.Saving;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Utils;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (what <c>np.save</c> writes and <c>np.load</c> reads), as TorchSharp
/// tensors or .NET rectangular arrays.
/// </summary>
/// <remarks>
/// <para>
/// <b>Reading</b> accepts format versions 1.0, 2.0 and 3.0 and the dtypes float32 (<c>&lt;f4</c>), float64
/// (<c>&lt;f8</c>), int32 (<c>&lt;i4</c>), int64 (<c>&lt;i8</c>), uint8 (<c>|u1</c>) and bool (<c>|b1</c>), little- or
/// big-endian (big-endian data is byte-swapped). Every dtype keeps its type: float64 stays float64 and uint8 stays
/// uint8 — the caller decides whether to cast. Scalars (shape <c>()</c>) and empty arrays (a dimension of 0) are
/// allowed. The data must be in C (row-major) order. Bytes after the array are ignored, so several arrays written one
/// after another to a stream can be read back in turn.
/// </para>
/// <para>
/// Files are treated as untrusted: anything that is not a supported <c>.npy</c> array — a bad magic string, an unknown
/// version, a truncated or malformed header, a header that is not a dict of <c>descr</c>, <c>fortran_order</c> and
/// <c>shape</c>, Fortran order, object arrays, unsupported dtypes, negative or overflowing dimensions, or less data than
/// the shape needs — raises <see cref="NpyFormatException"/> (an <see cref="IOException"/>) naming the file. Sizes are checked against the file's
/// length before any array is allocated, so a hostile header cannot trigger a huge allocation.
/// </para>
/// <para>
/// <b>Writing</b> produces what NumPy's <c>np.save</c> produces: a version 1.0 header such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c>, padded with spaces and a final newline so
/// the data starts on a 64-byte boundary, followed by the little-endian, C-ordered data. Writing to a path is atomic:
/// the bytes go to a temporary file beside the target, which then replaces it, so a failed write leaves an existing
/// file untouched.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// using var x = Npy.Read("x_test.npy");            // e.g. float32 (200, 905, 1)
/// using var y = model.Predict(x);
/// Npy.Write("y_pred.npy", y);
/// var labels = (long[])Npy.ReadArray("labels.npy"); // a .NET array of the file's rank and element type
/// </code>
/// </example>
public static class Npy
{
    /// <summary>The largest header accepted, in bytes (NumPy itself refuses headers over 10,000 characters by default).</summary>
    public const int MaxHeaderLength = 100_000;

    /// <summary>The most dimensions accepted (NumPy 2's limit).</summary>
    public const int MaxDimensions = 64;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The alignment NumPy gives the start of the data.</summary>
    private const int ArrayAlign = 64;

    /// <summary>NumPy leaves room for the first dimension to grow to this many digits when it writes a header.</summary>
    private const int GrowthAxisMaxDigits = 21;

    /// <summary>Bytes copied per step (a multiple of every item size).</summary>
    private const int ChunkBytes = 1 << 22;

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // ------------------------------------------------------------------------------------------------ reading

    /// <summary>Reads a <c>.npy</c> file into a new CPU tensor of the file's shape and dtype.</summary>
    /// <param name="path">The <c>.npy</c> file.</param>
    /// <returns>A CPU tensor the caller owns (dispose it): float32, float64, int32, int64, uint8 (<c>Byte</c>) or bool.</returns>
    /// <exception cref="NpyFormatException">The file is not a supported <c>.npy</c> array (see <see cref="Npy"/>).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Tensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return ReadTensor(stream, path);
    }

    /// <summary>
    /// Reads one <c>.npy</c> array from a stream, starting at its current position and leaving it just after the
    /// array's data.
    /// </summary>
    /// <param name="stream">A readable stream. A non-seekable stream is buffered in memory up to the size the header declares.</param>
    /// <returns>A CPU tensor the caller owns (dispose it).</returns>
    /// <exception cref="NpyFormatException">The data is not a supported <c>.npy</c> array.</exception>
    public static Tensor Read(Stream stream)
    {
        CheckReadable(stream);
        return ReadTensor(stream, null);
    }

    /// <summary>
    /// Reads a <c>.npy</c> file into a .NET rectangular array of the file's rank and element type: <c>float</c>,
    /// <c>double</c>, <c>int</c>, <c>long</c>, <c>byte</c> or <c>bool</c> (e.g. <c>float[,,]</c> for a 3-D float32
    /// file). .NET has no 0-dimensional arrays, so a scalar (shape <c>()</c>) comes back as a one-element
    /// one-dimensional array; <see cref="ReadHeader(string)"/> tells the two apart.
    /// </summary>
    /// <param name="path">The <c>.npy</c> file.</param>
    /// <returns>The array; cast it to the expected type, e.g. <c>(float[,])Npy.ReadArray(path)</c>.</returns>
    /// <exception cref="NpyFormatException">
    /// The file is not a supported <c>.npy</c> array, or it exceeds what a .NET array can hold (more than 32 dimensions,
    /// a dimension or element count over <see cref="Array.MaxLength"/>).
    /// </exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Array ReadArray(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return ReadArrayCore(stream, path);
    }

    /// <summary>Reads one <c>.npy</c> array from a stream into a .NET rectangular array (see <see cref="ReadArray(string)"/>).</summary>
    /// <param name="stream">A readable stream, read from its current position; left just after the array's data.</param>
    /// <returns>The array.</returns>
    /// <exception cref="NpyFormatException">The data is not a supported <c>.npy</c> array or does not fit a .NET array.</exception>
    public static Array ReadArray(Stream stream)
    {
        CheckReadable(stream);
        return ReadArrayCore(stream, null);
    }

    /// <summary>Reads and checks only the header of a <c>.npy</c> file: its version, dtype and shape.</summary>
    /// <param name="path">The <c>.npy</c> file.</param>
    /// <returns>The header.</returns>
    /// <exception cref="NpyFormatException">The header is not that of a supported <c>.npy</c> array, or the file is shorter than the data it declares.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static NpyHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        var header = ReadHeaderCore(stream, path);
        CheckDataLength(stream, header, path);
        return header;
    }

    /// <summary>
    /// Reads and checks the header of a <c>.npy</c> array in a stream, leaving the stream at the first data byte. For a
    /// seekable stream it also checks that the data the header declares is present.
    /// </summary>
    /// <param name="stream">A readable stream, read from its current position.</param>
    /// <returns>The header.</returns>
    /// <exception cref="NpyFormatException">The header is not that of a supported <c>.npy</c> array.</exception>
    public static NpyHeader ReadHeader(Stream stream)
    {
        CheckReadable(stream);
        var header = ReadHeaderCore(stream, null);
        if (stream.CanSeek) CheckDataLength(stream, header, null);
        return header;
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);

    private static void CheckReadable(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead) throw new ArgumentException("The stream is not readable.", nameof(stream));
    }

    private static Tensor ReadTensor(Stream stream, string? path)
    {
        NativeLibraries.EnsureLoaded();
        var header = ReadHeaderCore(stream, path);
        var source = DataSource(stream, header, path);
        var dtype = header.DTypeInfo;
        using var scope = torch.NewDisposeScope();
        // Bools are read as bytes and compared with 0, so a byte other than 0 or 1 still gives a proper bool.
        var storageType = dtype == NpyDType.Bool ? ScalarType.Byte : dtype.TorchType;
        var result = torch.empty(header.ShapeArray, storageType);
        if (header.ElementCount > 0)
        {
            bool swap = header.IsBigEndian == BitConverter.IsLittleEndian && dtype.ItemSize > 1;
            using var flat = result.reshape(-1);
            long chunkElements = ChunkBytes / dtype.ItemSize;
            for (long start = 0; start < header.ElementCount; start += chunkElements)
            {
                using var part = flat.narrow(0, start, Math.Min(chunkElements, header.ElementCount - start));
                var bytes = part.bytes;
                ReadExactly(source, bytes, header, path);
                if (swap) SwapBytes(bytes, dtype.ItemSize);
            }
        }
        if (dtype == NpyDType.Bool) result = result.ne(0);
        return result.MoveToOuterDisposeScope();
    }

    private static Array ReadArrayCore(Stream stream, string? path)
    {
        var header = ReadHeaderCore(stream, path);
        if (stream.CanSeek) CheckDataLength(stream, header, path); // missing data is the more basic problem
        var shape = header.ShapeArray;
        if (shape.Length > 32)
            throw Fail(path, $"its shape {header.ShapeText} has {shape.Length} dimensions; .NET arrays have at most 32 (use Npy.Read for a tensor)");
        foreach (var d in shape)
            if (d > Array.MaxLength)
                throw Fail(path, $"its shape {header.ShapeText} has a dimension longer than a .NET array can hold ({Array.MaxLength}); use Npy.Read for a tensor");
        if (header.ElementCount > Array.MaxLength)
            throw Fail(path, $"its shape {header.ShapeText} holds {header.ElementCount} elements, more than a .NET array can hold ({Array.MaxLength}); use Npy.Read for a tensor");
        var source = DataSource(stream, header, path);

        var dims = shape.Length == 0 ? [1] : shape.Select(d => (int)d).ToArray();
        var dtype = header.DTypeInfo;
        var array = Array.CreateInstance(dtype.ClrType, dims);
        bool swap = header.IsBigEndian == BitConverter.IsLittleEndian && dtype.ItemSize > 1;
        ref byte first = ref MemoryMarshal.GetArrayDataReference(array);
        long total = header.DataLength;
        for (long offset = 0; offset < total; offset += ChunkBytes)
        {
            int length = (int)Math.Min(ChunkBytes, total - offset);
            var bytes = MemoryMarshal.CreateSpan(ref System.Runtime.CompilerServices.Unsafe.Add(ref first, (nint)offset), length);
            ReadExactly(source, bytes, header, path);
            if (swap) SwapBytes(bytes, dtype.ItemSize);
            if (dtype == NpyDType.Bool)
                foreach (ref var b in bytes)
                    b = b != 0 ? (byte)1 : (byte)0;
        }
        return array;
    }

    private static NpyHeader ReadHeaderCore(Stream stream, string? path)
    {
        Span<byte> prefix = stackalloc byte[8];
        int got = ReadUpTo(stream, prefix);
        if (got == 0)
            throw Fail(path, "it is empty; a .npy file starts with the magic string \\x93NUMPY");
        int compared = Math.Min(got, Magic.Length);
        if (!prefix[..compared].SequenceEqual(Magic[..compared]))
        {
            var hint = prefix[0] == (byte)'P' && got > 1 && prefix[1] == (byte)'K'
                ? " It looks like a zip archive: an .npz file holds several .npy arrays; extract one in NumPy " +
                  "(np.load(path)[name]) and save it with np.save."
                : "";
            throw Fail(path, $"it is not a NumPy .npy file: it starts with {BytesRepr(prefix[..got])} instead of the magic string b'\\x93NUMPY'.{hint}");
        }
        if (got < prefix.Length)
            throw Fail(path, $"it is truncated: it ends after {got} bytes, inside the magic string and format version");

        int major = prefix[6], minor = prefix[7];
        if (minor != 0 || major is < 1 or > 3)
            throw Fail(path, $"its .npy format version is {major}.{minor}; supported versions are 1.0, 2.0 and 3.0");

        int lengthBytes = major == 1 ? 2 : 4;
        Span<byte> lengthField = stackalloc byte[4];
        if (ReadUpTo(stream, lengthField[..lengthBytes]) < lengthBytes)
            throw Fail(path, "its header is truncated: the file ends inside the header length field");
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(lengthField)
            : BinaryPrimitives.ReadUInt32LittleEndian(lengthField);
        if (headerLength > MaxHeaderLength)
            throw Fail(path, $"its header length field says {headerLength} bytes, more than the {MaxHeaderLength}-byte limit for a plain array's header");
        if (stream.CanSeek && headerLength > stream.Length - stream.Position)
            throw Fail(path, $"its header is truncated: the header length field says {headerLength} bytes but only {Math.Max(0, stream.Length - stream.Position)} bytes follow");
        var headerBytes = new byte[headerLength];
        int headerGot = ReadUpTo(stream, headerBytes);
        if (headerGot < headerLength)
            throw Fail(path, $"its header is truncated: the header length field says {headerLength} bytes but only {headerGot} bytes follow");

        string text;
        try
        {
            text = major == 3 ? StrictUtf8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Fail(path, "its version 3.0 header is not valid UTF-8", e);
        }

        object literal;
        try
        {
            literal = PythonLiteral.Parse(text);
        }
        catch (FormatException e)
        {
            throw Fail(path, $"its header is not a valid Python literal ({e.Message}): {PythonLiteral.Repr(text.TrimEnd())}", e);
        }
        if (literal is not PythonLiteral.PyDict dict)
            throw Fail(path, $"its header is not a dict: {PythonLiteral.Repr(literal)}");

        var keys = dict.Entries.Select(e => e.Key).ToList();
        string[] expected = ["descr", "fortran_order", "shape"];
        if (keys.Count != keys.Distinct(StringComparer.Ordinal).Count() || !keys.Order(StringComparer.Ordinal).SequenceEqual(expected))
            throw Fail(path, $"its header has the keys [{string.Join(", ", keys.Select(k => PythonLiteral.Repr(k, 40)))}]; expected exactly 'descr', 'fortran_order' and 'shape'");
        object Value(string key) => dict.Entries.First(e => e.Key == key).Value;

        // descr
        var descrValue = Value("descr");
        if (descrValue is PythonLiteral.PyList)
            throw Fail(path, $"it holds a structured (record) array, dtype {PythonLiteral.Repr(descrValue)}; only plain numeric arrays are supported ({NpyDType.SupportedList})");
        if (descrValue is PythonLiteral.PyTuple)
            throw Fail(path, $"it holds a sub-array dtype {PythonLiteral.Repr(descrValue)}; only plain numeric arrays are supported ({NpyDType.SupportedList})");
        if (descrValue is not string descr)
            throw Fail(path, $"its header's 'descr' is {PythonLiteral.Repr(descrValue)}, not a dtype string such as '<f4'");
        var dtype = NpyDType.Parse(descr, out bool bigEndian, out string? dtypeError)
                    ?? throw Fail(path, dtypeError!);

        // shape
        var shapeValue = Value("shape");
        if (shapeValue is not PythonLiteral.PyTuple shapeTuple)
            throw Fail(path, $"its header's 'shape' is {PythonLiteral.Repr(shapeValue)}, not a tuple of integers such as (3, 4)");
        var shapeText = PythonLiteral.Repr(shapeValue);
        if (shapeTuple.Items.Count > MaxDimensions)
            throw Fail(path, $"its shape has {shapeTuple.Items.Count} dimensions; at most {MaxDimensions} are supported");
        var shape = new long[shapeTuple.Items.Count];
        long nonZeroProduct = dtype.ItemSize;
        bool empty = false;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shapeTuple.Items[i] is not PythonLiteral.PyInt dim)
                throw Fail(path, $"its shape {shapeText} is not a tuple of integers: dimension {i} is {PythonLiteral.Repr(shapeTuple.Items[i], 40)}");
            if (dim.Value is not { } size)
                throw Fail(path, $"its shape {shapeText} has dimension {i} = {dim.Text}, which is absurdly large");
            if (size < 0)
                throw Fail(path, $"its shape {shapeText} has a negative dimension ({size} at index {i})");
            shape[i] = size;
            if (size == 0) { empty = true; continue; }
            // The product of the non-zero dimensions times the item size must fit 64 bits even for an empty array,
            // so that strides and sizes computed from the shape never overflow.
            if (nonZeroProduct > long.MaxValue / size)
                throw Fail(path, $"its shape {shapeText} of {dtype.Name} describes more than 2^63 bytes, which is absurd");
            nonZeroProduct *= size;
        }
        long elementCount = empty ? 0 : nonZeroProduct / dtype.ItemSize;

        // fortran_order
        var fortranValue = Value("fortran_order");
        if (fortranValue is not bool fortranOrder)
            throw Fail(path, $"its header's 'fortran_order' is {PythonLiteral.Repr(fortranValue)}, not True or False");
        // With at most one dimension longer than 1 (or no element at all), Fortran and C order are the same bytes.
        if (fortranOrder && elementCount > 0 && shape.Count(d => d > 1) > 1)
            throw Fail(path, $"it stores a {shapeText} array in Fortran (column-major) order (fortran_order: True); only C (row-major) order is supported. " +
                             "Save it from NumPy in C order: np.save(path, np.ascontiguousarray(x))");

        long dataOffset = prefix.Length + lengthBytes + headerLength;
        return new NpyHeader(new Version(major, minor), descr, dtype, bigEndian, fortranOrder, shape, elementCount, dataOffset);
    }

    /// <summary>
    /// A seekable stream holding at least the header's data at its position: the stream itself after a length check,
    /// or for a non-seekable stream an in-memory copy of exactly the data bytes, read up to the declared length only.
    /// </summary>
    private static Stream DataSource(Stream stream, NpyHeader header, string? path)
    {
        if (stream.CanSeek)
        {
            CheckDataLength(stream, header, path);
            return stream;
        }
        long needed = header.DataLength;
        if (needed > Array.MaxLength)
            throw Fail(path, $"its shape {header.ShapeText} of {header.DTypeName} needs {needed} bytes, too many to buffer from a non-seekable stream; read it from a file");
        var copy = new MemoryStream();
        var buffer = new byte[81920];
        while (copy.Length < needed)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, needed - copy.Length));
            if (n <= 0) throw ShortData(path, header, copy.Length);
            copy.Write(buffer, 0, n);
        }
        copy.Position = 0;
        return copy;
    }

    private static void CheckDataLength(Stream stream, NpyHeader header, string? path)
    {
        long remaining = Math.Max(0, stream.Length - stream.Position);
        if (remaining < header.DataLength) throw ShortData(path, header, remaining);
    }

    private static NpyFormatException ShortData(string? path, NpyHeader header, long available) =>
        Fail(path, $"its data is truncated: shape {header.ShapeText} of {header.DTypeName} needs {header.DataLength} bytes after the " +
                   $"{header.DataOffset}-byte header, but only {available} bytes follow (was the file fully written?)");

    private static void ReadExactly(Stream stream, Span<byte> buffer, NpyHeader header, string? path)
    {
        int got = ReadUpTo(stream, buffer);
        if (got < buffer.Length) throw ShortData(path, header, got);
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    private static NpyFormatException Fail(string? path, string detail, Exception? inner = null)
    {
        var where = path == null ? "the NumPy .npy stream" : $"the NumPy file '{path}'";
        detail = detail.TrimEnd('.');
        return new NpyFormatException(path, $"Cannot read {where}: {detail}.", inner);
    }

    /// <summary>Python's repr of a short byte string, for error messages: <c>b'PK\x03\x04'</c>.</summary>
    private static string BytesRepr(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder("b'");
        foreach (var b in bytes)
        {
            if (b == (byte)'\'' || b == (byte)'\\') sb.Append('\\').Append((char)b);
            else if (b == (byte)'\n') sb.Append("\\n");
            else if (b == (byte)'\r') sb.Append("\\r");
            else if (b == (byte)'\t') sb.Append("\\t");
            else if (b >= 0x20 && b < 0x7f) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.Append('\'').ToString();
    }

    private static void SwapBytes(Span<byte> data, int itemSize)
    {
        switch (itemSize)
        {
            case 2:
                var u16 = MemoryMarshal.Cast<byte, ushort>(data);
                BinaryPrimitives.ReverseEndianness(u16, u16);
                break;
            case 4:
                var u32 = MemoryMarshal.Cast<byte, uint>(data);
                BinaryPrimitives.ReverseEndianness(u32, u32);
                break;
            case 8:
                var u64 = MemoryMarshal.Cast<byte, ulong>(data);
                BinaryPrimitives.ReverseEndianness(u64, u64);
                break;
        }
    }

    // ------------------------------------------------------------------------------------------------ writing

    /// <summary>
    /// Writes a tensor to a <c>.npy</c> file exactly as NumPy's <c>np.save</c> would (version 1.0 header, little-endian,
    /// C order), replacing an existing file atomically. The tensor may live on any device and be non-contiguous.
    /// </summary>
    /// <param name="path">The target file; written as given (no <c>.npy</c> extension is added).</param>
    /// <param name="tensor">A float32, float64, int32, int64, uint8 (<c>Byte</c>) or bool tensor of any rank (rank 0 writes shape <c>()</c>).</param>
    /// <exception cref="ArgumentException">The tensor's dtype has no supported NumPy counterpart (cast it first).</exception>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dtype = TensorDType(tensor);
        AtomicFile.Write(path, overwrite: true, stream => WriteTensor(stream, tensor, dtype));
    }

    /// <summary>Writes a tensor as <c>.npy</c> content at the stream's current position (see <see cref="Write(string, Tensor)"/>).</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="tensor">A float32, float64, int32, int64, uint8 or bool tensor of any rank.</param>
    /// <exception cref="ArgumentException">The tensor's dtype has no supported NumPy counterpart, or the stream is not writable.</exception>
    public static void Write(Stream stream, Tensor tensor)
    {
        CheckWritable(stream);
        WriteTensor(stream, tensor, TensorDType(tensor));
    }

    /// <summary>
    /// Writes a .NET rectangular array (any rank from 1 to 32) to a <c>.npy</c> file exactly as NumPy's <c>np.save</c>
    /// would, replacing an existing file atomically. Element types map to float32 (<c>float</c>), float64
    /// (<c>double</c>), int32 (<c>int</c>), int64 (<c>long</c>), uint8 (<c>byte</c>) and bool (<c>bool</c>).
    /// </summary>
    /// <param name="path">The target file; written as given (no <c>.npy</c> extension is added).</param>
    /// <param name="array">A rectangular array such as <c>float[,]</c>; jagged arrays are rejected.</param>
    /// <exception cref="ArgumentException">The array is jagged or has an unsupported element type.</exception>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    public static void Write(string path, Array array)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dtype = ArrayDType(array);
        AtomicFile.Write(path, overwrite: true, stream => WriteArray(stream, array, dtype));
    }

    /// <summary>Writes a .NET rectangular array as <c>.npy</c> content at the stream's current position (see <see cref="Write(string, Array)"/>).</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="array">A rectangular array of float, double, int, long, byte or bool.</param>
    /// <exception cref="ArgumentException">The array is jagged or has an unsupported element type, or the stream is not writable.</exception>
    public static void Write(Stream stream, Array array)
    {
        CheckWritable(stream);
        WriteArray(stream, array, ArrayDType(array));
    }

    /// <summary>
    /// Writes a one-dimensional .NET array to a <c>.npy</c> file (see <see cref="Write(string, Array)"/>). This overload
    /// only makes calls such as <c>Npy.Write(path, new[] { 1f, 2f })</c> unambiguous, since TorchSharp also converts
    /// one-dimensional arrays to tensors implicitly.
    /// </summary>
    /// <typeparam name="T">float, double, int, long, byte or bool.</typeparam>
    /// <param name="path">The target file; written as given (no <c>.npy</c> extension is added).</param>
    /// <param name="array">The values.</param>
    /// <exception cref="ArgumentException">The element type is not supported.</exception>
    public static void Write<T>(string path, T[] array) where T : unmanaged => Write(path, (Array)array);

    /// <summary>Writes a one-dimensional .NET array as <c>.npy</c> content at the stream's current position (see <see cref="Write{T}(string, T[])"/>).</summary>
    /// <typeparam name="T">float, double, int, long, byte or bool.</typeparam>
    /// <param name="stream">A writable stream.</param>
    /// <param name="array">The values.</param>
    /// <exception cref="ArgumentException">The element type is not supported, or the stream is not writable.</exception>
    public static void Write<T>(Stream stream, T[] array) where T : unmanaged => Write(stream, (Array)array);

    private static void CheckWritable(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("The stream is not writable.", nameof(stream));
    }

    private static NpyDType TensorDType(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return NpyDType.FromTorch(tensor.dtype) ?? throw new ArgumentException(
            $"A tensor of dtype {tensor.dtype} cannot be written to .npy; supported dtypes are Float32, Float64, Int32, " +
            "Int64, Byte (uint8) and Bool. Convert it first, e.g. tensor.to_type(ScalarType.Float32).", nameof(tensor));
    }

    private static NpyDType ArrayDType(Array array)
    {
        ArgumentNullException.ThrowIfNull(array);
        var elementType = array.GetType().GetElementType()!;
        if (elementType.IsArray)
            throw new ArgumentException(
                $"A jagged array ({array.GetType().Name}) cannot be written to .npy; use a rectangular array such as float[,].", nameof(array));
        return NpyDType.FromClr(elementType) ?? throw new ArgumentException(
            $"Arrays of {elementType.Name} cannot be written to .npy; supported element types are float, double, int, " +
            "long, byte and bool.", nameof(array));
    }

    private static void WriteTensor(Stream stream, Tensor tensor, NpyDType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var t = tensor.detach().cpu().contiguous();
        stream.Write(BuildHeader(dtype.LittleEndianDescr, t.shape));
        long count = t.NumberOfElements;
        if (count == 0) return;
        var flat = t.reshape(-1);
        long chunkElements = ChunkBytes / dtype.ItemSize;
        for (long start = 0; start < count; start += chunkElements)
        {
            using var part = flat.narrow(0, start, Math.Min(chunkElements, count - start));
            WriteData(stream, part.bytes, dtype);
        }
    }

    private static void WriteArray(Stream stream, Array array, NpyDType dtype)
    {
        var shape = new long[array.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = array.GetLongLength(i);
        stream.Write(BuildHeader(dtype.LittleEndianDescr, shape));
        ref byte first = ref MemoryMarshal.GetArrayDataReference(array);
        long total = array.LongLength * dtype.ItemSize;
        for (long offset = 0; offset < total; offset += ChunkBytes)
        {
            int length = (int)Math.Min(ChunkBytes, total - offset);
            WriteData(stream, MemoryMarshal.CreateReadOnlySpan(ref System.Runtime.CompilerServices.Unsafe.Add(ref first, (nint)offset), length), dtype);
        }
    }

    /// <summary>Writes element bytes little-endian, with bools as exactly 0 or 1.</summary>
    private static void WriteData(Stream stream, ReadOnlySpan<byte> bytes, NpyDType dtype)
    {
        bool swap = !BitConverter.IsLittleEndian && dtype.ItemSize > 1;
        if (!swap && dtype != NpyDType.Bool)
        {
            stream.Write(bytes);
            return;
        }
        var copy = bytes.ToArray();
        if (swap) SwapBytes(copy, dtype.ItemSize);
        if (dtype == NpyDType.Bool)
            for (int i = 0; i < copy.Length; i++) copy[i] = copy[i] != 0 ? (byte)1 : (byte)0;
        stream.Write(copy);
    }

    /// <summary>
    /// The magic string, version 1.0, header length and header NumPy writes for a C-ordered array: the dict with sorted
    /// keys and a trailing <c>", "</c>, spare spaces for the first dimension to grow to 21 digits, then spaces and a
    /// newline up to a 64-byte boundary.
    /// </summary>
    internal static byte[] BuildHeader(string descr, IReadOnlyList<long> shape)
    {
        var dict = new StringBuilder()
            .Append("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': ")
            .Append(NpyHeader.FormatShape(shape)).Append(", }");
        if (shape.Count > 0)
            dict.Append(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        int textLength = dict.Length + 1; // with the final newline
        int prefixLength = Magic.Length + 2 + 2;
        int padding = ArrayAlign - (prefixLength + textLength) % ArrayAlign;
        int headerLength = textLength + padding;
        if (headerLength > ushort.MaxValue)
            throw new ArgumentException($"A shape of {shape.Count} dimensions gives a header longer than a version 1.0 .npy header allows.");
        var result = new byte[prefixLength + headerLength];
        Magic.CopyTo(result);
        result[6] = 1;
        result[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)headerLength);
        Encoding.Latin1.GetBytes(dict.ToString(), result.AsSpan(prefixLength));
        result.AsSpan(prefixLength + dict.Length, padding).Fill((byte)' ');
        result[^1] = (byte)'\n';
        return result;
    }
}
