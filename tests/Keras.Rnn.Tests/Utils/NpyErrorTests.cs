using System.Text;
using Keras.Rnn.Saving;
using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Utils.NpyBytes;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Utils;

/// <summary>Every kind of bad input gives a <see cref="NpyFormatException"/> that names the file and the problem.</summary>
public class NpyErrorTests : NpyTestBase
{
    /// <summary>Reads the bytes from a file (tensor, array and header readers) and returns the tensor reader's message.</summary>
    private string AssertRejected(byte[] bytes, params string[] fragments)
    {
        var path = WriteFile("bad.npy", bytes);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains($"'{path}'", e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);

        var a = Assert.Throws<NpyFormatException>(() => Npy.ReadArray(path));
        Assert.Equal(e.Message, a.Message);
        var h = Assert.Throws<NpyFormatException>(() => Npy.ReadHeader(path));
        Assert.Equal(e.Message, h.Message);

        // The same from a stream and from a non-seekable stream, without a file name.
        var s = Assert.Throws<NpyFormatException>(() => Npy.Read(new MemoryStream(bytes)));
        Assert.Null(s.FilePath);
        Assert.Contains("stream", s.Message);
        foreach (var f in fragments) Assert.Contains(f, s.Message);
        Assert.Throws<NpyFormatException>(() => Npy.ReadArray(new NonSeekableStream(new MemoryStream(bytes))));
        return e.Message;
    }

    private static byte[] WithHeader(string dict, byte[]? data = null) => Assemble(Padded(dict), data ?? []);

    [Fact]
    public void Fortran_order_is_rejected_with_the_remedy()
    {
        var message = AssertRejected(Simple("<f4", "(2, 3)", F32(1, 2, 3, 4, 5, 6), fortranOrder: "True"),
            "Fortran", "fortran_order: True", "(2, 3)", "np.ascontiguousarray");
        Assert.Contains("C (row-major) order", message);
    }

    [Fact]
    public void Object_arrays_are_rejected()
    {
        AssertRejected(Simple("|O", "(2,)", new byte[16]), "object array", "'|O'", "pickle");
    }

    [Theory]
    [InlineData("<c8", "complex64")]
    [InlineData("<c16", "complex128")]
    [InlineData("<f2", "float16")]
    [InlineData("<i2", "int16")]
    [InlineData("|i1", "int8")]
    [InlineData("<u4", "uint32")]
    [InlineData("<u8", "uint64")]
    [InlineData("<f16", "float128")]
    [InlineData("<U5", "Unicode string")]
    [InlineData("|S3", "byte string")]
    [InlineData("|V8", "void")]
    [InlineData("<M8[ns]", "datetime64")]
    [InlineData("<m8[s]", "timedelta64")]
    [InlineData("<b2", "bool")]
    [InlineData("float32", "floating point")]
    [InlineData("<x4", "unknown type code")]
    [InlineData("", "empty string")]
    public void Unsupported_dtypes_are_named(string descr, string name)
    {
        AssertRejected(Simple(descr, "(1,)", new byte[64]), name, $"'{descr}'");
        if (descr.Length > 0) AssertRejected(Simple(descr, "(1,)", new byte[64]), "supported dtypes are float32 '<f4'");
    }

    [Fact]
    public void Structured_and_subarray_dtypes_are_rejected()
    {
        AssertRejected(WithHeader("{'descr': [('x', '<f4'), ('y', '<i8')], 'fortran_order': False, 'shape': (2,), }", new byte[24]),
            "structured (record) array", "('x', '<f4')");
        AssertRejected(WithHeader("{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (2,), }", new byte[16]),
            "sub-array dtype");
        AssertRejected(WithHeader("{'descr': 4, 'fortran_order': False, 'shape': (2,), }", new byte[16]),
            "'descr' is 4");
    }

    [Fact]
    public void Bad_magic_strings_are_rejected()
    {
        AssertRejected(Encoding.ASCII.GetBytes("hello, world: not an npy file at all"), "not a NumPy .npy file", "b'hello, w'");
        AssertRejected([0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0], "b'\\x89HDF\\r\\n\\x1a\\n'");
        AssertRejected([(byte)'P', (byte)'K', 3, 4, 20, 0, 0, 0], "zip archive", ".npz");
        AssertRejected([0x93, (byte)'N', (byte)'U', (byte)'M'], "truncated", "4 bytes");
        AssertRejected([], "empty");
        // Case matters: the magic is \x93NUMPY exactly.
        var lower = Simple("<f4", "(1,)", F32(1));
        lower[2] = (byte)'u';
        AssertRejected(lower, "magic string");
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(4, 0)]
    [InlineData(255, 0)]
    public void Unknown_versions_are_rejected(byte major, byte minor)
    {
        var bytes = Simple("<f4", "(1,)", F32(1));
        bytes[6] = major;
        bytes[7] = minor;
        AssertRejected(bytes, $"version is {major}.{minor}", "1.0, 2.0 and 3.0");
    }

    [Fact]
    public void Truncated_headers_are_rejected()
    {
        var full = Simple("<f4", "(3, 4)", F32(new float[12]));
        AssertRejected(full[..9], "header length field");
        AssertRejected(full[..10], "header is truncated", "118 bytes", "only 0 bytes follow");
        AssertRejected(full[..70], "header is truncated", "only 60 bytes follow");
        // A header length pointing past the end of a version 2.0 file, and one beyond any sane header.
        var v2 = Assemble(Padded("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", lengthBytes: 4), F32(1), major: 2);
        BitConverter.GetBytes(5000u).CopyTo(v2, 8);
        AssertRejected(v2, "header is truncated", "5000 bytes");
        BitConverter.GetBytes(uint.MaxValue).CopyTo(v2, 8);
        AssertRejected(v2, "4294967295 bytes", "limit");
    }

    [Theory]
    [InlineData("[1, 2, 3]", "not a dict", "[1, 2, 3]")]
    [InlineData("'descr'", "not a dict")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), ", "not a valid Python literal", "expected")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)} junk", "not a valid Python literal")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3.5,), }", "not a valid Python literal", "integer")]
    [InlineData("{'descr': '<f4', 'fortran_order': false, 'shape': (3,), }", "not a valid Python literal")]
    [InlineData("{'descr': __import__('os').system('ls'), 'fortran_order': False, 'shape': (3,), }", "not a valid Python literal")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } # comment", "not a valid Python literal")]
    [InlineData("{'descr': '<f4 , 'fortran_order': False, 'shape': (3,), }", "not a valid Python literal")]
    [InlineData("{'descr': '''<f4''', 'fortran_order': False, 'shape': (3,), }", "triple-quoted")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", "'extra'", "expected exactly")]
    [InlineData("{'descr': '<f4', 'shape': (3,), }", "expected exactly 'descr', 'fortran_order' and 'shape'")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "expected exactly")]
    [InlineData("{1: '<f4', 'fortran_order': False, 'shape': (3,), }", "string key")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", "'fortran_order' is 0")]
    [InlineData("{'descr': '<f4', 'fortran_order': None, 'shape': (3,), }", "'fortran_order' is None")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", "'shape' is [3]", "not a tuple")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", "'shape' is 3")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "'shape' is 3")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('3',), }", "not a tuple of integers", "dimension 0 is '3'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (True,), }", "not a tuple of integers")]
    [InlineData("", "not a valid Python literal", "the end of the text")]
    public void Malformed_headers_are_rejected(string header, params string[] fragments)
    {
        AssertRejected(WithHeader(header, new byte[64]), fragments);
    }

    [Fact]
    public void Deeply_nested_headers_are_rejected_without_recursing()
    {
        var deep = new string('(', 100_000 - 200) + new string(')', 100);
        var bytes = Assemble(deep, [], major: 2);
        AssertRejected(bytes, "nest deeper than");
        AssertRejected(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((((((((((1,),),),),),),),),),),),),),),),),),),), }"), "nest deeper than");
    }

    [Fact]
    public void Version_3_headers_must_be_UTF8()
    {
        var bytes = Assemble("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", F32(1), major: 3);
        bytes[12 + 12] = 0xff; // inside the header text
        AssertRejected(bytes, "not valid UTF-8");
    }

    [Fact]
    public void Short_data_is_rejected()
    {
        var full = Simple("<f8", "(2, 3)", F64(1, 2, 3, 4, 5, 6));
        AssertRejected(full[..^1], "data is truncated", "(2, 3)", "float64", "needs 48 bytes", "only 47 bytes follow");
        AssertRejected(Simple("<i4", "()", []), "needs 4 bytes", "only 0");
        AssertRejected(Simple("|b1", "(5,)", [1, 0]), "needs 5 bytes", "only 2");
    }

    [Fact]
    public void Negative_dimensions_are_rejected()
    {
        AssertRejected(Simple("<f4", "(-1,)", []), "negative dimension", "-1");
        AssertRejected(Simple("<f4", "(2, -3)", []), "negative dimension", "(2, -3)");
        AssertRejected(Simple("<f4", "(0, -3)", []), "negative dimension");
    }

    [Fact]
    public void Absurd_shapes_are_rejected_before_any_allocation()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        // Overflowing products, a dimension too big for 64 bits, and sizes far beyond the file.
        AssertRejected(Simple("<f8", "(4294967296, 4294967296)", new byte[8]), "2^63 bytes");
        AssertRejected(Simple("<f4", "(0, 4294967296, 4294967296)", []), "2^63 bytes");
        AssertRejected(Simple("<f4", "(99999999999999999999999999,)", new byte[8]), "absurdly large");
        AssertRejected(Simple("<i8", "(1000000000000,)", new byte[8]), "needs 8000000000000 bytes", "only 8 bytes follow");
        AssertRejected(Simple("<f4", "(100000, 100000)", new byte[100]), "needs 40000000000 bytes");
        // Far more than any of these would have allocated.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);

        var tooManyDims = "(" + string.Join(", ", Enumerable.Repeat("1", 65)) + ")";
        AssertRejected(Simple("<f4", tooManyDims, F32(1)), "65 dimensions", "at most 64");
    }

    [Fact]
    public void Arrays_beyond_NET_limits_are_rejected_by_ReadArray_only()
    {
        var dims = "(" + string.Join(", ", Enumerable.Repeat("1", 33)) + ")";
        var path = WriteFile("rank33.npy", Simple("<f4", dims, F32(1)));
        using (var t = Npy.Read(path)) Assert.Equal(33, t.dim());
        var e = Assert.Throws<NpyFormatException>(() => Npy.ReadArray(path));
        Assert.Contains("33 dimensions", e.Message);
        Assert.Contains(path, e.Message);

        var dims64 = "(" + string.Join(", ", Enumerable.Repeat("1", 63)) + ", 2)";
        using (var t = Npy.Read(new MemoryStream(Simple("<f4", dims64, F32(1, 2))))) Assert.Equal(64, t.dim()); // NumPy 2's limit

        var wide = WriteFile("wide.npy", Simple("<f4", "(0, 3000000000)", []));
        using (var t = Npy.Read(wide)) Assert.Equal(new long[] { 0, 3000000000 }, t.shape);
        Assert.Contains("dimension longer than a .NET array", Assert.Throws<NpyFormatException>(() => Npy.ReadArray(wide)).Message);
    }

    [Fact]
    public void Non_seekable_streams_buffer_only_what_arrives()
    {
        // The header claims 400 MB; the stream ends after 8 bytes of data. Only those bytes are ever buffered.
        var bytes = Simple("<f4", "(100000000,)", new byte[8]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(new NonSeekableStream(new MemoryStream(bytes))));
        Assert.Contains("only 8 bytes follow", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);

        var huge = Simple("<f8", "(1000000000000,)", new byte[8]);
        Assert.Contains("non-seekable stream", Assert.Throws<NpyFormatException>(() => Npy.Read(new NonSeekableStream(new MemoryStream(huge)))).Message);
    }

    [Fact]
    public void Unsupported_tensors_and_arrays_are_refused_when_writing()
    {
        var path = PathOf("out.npy");
        using (var half = torch.zeros(2, ScalarType.Float16))
            Assert.Contains("Float16", Assert.Throws<ArgumentException>(() => Npy.Write(path, half)).Message);
        using (var i16 = torch.zeros(2, ScalarType.Int16))
            Assert.Contains("Int16", Assert.Throws<ArgumentException>(() => Npy.Write(new MemoryStream(), i16)).Message);
        using (var complex = torch.zeros(2, ScalarType.ComplexFloat32))
            Assert.Throws<ArgumentException>(() => Npy.Write(path, complex));
        Assert.Contains("jagged", Assert.Throws<ArgumentException>(() => Npy.Write(path, new[] { new[] { 1f }, new[] { 2f } })).Message);
        Assert.Contains("Int16", Assert.Throws<ArgumentException>(() => Npy.Write(path, new short[] { 1 })).Message);
        Assert.Contains("String", Assert.Throws<ArgumentException>(() => Npy.Write(path, new[] { "a" })).Message);
        Assert.Throws<ArgumentException>(() => Npy.Write(new MemoryStream([], writable: false), new[] { 1f }));
        Assert.Throws<DirectoryNotFoundException>(() => Npy.Write(Path.Combine(Folder, "missing", "x.npy"), new[] { 1f }));
        Assert.Empty(Directory.GetFiles(Folder)); // no temporary file was left behind
    }

    [Fact]
    public void A_failed_write_keeps_the_existing_file()
    {
        var path = PathOf("keep.npy");
        Npy.Write(path, new[] { 1.0, 2.0, 3.0 });
        var previous = File.ReadAllBytes(path);

        // Fail like a full disk once the header and part of the data are out.
        AtomicFile.StreamWrapperForTests = s => new FailingStream(s, failAfter: 200);
        using (var big = torch.ones(1000))
            Assert.Contains("simulated", Assert.Throws<IOException>(() => Npy.Write(path, big)).Message);
        Assert.Throws<IOException>(() => Npy.Write(path, new float[1000]));
        AtomicFile.StreamWrapperForTests = null;

        Assert.Equal(previous, File.ReadAllBytes(path));
        Assert.Equal(new[] { "keep.npy" }, Directory.GetFiles(Folder).Select(Path.GetFileName).ToArray());
        Assert.Equal(new[] { 1.0, 2.0, 3.0 }, Npy.ReadArray(path));
    }

    [Fact]
    public void Missing_files_give_the_usual_exception()
    {
        Assert.Throws<FileNotFoundException>(() => Npy.Read(PathOf("nope.npy")));
    }

    /// <summary>Passes writes through until <paramref name="failAfter"/> bytes, then throws.</summary>
    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfter)
            {
                inner.Write(buffer[..(int)(failAfter - _written)]);
                _written = failAfter;
                throw new IOException("No space left on device (simulated).");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}
