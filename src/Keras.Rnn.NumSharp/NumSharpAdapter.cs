using NumSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.NumSharp;

/// <summary>
/// Converts between NumSharp's <see cref="NDArray"/> and Keras.Rnn's data types, so that code written with NumSharp
/// (as with TensorFlow.NET) can call <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c>. Lives in its own assembly so the
/// core library does not depend on NumSharp.
/// </summary>
/// <example>
/// <code>
/// using Keras.Rnn.NumSharp;
/// NDArray x = np.random.randn(100, 10, 3).astype(np.float32), y = np.random.randn(100, 1).astype(np.float32);
/// model.Fit(x.ToArrayLike(), y.ToArrayLike(), epochs: 2);
/// NDArray predictions = model.Predict(x.ToArrayLike()).ToNDArray();
/// </code>
/// </example>
public static class NumSharpAdapter
{
    /// <summary>Wraps an NDArray as Keras.Rnn data (copied into a tensor of the same shape).</summary>
    /// <param name="array">float32, float64, int32, int64, uint8 or bool NDArray.</param>
    /// <exception cref="ArgumentException">Unsupported dtype.</exception>
    public static ArrayLike ToArrayLike(this NDArray array) => ArrayLike.FromArray(ToDotNetArray(array));

    /// <summary>Copies an NDArray into a CPU tensor (float64 becomes float32, as Keras computes in float32).</summary>
    /// <param name="array">The NDArray.</param>
    public static Tensor ToTensor(this NDArray array)
    {
        KerasConfig.InitializeNativeLibraries();
        var data = ToDotNetArray(array);
        var tensor = torch.from_array(data);
        if (tensor.dtype != ScalarType.Float64) return tensor;
        using (tensor) return tensor.to_type(ScalarType.Float32);
    }

    /// <summary>Copies a tensor (any device) into an NDArray of the same shape.</summary>
    /// <param name="tensor">The tensor.</param>
    public static NDArray ToNDArray(this Tensor tensor) => np.array(tensor.ToArray());

    private static Array ToDotNetArray(NDArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        return array.typecode switch
        {
            NPTypeCode.Single => array.ToMuliDimArray<float>(),
            NPTypeCode.Double => array.ToMuliDimArray<double>(),
            NPTypeCode.Int32 => array.ToMuliDimArray<int>(),
            NPTypeCode.Int64 => array.ToMuliDimArray<long>(),
            NPTypeCode.Byte => array.ToMuliDimArray<byte>(),
            NPTypeCode.Boolean => array.ToMuliDimArray<bool>(),
            _ => throw new ArgumentException(
                $"NDArray dtype {array.dtype.Name} is not supported; use float32, float64, int32, int64, uint8 or bool."),
        };
    }
}
