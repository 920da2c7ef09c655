using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>Copies between .NET arrays (rectangular of any rank, or jagged) and TorchSharp tensors.</summary>
internal static class ArrayConversion
{
    /// <summary>
    /// Converts a .NET array to a CPU tensor. Rectangular arrays keep their rank; jagged arrays must be rectangular in
    /// content. float/double become float32 (Keras computes in float32), int/long/short/byte become int64 (indices),
    /// bool stays bool.
    /// </summary>
    public static Tensor ToTensor(Array array, string what = "array")
    {
        NativeLibraries.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(array);
        var elementType = array.GetType().GetElementType()!;
        if (elementType.IsArray)
            return JaggedToTensor(array, what);

        var shape = Enumerable.Range(0, array.Rank).Select(i => (long)array.GetLength(i)).ToArray();
        if (elementType == typeof(float)) return torch.tensor(Flat<float>(array).ToArray(), shape);
        if (elementType == typeof(double))
        {
            var src = Flat<double>(array);
            var dst = new float[src.Length];
            for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
            return torch.tensor(dst, shape);
        }
        if (elementType == typeof(int)) return torch.tensor(Flat<int>(array).ToArray(), shape).to_type(ScalarType.Int64);
        if (elementType == typeof(long)) return torch.tensor(Flat<long>(array).ToArray(), shape);
        if (elementType == typeof(short)) return torch.tensor(Flat<short>(array).ToArray(), shape).to_type(ScalarType.Int64);
        if (elementType == typeof(byte)) return torch.tensor(Flat<byte>(array).ToArray(), shape).to_type(ScalarType.Int64);
        if (elementType == typeof(bool)) return torch.tensor(Flat<bool>(array).ToArray(), shape);
        throw new ArgumentException(
            $"{what}: unsupported element type {elementType.Name}; expected float, double, int, long, short, byte or bool.");
    }

    private static Span<T> Flat<T>(Array array) where T : struct =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(array)), array.Length);

    private static Tensor JaggedToTensor(Array array, string what)
    {
        // Walk the nesting to find the shape; Collect then checks that every row has the same length.
        var shape = new List<long>();
        object? level = array;
        while (level is Array a)
        {
            if (a.Rank != 1) throw new ArgumentException($"{what}: jagged arrays must nest one-dimensional arrays.");
            shape.Add(a.Length);
            level = a.Length > 0 && a.GetType().GetElementType()!.IsArray ? a.GetValue(0) : null;
        }
        var leafType = array.GetType();
        while (leafType.IsArray) leafType = leafType.GetElementType()!;
        var flat = new List<Array>();
        Collect(array, 0, shape, flat, what, new List<int>());
        var total = shape.Aggregate(1L, (a, b) => a * b);
        var concat = Array.CreateInstance(leafType, total);
        long offset = 0;
        foreach (var leaf in flat)
        {
            Array.Copy(leaf, 0, concat, offset, leaf.Length);
            offset += leaf.Length;
        }
        var t = ToTensor(concat, what);
        using (t) return t.reshape(shape.ToArray());
    }

    private static void Collect(Array a, int depth, List<long> shape, List<Array> leaves, string what, List<int> path)
    {
        if (a == null) throw new ArgumentException($"{what}: null row at [{string.Join(",", path)}].");
        if (a.Length != shape[depth])
            throw new ArgumentException(
                $"{what}: ragged jagged array: row [{string.Join(",", path)}] has length {a.Length}, expected {shape[depth]} (pad sequences to one length, e.g. with PadSequences).");
        if (depth == shape.Count - 1) { leaves.Add(a); return; }
        for (int i = 0; i < a.Length; i++)
        {
            path.Add(i);
            Collect((Array)a.GetValue(i)!, depth + 1, shape, leaves, what, path);
            path.RemoveAt(path.Count - 1);
        }
    }

    /// <summary>Copies a tensor into a rectangular .NET array of the same rank (float, long, int or bool elements).</summary>
    public static Array ToArray(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var t = tensor.detach().cpu().contiguous();
        var dims = t.shape.Select(d => checked((int)d)).ToArray();
        if (dims.Length == 0) dims = [1];
        switch (t.dtype)
        {
            case ScalarType.Float32:
                return Fill(t.data<float>().ToArray(), dims);
            case ScalarType.Float64:
            case ScalarType.Float16:
            case ScalarType.BFloat16:
                return Fill(t.to_type(ScalarType.Float32).data<float>().ToArray(), dims);
            case ScalarType.Int64:
                return Fill(t.data<long>().ToArray(), dims);
            case ScalarType.Int32:
            case ScalarType.Int16:
            case ScalarType.Int8:
            case ScalarType.Byte:
                return Fill(t.to_type(ScalarType.Int32).data<int>().ToArray(), dims);
            case ScalarType.Bool:
                return Fill(t.data<bool>().ToArray(), dims);
            default:
                throw new ArgumentException($"Tensors of dtype {t.dtype} cannot be converted to .NET arrays.");
        }
    }

    private static Array Fill<T>(T[] data, int[] dims) where T : struct
    {
        var result = Array.CreateInstance(typeof(T), dims);
        data.AsSpan().CopyTo(Flat<T>(result));
        return result;
    }
}
