using System.Globalization;
using PureHDF;
using PureHDF.VOL.Native;

namespace Keras.Rnn.Saving.Legacy;

/// <summary>One weight array read from a legacy file: its name in the file (or how it was assembled), shape and values.</summary>
/// <param name="Name">The entry of <c>weight_names</c> it came from, or a description of a converted array.</param>
/// <param name="Shape">The shape (empty for a scalar).</param>
/// <param name="Data">The values in C order.</param>
internal sealed record LegacyArray(string Name, long[] Shape, float[] Data)
{
    /// <summary>The shape as Keras prints it, e.g. <c>(50, 200)</c>.</summary>
    public string ShapeText => Keras.Rnn.Shape.Of(Shape).ToString();
}

/// <summary>
/// Reading primitives for legacy Keras HDF5 files (Keras 1, Keras 2, tf.keras and Keras 3's <c>legacy_h5_format</c>),
/// written for untrusted input: every attribute and dataset is checked (class, rank, declared size) before it is read,
/// so a corrupted or hostile file gives a <see cref="KerasFileException"/> rather than a huge allocation.
/// </summary>
internal static class LegacyH5Format
{
    /// <summary>Most names one <c>layer_names</c> / <c>weight_names</c> attribute may list.</summary>
    internal const int MaxNames = 1 << 20;

    /// <summary>Most bytes a fixed-length string attribute may declare.</summary>
    internal const long MaxAttributeBytes = 256L << 20;

    /// <summary>Most chunks (<c>layer_names0</c>, <c>layer_names1</c>, ...) Keras' split attributes are followed through.</summary>
    private const int MaxAttributeChunks = 100_000;

    /// <summary>Most dimensions a weight dataset may have.</summary>
    private const int MaxRank = 32;

    /// <summary>Opens <paramref name="path"/> as HDF5; anything that is not readable HDF5 becomes a <see cref="KerasFileException"/>.</summary>
    public static NativeFile Open(string path, out Stream stream)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Cannot load '{path}': the file does not exist.", path);
        try
        {
            // PureHDF recurses through links without cycle checks: bound its stack and reading, and refuse soft or
            // external links before it sees the file (as for Keras 3 weight files).
            stream = new GuardedReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new KerasFileException(path, $"Cannot open the legacy Keras HDF5 file '{path}': {e.Message}", e);
        }
        try
        {
            if (H5StructureCheck.Problem(stream) is { } problem)
                throw new KerasFileException(path, $"'{path}' is not a readable Keras HDF5 file: {problem}");
            return H5File.Open(stream, leaveOpen: true);
        }
        catch (Exception e)
        {
            stream.Dispose();
            if (e is KerasFileException) throw;
            throw Corrupt(path, e);
        }
    }

    /// <summary>The exception for a file PureHDF could not parse.</summary>
    public static KerasFileException Corrupt(string path, Exception e) =>
        new(path, $"'{path}' is not a readable legacy Keras HDF5 file (not HDF5, truncated or corrupted): {e.GetType().Name}: {FirstLine(e.Message)}", e);

    private static string FirstLine(string message)
    {
        var i = message.IndexOf('\n');
        return i < 0 ? message : message[..i];
    }

    /// <summary>Whether the object has the attribute <paramref name="name"/> or Keras' chunked form of it (<c>name0</c>).</summary>
    public static bool HasStringList(IH5Object obj, string name) => obj.AttributeExists(name) || obj.AttributeExists(name + "0");

    /// <summary>
    /// A list-of-strings attribute as Keras reads it (<c>load_attributes_from_hdf5_group</c>): <paramref name="name"/>
    /// itself, or the chunks <c>name0</c>, <c>name1</c>... Keras splits large lists into; an absent attribute is an
    /// empty list, as is an empty array of any type (h5py stores <c>[]</c> as an empty float64 array).
    /// </summary>
    public static List<string> ReadStringList(IH5Object obj, string name, string where, string path)
    {
        if (obj.AttributeExists(name)) return ReadStrings(obj.Attribute(name), $"attribute '{name}' of {where}", path, MaxNames);
        var result = new List<string>();
        for (int chunk = 0; chunk < MaxAttributeChunks; chunk++)
        {
            var chunkName = name + chunk.ToString(CultureInfo.InvariantCulture);
            if (!obj.AttributeExists(chunkName)) return result;
            result.AddRange(ReadStrings(obj.Attribute(chunkName), $"attribute '{chunkName}' of {where}", path, MaxNames - result.Count));
        }
        throw new KerasFileException(path, $"The attribute '{name}' of {where} in '{path}' is split into more than {MaxAttributeChunks} chunks.");
    }

    /// <summary>A string attribute (scalar), or <c>null</c> when absent. Fixed-length strings lose their NUL padding.</summary>
    public static string? ReadString(IH5Object obj, string name, string where, string path)
    {
        if (!obj.AttributeExists(name)) return null;
        var values = ReadStrings(obj.Attribute(name), $"attribute '{name}' of {where}", path, 1);
        return values.Count == 0 ? null : values[0];
    }

    private static List<string> ReadStrings(IH5Attribute attribute, string what, string path, int maxCount)
    {
        var space = attribute.Space;
        if (space.Type == H5DataspaceType.Null) return [];
        ulong count = 1;
        if (space.Type == H5DataspaceType.Simple)
        {
            if (space.Dimensions.Length > MaxRank)
                throw new KerasFileException(path, $"The {what} in '{path}' has {space.Dimensions.Length} dimensions; expected a list of strings.");
            foreach (var d in space.Dimensions)
            {
                count = d == 0 ? 0 : count > (ulong)MaxNames || d > (ulong)MaxNames ? ulong.MaxValue : count * d;
                if (count == 0) break;
            }
        }
        if (count == 0) return [];
        if (count > (ulong)maxCount)
            throw new KerasFileException(path, $"The {what} in '{path}' declares {count} strings; at most {maxCount} are accepted.");
        var type = attribute.Type;
        bool isString = type.Class == H5DataTypeClass.String
            || (type.Class == H5DataTypeClass.VariableLength && IsCharacter(type.VariableLength.BaseType));
        if (!isString)
            throw new KerasFileException(path, $"The {what} in '{path}' holds {DescribeType(type)} data; expected strings.");
        if (type.Class == H5DataTypeClass.String && (double)type.Size * count > MaxAttributeBytes)
            throw new KerasFileException(path, $"The {what} in '{path}' declares {(double)type.Size * count:0} bytes of text; refusing to read it.");
        string?[] values = space.Type == H5DataspaceType.Scalar ? [attribute.Read<string>()] : attribute.Read<string[]>();
        return values.Select(v => (v ?? "").TrimEnd('\0')).ToList();
    }

    // A variable-length string's base type is one-byte characters.
    private static bool IsCharacter(IH5DataType? baseType) =>
        baseType is null || baseType.Class == H5DataTypeClass.String || (baseType.Class == H5DataTypeClass.FixedPoint && baseType.Size == 1);

    /// <summary>A readable description of an HDF5 data type for messages.</summary>
    public static string DescribeType(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FixedPoint => $"integer ({type.Size * 8}-bit)",
        H5DataTypeClass.FloatingPoint => $"floating-point ({type.Size * 8}-bit)",
        H5DataTypeClass.String => "string",
        H5DataTypeClass.VariableLength => "variable-length",
        _ => type.Class.ToString().ToLowerInvariant(),
    };

    /// <summary>The shape of a dataset as declared, or the reason it cannot hold weights.</summary>
    public static (long[]? Shape, string? Reason) DeclaredShape(IH5Dataset dataset, string datasetPath)
    {
        var space = dataset.Space;
        if (space.Type == H5DataspaceType.Scalar) return ([], null);
        if (space.Type != H5DataspaceType.Simple)
            return (null, $"dataset '{datasetPath}' has no data (null dataspace)");
        var dims = space.Dimensions;
        if (dims.Length > MaxRank) return (null, $"dataset '{datasetPath}' declares {dims.Length} dimensions");
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] > int.MaxValue) return (null, $"dataset '{datasetPath}' declares a dimension of {dims[i]}");
            shape[i] = (long)dims[i];
        }
        return (shape, null);
    }

    /// <summary>Number of elements of a shape, as a double (cannot overflow).</summary>
    public static double ElementCount(long[] shape) => shape.Aggregate(1.0, (a, b) => a * b);

    /// <summary>
    /// Reads a numeric dataset whose declared shape was already accepted by the caller, as float32 values in C order
    /// (float64, float16 and integers are converted). Returns the reason when the data type or layout is unusable.
    /// </summary>
    public static (float[]? Data, string? Reason) ReadNumeric(IH5Dataset dataset, long[] shape, string datasetPath)
    {
        var type = dataset.Type;
        bool isFloat = type.Class == H5DataTypeClass.FloatingPoint && type.Size is 2 or 4 or 8;
        bool isInt = type.Class == H5DataTypeClass.FixedPoint && type.Size is 1 or 2 or 4 or 8;
        if (!isFloat && !isInt)
            return (null, $"dataset '{datasetPath}' holds {DescribeType(type)} data; weights must be numbers");
        double count = ElementCount(shape);
        if (count > int.MaxValue) return (null, $"dataset '{datasetPath}' declares {count:0} values");
        if (dataset.Layout.Class == H5DataLayoutClass.Chunked)
        {
            // Each chunk is allocated whole when read: refuse chunk shapes far beyond the data.
            double chunkElements = dataset.Layout.Chunks.Aggregate(1.0, (a, b) => a * b);
            if (chunkElements > Math.Max(8.0 * count, 1 << 24))
                return (null, $"dataset '{datasetPath}' declares chunks of {chunkElements:0} elements for {count:0} values; refusing to read it");
        }
        float[] data;
        if (isFloat)
        {
            data = type.Size switch
            {
                4 => dataset.Read<float[]>(),
                8 => Array.ConvertAll(dataset.Read<double[]>(), d => (float)d),
                _ => Array.ConvertAll(dataset.Read<Half[]>(), h => (float)h),
            };
        }
        else
        {
            bool signed = type.FixedPoint.IsSigned;
            data = (type.Size, signed) switch
            {
                (8, true) => Array.ConvertAll(dataset.Read<long[]>(), v => (float)v),
                (8, false) => Array.ConvertAll(dataset.Read<ulong[]>(), v => (float)v),
                (4, true) => Array.ConvertAll(dataset.Read<int[]>(), v => (float)v),
                (4, false) => Array.ConvertAll(dataset.Read<uint[]>(), v => (float)v),
                (2, true) => Array.ConvertAll(dataset.Read<short[]>(), v => (float)v),
                (2, false) => Array.ConvertAll(dataset.Read<ushort[]>(), v => (float)v),
                (1, true) => Array.ConvertAll(dataset.Read<sbyte[]>(), v => (float)v),
                _ => Array.ConvertAll(dataset.Read<byte[]>(), v => (float)v),
            };
        }
        if (data.Length != (long)count)
            return (null, $"dataset '{datasetPath}' yielded {data.Length} values for its declared shape of {count:0}");
        return (data, null);
    }
}
