using System.Text;
using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Utils.NpyBytes;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Utils;

/// <summary>
/// The reader and writer against independent references: a file NumPy itself wrote (<c>TestData/y_test.npy</c>, see
/// its README) and files assembled by hand, byte by byte, from NumPy's format description (numpy/lib/format.py:
/// magic, version, header length, the header dict with sorted keys and a trailing <c>", "</c>, 21 − len(str(shape[0]))
/// spare spaces for growth (NumPy ≥ 1.24), spaces and <c>\n</c> up to a 64-byte boundary, then the data).
/// </summary>
public class NpyReferenceTests : NpyTestBase
{
    // np.save(path, np.arange(12, dtype=np.float32).reshape(3, 4)): dict of 59 characters, 20 growth spaces
    // (21 - len("3")), then 38 spaces and "\n" so that 10 + 118 = 128 bytes precede the data.
    private static readonly byte[] Arange3x4 = Assemble(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" + Spaces(20 + 38) + "\n",
        F32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));

    // np.save(path, np.float64(2.5)): a scalar has shape () and no growth spaces; 55 + 62 spaces + "\n" = 118.
    private static readonly byte[] Scalar2p5 = Assemble(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" + Spaces(62) + "\n",
        F64(2.5));

    // np.save(path, np.array([True, False, True])): one-byte dtypes use '|'; 1-D shapes are written "(3,)".
    private static readonly byte[] Bools3 = Assemble(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }" + Spaces(20 + 40) + "\n",
        [1, 0, 1]);

    // np.save(path, np.zeros((0,), dtype=np.int64)): an empty array is a header and no data.
    private static readonly byte[] EmptyInt64 = Assemble(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }" + Spaces(20 + 40) + "\n",
        []);

    // A 15-D float32 array of shape (2, 1, ..., 1) = [1.5, -2]: the dict has 98 characters, so the 20 growth spaces
    // push the header past 128 bytes: 98 + 20 + 1 = 119, padded with 63 more spaces to 182, and 10 + 182 = 192.
    private static readonly long[] Shape15 = [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    private static readonly byte[] Rank15 = Assemble(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }" +
        Spaces(20 + 63) + "\n",
        F32(1.5f, -2f));

    private static byte[] Written(Tensor t)
    {
        using var s = new MemoryStream();
        Npy.Write(s, t);
        return s.ToArray();
    }

    private static byte[] Written(Array a)
    {
        using var s = new MemoryStream();
        Npy.Write(s, a);
        return s.ToArray();
    }

    [Fact]
    public void Reference_files_are_64_byte_aligned_as_NumPy_writes_them()
    {
        // A check of the hand-assembled references themselves: data offsets 128 and 192.
        Assert.Equal(128 + 48, Arange3x4.Length);
        Assert.Equal(128 + 8, Scalar2p5.Length);
        Assert.Equal(128 + 3, Bools3.Length);
        Assert.Equal(128, EmptyInt64.Length);
        Assert.Equal(192 + 8, Rank15.Length);
    }

    [Fact]
    public void Writer_produces_NumPys_bytes_exactly()
    {
        using (var t = torch.arange(12, dtype: ScalarType.Float32).reshape(3, 4)) Assert.Equal(Arange3x4, Written(t));
        using (var t = torch.tensor(2.5, dtype: ScalarType.Float64)) Assert.Equal(Scalar2p5, Written(t));
        using (var t = torch.tensor(new[] { true, false, true })) Assert.Equal(Bools3, Written(t));
        using (var t = torch.zeros(0, dtype: ScalarType.Int64)) Assert.Equal(EmptyInt64, Written(t));
        using (var t = torch.tensor(new[] { 1.5f, -2f }).reshape(Shape15)) Assert.Equal(Rank15, Written(t));

        // The same files from .NET arrays.
        Assert.Equal(Arange3x4, Written(new float[,] { { 0, 1, 2, 3 }, { 4, 5, 6, 7 }, { 8, 9, 10, 11 } }));
        Assert.Equal(Bools3, Written((Array)new[] { true, false, true }));
        Assert.Equal(EmptyInt64, Written((Array)Array.Empty<long>()));
    }

    [Fact]
    public void Reader_decodes_the_reference_files()
    {
        using (var t = Npy.Read(new MemoryStream(Arange3x4)))
        {
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(new long[] { 3, 4 }, t.shape);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), t.data<float>().ToArray());
        }
        using (var t = Npy.Read(new MemoryStream(Scalar2p5)))
        {
            Assert.Equal(ScalarType.Float64, t.dtype); // float64 stays float64
            Assert.Empty(t.shape);
            Assert.Equal(2.5, t.item<double>());
        }
        using (var t = Npy.Read(new MemoryStream(Bools3)))
        {
            Assert.Equal(ScalarType.Bool, t.dtype);
            Assert.Equal(new[] { true, false, true }, t.data<bool>().ToArray());
        }
        using (var t = Npy.Read(new MemoryStream(EmptyInt64)))
        {
            Assert.Equal(ScalarType.Int64, t.dtype);
            Assert.Equal(new long[] { 0 }, t.shape);
        }
        using (var t = Npy.Read(new MemoryStream(Rank15)))
        {
            Assert.Equal(Shape15, t.shape);
            Assert.Equal(new[] { 1.5f, -2f }, t.data<float>().ToArray());
        }

        var matrix = Assert.IsType<float[,]>(Npy.ReadArray(new MemoryStream(Arange3x4)));
        Assert.Equal(3, matrix.GetLength(0));
        Assert.Equal(4, matrix.GetLength(1));
        Assert.Equal(6f, matrix[1, 2]);
        Assert.Equal(new[] { 2.5 }, Assert.IsType<double[]>(Npy.ReadArray(new MemoryStream(Scalar2p5))));
        Assert.Equal(new[] { true, false, true }, Assert.IsType<bool[]>(Npy.ReadArray(new MemoryStream(Bools3))));
        Assert.Empty(Assert.IsType<long[]>(Npy.ReadArray(new MemoryStream(EmptyInt64))));
    }

    [Fact]
    public void Reads_the_NumPy_written_y_test_file()
    {
        var path = TestDataPath("y_test.npy");
        var header = Npy.ReadHeader(path);
        Assert.Equal(new Version(1, 0), header.FormatVersion);
        Assert.Equal("<f4", header.Descr);
        Assert.Equal(new long[] { 200, 2 }, header.Shape);
        Assert.Equal(128, header.DataOffset);
        Assert.Equal(1600, header.DataLength);
        Assert.False(header.IsBigEndian);
        Assert.Equal("float32 (200, 2)", header.ToString());

        using var y = Npy.Read(path);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.Equal(new long[] { 200, 2 }, y.shape);
        // Values stated in TestData/README.md (read from the raw bytes with Python's struct module).
        var flat = y.data<float>().ToArray();
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1 }, flat[..16]);
        Assert.All(Enumerable.Range(0, 200), r => Assert.Equal(1f, flat[2 * r] + flat[2 * r + 1]));
        Assert.Equal(134f, Enumerable.Range(0, 200).Sum(r => flat[2 * r + 1]));

        var array = Assert.IsType<float[,]>(Npy.ReadArray(path));
        Assert.Equal(1f, array[3, 0]);
        Assert.Equal(1f, array[199, 1]);
    }

    [Fact]
    public void Writing_what_was_read_reproduces_the_NumPy_file_byte_for_byte()
    {
        // y_test.npy's 118-byte header is what NumPy writes for (200, 2) float32 with or without the growth spaces,
        // so our writer must give the very same 1,728 bytes.
        var original = File.ReadAllBytes(TestDataPath("y_test.npy"));
        using var y = Npy.Read(TestDataPath("y_test.npy"));
        var path = PathOf("y_copy.npy");
        Npy.Write(path, y);
        Assert.Equal(original, File.ReadAllBytes(path));
        Npy.Write(path, Npy.ReadArray(TestDataPath("y_test.npy")));
        Assert.Equal(original, File.ReadAllBytes(path));
    }

    [Fact]
    public void Reads_headers_of_older_NumPy_and_Python_2()
    {
        // NumPy before 1.14 padded to 16 bytes; Python 2 wrote long integers with an 'L' suffix; keys in any order;
        // a version 1.0 header may be any Python literal layout (double quotes, no trailing comma, extra spaces).
        var old = Assemble(Padded("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", align: 16), I64(1, 2, 3, 4, 5));
        Assert.Equal(80, old.Length - 40);
        using (var t = Npy.Read(new MemoryStream(old)))
            Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, t.data<long>().ToArray());

        var py2 = Assemble(Padded("{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 1L), }"), I32(7, -8));
        using (var t = Npy.Read(new MemoryStream(py2)))
        {
            Assert.Equal(ScalarType.Int32, t.dtype);
            Assert.Equal(new long[] { 2, 1 }, t.shape);
            Assert.Equal(new[] { 7, -8 }, t.data<int>().ToArray());
        }

        var unusual = Assemble(Padded("{ \"shape\" : ( 2 , ) ,\"fortran_order\":False,'descr':u'<f8'}"), F64(-0.5, 1e300));
        Assert.Equal(new[] { -0.5, 1e300 }, Assert.IsType<double[]>(Npy.ReadArray(new MemoryStream(unusual))));
    }

    [Fact]
    public void Reads_format_versions_2_and_3()
    {
        // Version 2.0: a 4-byte header length; version 3.0: the same with a UTF-8 header.
        var v2 = Assemble(Padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", lengthBytes: 4), F32(1, 2), major: 2);
        var v3 = Assemble(Padded("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", lengthBytes: 4), I64(-9), major: 3);
        Assert.Equal(new Version(2, 0), Npy.ReadHeader(new MemoryStream(v2)).FormatVersion);
        Assert.Equal(new Version(3, 0), Npy.ReadHeader(new MemoryStream(v3)).FormatVersion);
        Assert.Equal(0, (8 + 4 + Padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", lengthBytes: 4).Length) % 64);
        using (var t = Npy.Read(new MemoryStream(v2))) Assert.Equal(new[] { 1f, 2f }, t.data<float>().ToArray());
        using (var t = Npy.Read(new MemoryStream(v3))) Assert.Equal(new[] { -9L }, t.data<long>().ToArray());
    }

    [Fact]
    public void Byte_swaps_big_endian_data()
    {
        // What np.save writes for x.astype('>f4') and friends: the header names '>' and the bytes are big-endian.
        var f4 = Simple(">f4", "(2, 2)", BigF32(1.5f, -2.25f, 3e-38f, float.MaxValue));
        var f8 = Simple(">f8", "(3,)", BigF64(Math.PI, -1e-300, double.NegativeInfinity));
        var i4 = Simple(">i4", "(2,)", BigI32(0x01020304, -2));
        var i8 = Simple(">i8", "()", BigI64(long.MinValue + 5));
        var u1 = Simple(">u1", "(3,)", [0, 128, 255]); // byte order is meaningless for one byte
        var b1 = Simple(">b1", "(2,)", [1, 0]);

        Assert.True(Npy.ReadHeader(new MemoryStream(f4)).IsBigEndian);
        using (var t = Npy.Read(new MemoryStream(f4)))
            Assert.Equal(new[] { 1.5f, -2.25f, 3e-38f, float.MaxValue }, t.data<float>().ToArray());
        using (var t = Npy.Read(new MemoryStream(f8)))
            Assert.Equal(new[] { Math.PI, -1e-300, double.NegativeInfinity }, t.data<double>().ToArray());
        using (var t = Npy.Read(new MemoryStream(i4)))
            Assert.Equal(new[] { 0x01020304, -2 }, t.data<int>().ToArray());
        using (var t = Npy.Read(new MemoryStream(i8)))
            Assert.Equal(long.MinValue + 5, t.item<long>());
        using (var t = Npy.Read(new MemoryStream(u1)))
        {
            Assert.Equal(ScalarType.Byte, t.dtype);
            Assert.Equal(new byte[] { 0, 128, 255 }, t.data<byte>().ToArray());
        }
        using (var t = Npy.Read(new MemoryStream(b1))) Assert.Equal(new[] { true, false }, t.data<bool>().ToArray());

        var arrayF4 = Assert.IsType<float[,]>(Npy.ReadArray(new MemoryStream(f4)));
        Assert.Equal(float.MaxValue, arrayF4[1, 1]);
        Assert.Equal(new[] { 0x01020304, -2 }, Assert.IsType<int[]>(Npy.ReadArray(new MemoryStream(i4))));
        Assert.Equal(new[] { long.MinValue + 5 }, Assert.IsType<long[]>(Npy.ReadArray(new MemoryStream(i8))));
    }

    [Fact]
    public void Native_and_not_applicable_byte_orders_read_as_little_endian()
    {
        using (var t = Npy.Read(new MemoryStream(Simple("=i4", "(1,)", I32(42))))) Assert.Equal(42, t.item<int>());
        using (var t = Npy.Read(new MemoryStream(Simple("f8", "(1,)", F64(0.25))))) Assert.Equal(0.25, t.item<double>());
        using (var t = Npy.Read(new MemoryStream(Simple("?", "(1,)", [1])))) Assert.True(t.item<bool>());
    }

    [Fact]
    public void Bool_bytes_other_than_0_and_1_read_as_true()
    {
        var bytes = Simple("|b1", "(4,)", [0, 1, 2, 255]);
        using (var t = Npy.Read(new MemoryStream(bytes))) Assert.Equal(new[] { false, true, true, true }, t.data<bool>().ToArray());
        var array = Assert.IsType<bool[]>(Npy.ReadArray(new MemoryStream(bytes)));
        Assert.Equal(new[] { false, true, true, true }, array);
        // and they are canonical .NET bools (byte 1), which compare equal to true
        Assert.True(array[2] == true && array[3].Equals(true));
    }

    [Fact]
    public void Fortran_order_is_accepted_where_it_is_the_same_bytes_as_C_order()
    {
        // NumPy flags a 1-D or (n, 1) array as both C- and Fortran-contiguous; the bytes are the same either way.
        using (var t = Npy.Read(new MemoryStream(Simple("<f4", "(3,)", F32(1, 2, 3), fortranOrder: "True"))))
            Assert.Equal(new[] { 1f, 2f, 3f }, t.data<float>().ToArray());
        using (var t = Npy.Read(new MemoryStream(Simple("<i8", "(1, 2, 1)", I64(4, 5), fortranOrder: "True"))))
            Assert.Equal(new[] { 4L, 5L }, t.data<long>().ToArray());
        using (var t = Npy.Read(new MemoryStream(Simple("<i8", "(0, 3)", [], fortranOrder: "True"))))
            Assert.Equal(new long[] { 0, 3 }, t.shape);
    }

    [Fact]
    public void Trailing_bytes_are_ignored_and_consecutive_arrays_read_in_turn()
    {
        var stream = new MemoryStream(Arange3x4.Concat(Bools3).Concat(Encoding.ASCII.GetBytes("tail")).ToArray());
        using (var a = Npy.Read(stream)) Assert.Equal(new long[] { 3, 4 }, a.shape);
        Assert.Equal(Arange3x4.Length, stream.Position);
        using (var b = Npy.Read(stream)) Assert.Equal(new[] { true, false, true }, b.data<bool>().ToArray());
    }

    [Fact]
    public void Reads_from_non_seekable_streams()
    {
        using (var t = Npy.Read(new NonSeekableStream(new MemoryStream(Arange3x4))))
            Assert.Equal(11f, t.data<float>()[11]);
        var array = Assert.IsType<float[,]>(Npy.ReadArray(new NonSeekableStream(new MemoryStream(Arange3x4))));
        Assert.Equal(11f, array[2, 3]);
        Assert.Equal(new long[] { 3, 4 }, Npy.ReadHeader(new NonSeekableStream(new MemoryStream(Arange3x4))).Shape);
    }
}
