using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Utils;

/// <summary>Write then read back: every supported dtype at ranks 0 to 4, empty arrays, tensors and .NET arrays, files and streams.</summary>
public class NpyRoundTripTests : NpyTestBase
{
    private static readonly long[][] Shapes = [[], [5], [3, 4], [2, 3, 4], [2, 1, 3, 2]];

    private static readonly ScalarType[] DTypes =
        [ScalarType.Float32, ScalarType.Float64, ScalarType.Int32, ScalarType.Int64, ScalarType.Byte, ScalarType.Bool];

    public static IEnumerable<object[]> DTypeAndRank() =>
        from d in DTypes from rank in Enumerable.Range(0, 5) select new object[] { d, rank };

    /// <summary>Random values spanning each dtype's range (extremes included where the dtype allows).</summary>
    private static Tensor Sample(ScalarType dtype, long[] shape, int seed)
    {
        var g = new torch.Generator((ulong)seed);
        return dtype switch
        {
            ScalarType.Float32 => torch.randn(shape, ScalarType.Float32, generator: g) * 1e3f,
            ScalarType.Float64 => torch.randn(shape, ScalarType.Float64, generator: g) * 1e200,
            ScalarType.Int32 => torch.randint(int.MinValue, int.MaxValue, shape, ScalarType.Int32, generator: g),
            ScalarType.Int64 => torch.randint(long.MinValue / 2, long.MaxValue / 2, shape, ScalarType.Int64, generator: g) * 2,
            ScalarType.Byte => torch.randint(0, 256, shape, ScalarType.Byte, generator: g),
            ScalarType.Bool => torch.rand(shape, generator: g) > 0.5,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    private static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(expected.Equals(actual), "values differ");
    }

    /// <summary>The tensor's values in C order as a .NET array of its element type.</summary>
    private static Array Values(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => t.data<float>().ToArray(),
        ScalarType.Float64 => t.data<double>().ToArray(),
        ScalarType.Int32 => t.data<int>().ToArray(),
        ScalarType.Int64 => t.data<long>().ToArray(),
        ScalarType.Byte => t.data<byte>().ToArray(),
        ScalarType.Bool => t.data<bool>().ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    private static object[] Flatten(Array a) => a.Cast<object>().ToArray();

    [Theory]
    [MemberData(nameof(DTypeAndRank))]
    public void Tensor_round_trips_through_a_stream(ScalarType dtype, int rank)
    {
        using var scope = torch.NewDisposeScope();
        var shape = Shapes[rank];
        var original = Sample(dtype, shape, seed: 10 * rank + (int)dtype);
        var stream = new MemoryStream();
        Npy.Write(stream, original);
        stream.Position = 0;
        var back = Npy.Read(stream);
        AssertSame(original, back);
        Assert.Equal(stream.Length, stream.Position);

        // The same bytes as a .NET array of the file's rank (a scalar becomes a one-element vector).
        stream.Position = 0;
        var array = Npy.ReadArray(stream);
        Assert.Equal(Math.Max(1, rank), array.Rank);
        Assert.Equal(Values(original).GetType().GetElementType(), array.GetType().GetElementType());
        for (int i = 0; i < rank; i++) Assert.Equal(shape[i], array.GetLength(i));
        Assert.Equal(Flatten(Values(original)), Flatten(array));
    }

    [Theory]
    [MemberData(nameof(DTypeAndRank))]
    public void Array_round_trips_through_a_file(ScalarType dtype, int rank)
    {
        if (rank == 0) return; // .NET has no 0-dimensional arrays; scalars are covered by the tensor test
        using var scope = torch.NewDisposeScope();
        var shape = Shapes[rank];
        var values = Values(Sample(dtype, shape, seed: 100 + 10 * rank + (int)dtype));
        var array = Array.CreateInstance(values.GetType().GetElementType()!, shape.Select(d => (int)d).ToArray());
        Buffer.BlockCopy(values, 0, array, 0, Buffer.ByteLength(values));

        var path = PathOf($"a_{dtype}_{rank}.npy");
        Npy.Write(path, array);
        var back = Npy.ReadArray(path);
        Assert.Equal(array.GetType(), back.GetType());
        for (int i = 0; i < rank; i++) Assert.Equal(array.GetLength(i), back.GetLength(i));
        Assert.Equal(Flatten(array), Flatten(back));

        var tensor = Npy.Read(path);
        Assert.Equal(dtype, tensor.dtype);
        Assert.Equal(shape, tensor.shape);
        Assert.Equal(Flatten(values), Flatten(Values(tensor)));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Bool)]
    public void Empty_arrays_round_trip(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var shape in new long[][] { [0], [2, 0, 3], [0, 0] })
        {
            var path = PathOf("empty.npy");
            Npy.Write(path, torch.empty(shape, dtype));
            var back = Npy.Read(path);
            Assert.Equal(dtype, back.dtype);
            Assert.Equal(shape, back.shape);
            var array = Npy.ReadArray(path);
            Assert.Equal(shape.Length, array.Rank);
            Assert.Empty(array);
            Assert.Equal(shape, Npy.ReadHeader(path).Shape);
        }
    }

    [Fact]
    public void Special_float_values_survive()
    {
        using var scope = torch.NewDisposeScope();
        var f = torch.tensor(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MinValue });
        var path = PathOf("special.npy");
        Npy.Write(path, f);
        var back = Npy.Read(path).data<float>().ToArray();
        var bits = back.Select(BitConverter.SingleToInt32Bits).ToArray();
        Assert.Equal(f.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray(), bits); // -0 and NaN bit patterns too
    }

    [Fact]
    public void Non_contiguous_and_grad_tracking_tensors_are_written_in_C_order()
    {
        using var scope = torch.NewDisposeScope();
        var m = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        var transposed = m.t(); // (3, 2) view, not contiguous
        Assert.False(transposed.is_contiguous());
        var path = PathOf("t.npy");
        Npy.Write(path, transposed);
        var back = Npy.Read(path);
        Assert.Equal(new long[] { 3, 2 }, back.shape);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, back.data<float>().ToArray());

        var weights = torch.ones(2, 2, requires_grad: true);
        Npy.Write(path, weights);
        var w = Npy.Read(path);
        Assert.False(w.requires_grad);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, w.data<float>().ToArray());
    }

    [Fact]
    public void Writing_replaces_an_existing_file()
    {
        using var scope = torch.NewDisposeScope();
        var path = PathOf("x.npy");
        Npy.Write(path, torch.zeros(100));
        Npy.Write(path, new[] { 7L });
        Assert.Equal(new[] { 7L }, Npy.ReadArray(path));
        Assert.Equal(new[] { "x.npy" }, Directory.GetFiles(Folder).Select(Path.GetFileName).ToArray());
    }

    [Fact]
    public void Header_reports_shape_dtype_and_offsets()
    {
        using var scope = torch.NewDisposeScope();
        var path = PathOf("h.npy");
        Npy.Write(path, torch.zeros(new long[] { 4, 5 }, ScalarType.Int32));
        var h = Npy.ReadHeader(path);
        Assert.Equal("int32", h.DTypeName);
        Assert.Equal(ScalarType.Int32, h.DType);
        Assert.Equal(typeof(int), h.ElementType);
        Assert.Equal(4, h.ItemSize);
        Assert.Equal(20, h.ElementCount);
        Assert.Equal(80, h.DataLength);
        Assert.Equal(128, h.DataOffset);
        Assert.Equal(h.DataOffset + h.DataLength, new FileInfo(path).Length);
        Assert.Equal("(4, 5)", h.ShapeText);
        Assert.False(h.FortranOrder);
    }
}
