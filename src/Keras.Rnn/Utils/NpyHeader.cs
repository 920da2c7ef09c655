using System.Globalization;
using TorchSharp;

namespace Keras.Rnn.Utils;

/// <summary>
/// What the header of a NumPy <c>.npy</c> file says: format version, dtype, shape and where the data starts.
/// Returned by <see cref="Npy.ReadHeader(string)"/>, which reads only the header, so a caller can check a large file's
/// shape and dtype before loading it.
/// </summary>
public sealed class NpyHeader
{
    internal NpyHeader(Version formatVersion, string descr, NpyDType dtype, bool isBigEndian, bool fortranOrder,
        long[] shape, long elementCount, long dataOffset)
    {
        FormatVersion = formatVersion;
        Descr = descr;
        DTypeInfo = dtype;
        IsBigEndian = isBigEndian;
        FortranOrder = fortranOrder;
        ShapeArray = shape;
        Shape = Array.AsReadOnly(shape);
        ElementCount = elementCount;
        DataOffset = dataOffset;
    }

    internal NpyDType DTypeInfo { get; }

    internal long[] ShapeArray { get; }

    /// <summary>The <c>.npy</c> format version: 1.0, 2.0 or 3.0.</summary>
    public Version FormatVersion { get; }

    /// <summary>The dtype string as written in the file, e.g. <c>&lt;f4</c> or <c>&gt;i8</c>.</summary>
    public string Descr { get; }

    /// <summary>NumPy's name of the dtype: <c>float32</c>, <c>float64</c>, <c>int32</c>, <c>int64</c>, <c>uint8</c> or <c>bool</c>.</summary>
    public string DTypeName => DTypeInfo.Name;

    /// <summary>The TorchSharp dtype <see cref="Npy.Read(string)"/> returns (<c>float64</c> stays <c>Float64</c>).</summary>
    public torch.ScalarType DType => DTypeInfo.TorchType;

    /// <summary>The .NET element type <see cref="Npy.ReadArray(string)"/> returns: float, double, int, long, byte or bool.</summary>
    public Type ElementType => DTypeInfo.ClrType;

    /// <summary>The size of one element in bytes.</summary>
    public int ItemSize => DTypeInfo.ItemSize;

    /// <summary>Whether the file stores multi-byte elements big-endian (they are byte-swapped on reading).</summary>
    public bool IsBigEndian { get; }

    /// <summary>
    /// The file's <c>fortran_order</c> flag. Always <c>false</c> except for arrays whose Fortran and C layouts are the
    /// same bytes (at most one dimension longer than 1); other Fortran-ordered files are rejected.
    /// </summary>
    public bool FortranOrder { get; }

    /// <summary>The array's shape; empty for a scalar (NumPy shape <c>()</c>).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The number of data bytes: <see cref="ElementCount"/> × <see cref="ItemSize"/>.</summary>
    public long DataLength => ElementCount * ItemSize;

    /// <summary>The offset of the first data byte from the start of the <c>.npy</c> content (magic string and header length).</summary>
    public long DataOffset { get; }

    /// <summary>The shape written like NumPy's tuple, e.g. <c>(200, 905, 1)</c>, <c>(5,)</c> or <c>()</c>.</summary>
    public string ShapeText => FormatShape(ShapeArray);

    /// <summary>A summary such as <c>float32 (200, 905, 1)</c>.</summary>
    public override string ToString() => $"{DTypeName} {ShapeText}";

    /// <summary>Python's <c>repr</c> of a shape tuple: <c>()</c>, <c>(5,)</c>, <c>(3, 4)</c>.</summary>
    internal static string FormatShape(IReadOnlyList<long> shape) => shape.Count switch
    {
        0 => "()",
        1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
        _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
    };
}
