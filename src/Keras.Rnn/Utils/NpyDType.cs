using System.Globalization;
using TorchSharp;

namespace Keras.Rnn.Utils;

/// <summary>
/// The NumPy dtypes the <c>.npy</c> reader and writer support, and the decoding of NumPy's dtype strings
/// (<c>dtype.str</c>, e.g. <c>&lt;f4</c>): a byte-order character (<c>&lt;</c> little, <c>&gt;</c> big,
/// <c>|</c> not applicable, <c>=</c> native), a kind character and the item size in bytes.
/// </summary>
internal sealed record NpyDType(char Kind, int ItemSize, torch.ScalarType TorchType, Type ClrType, string Name)
{
    public static readonly NpyDType Float32 = new('f', 4, torch.ScalarType.Float32, typeof(float), "float32");
    public static readonly NpyDType Float64 = new('f', 8, torch.ScalarType.Float64, typeof(double), "float64");
    public static readonly NpyDType Int32 = new('i', 4, torch.ScalarType.Int32, typeof(int), "int32");
    public static readonly NpyDType Int64 = new('i', 8, torch.ScalarType.Int64, typeof(long), "int64");
    public static readonly NpyDType Bool = new('b', 1, torch.ScalarType.Bool, typeof(bool), "bool");
    public static readonly NpyDType UInt8 = new('u', 1, torch.ScalarType.Byte, typeof(byte), "uint8");

    private static readonly NpyDType[] All = [Float32, Float64, Int32, Int64, Bool, UInt8];

    /// <summary>The list of supported dtypes for error messages.</summary>
    public const string SupportedList =
        "float32 '<f4', float64 '<f8', int32 '<i4', int64 '<i8', uint8 '|u1' and bool '|b1' (little- or big-endian)";

    /// <summary>NumPy's little-endian dtype string for writing (<c>&lt;f4</c>, <c>|b1</c>, ...).</summary>
    public string LittleEndianDescr => (ItemSize == 1 ? "|" : "<") + Kind + ItemSize.ToString(CultureInfo.InvariantCulture);

    /// <summary>The supported dtype for a TorchSharp dtype, or <c>null</c>.</summary>
    public static NpyDType? FromTorch(torch.ScalarType type) => All.FirstOrDefault(d => d.TorchType == type);

    /// <summary>The supported dtype for a .NET element type, or <c>null</c>.</summary>
    public static NpyDType? FromClr(Type type) => All.FirstOrDefault(d => d.ClrType == type);

    /// <summary>
    /// Decodes a NumPy dtype string. Returns the dtype and whether its bytes are big-endian, or an explanation of
    /// why it is not supported (naming the NumPy dtype) in <paramref name="error"/>.
    /// </summary>
    public static NpyDType? Parse(string descr, out bool bigEndian, out string? error)
    {
        bigEndian = false;
        error = null;
        var shown = PythonLiteral.Repr(descr, 40);
        if (descr.Length == 0)
        {
            error = "its dtype descr '' is an empty string";
            return null;
        }
        char order = descr[0];
        string rest = descr;
        if (order is '<' or '>' or '|' or '=') rest = descr[1..];
        else order = '=';
        if (rest == "?") rest = "b1"; // NumPy's character code for bool
        if (rest.Length == 0)
        {
            error = $"its dtype descr {shown} names no type";
            return null;
        }
        char kind = rest[0];
        string sizeText = rest[1..];
        if (kind == 'O')
        {
            error = $"it holds an object array (dtype {shown}): its elements are pickled Python objects, which are not " +
                    "read outside Python for safety. Convert it in NumPy to a numeric array first, e.g. " +
                    "np.save(path, np.asarray(x, dtype=np.float32))";
            return null;
        }
        int size = 0;
        bool sized = sizeText.Length is > 0 and <= 9 && sizeText.All(char.IsAsciiDigit) &&
                     int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out size);
        var match = sized ? All.FirstOrDefault(d => d.Kind == kind && d.ItemSize == size) : null;
        if (match == null)
        {
            error = $"its dtype {shown} ({Describe(kind, sized ? size : null)}) is not supported; supported " +
                    $"dtypes are {SupportedList}. Convert it in NumPy, e.g. np.save(path, x.astype(np.float32))";
            return null;
        }
        bigEndian = match.ItemSize > 1 && (order == '>' || (order is '=' or '|' && !BitConverter.IsLittleEndian));
        return match;
    }

    private static string Describe(char kind, int? size) => kind switch
    {
        'f' when size == 2 => "float16",
        'f' when size is 12 or 16 => "long double / float128",
        'f' => size is { } f ? $"float{f * 8}" : "floating point",
        'i' => size is { } i ? $"int{i * 8}" : "signed integer",
        'u' => size is { } u ? $"uint{u * 8}" : "unsigned integer",
        'b' => "bool",
        'c' => size is { } c ? $"complex{c * 8}" : "complex",
        'U' => "a Unicode string (str)",
        'S' or 'a' => "a byte string (bytes)",
        'V' => "raw void bytes",
        'M' => "datetime64",
        'm' => "timedelta64",
        'T' => "a variable-width string (StringDType)",
        _ => "an unknown type code",
    };
}
