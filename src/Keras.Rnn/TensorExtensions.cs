using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn;

/// <summary>Conversions from tensors (e.g. <c>Predict</c>'s result) to .NET arrays.</summary>
public static class TensorExtensions
{
    /// <summary>Copies a tensor into a rectangular .NET array of the same rank (<c>float[,]</c>, <c>long[]</c>, <c>bool[,,]</c>, ...).</summary>
    /// <param name="tensor">The tensor (any device).</param>
    /// <example><code>var probabilities = (float[,])model.Predict(x).ToArray();</code></example>
    public static Array ToArray(this Tensor tensor) => ArrayConversion.ToArray(tensor);

    /// <summary>Copies a tensor into a .NET array of the given type, e.g. <c>ToArray&lt;float[,,]&gt;()</c>.</summary>
    /// <typeparam name="T">The array type, matching the tensor's rank and element type.</typeparam>
    /// <param name="tensor">The tensor.</param>
    /// <exception cref="InvalidCastException">The rank or element type differs; the message gives both.</exception>
    public static T ToArray<T>(this Tensor tensor) where T : class
    {
        var array = ArrayConversion.ToArray(tensor);
        return array as T ?? throw new InvalidCastException(
            $"A tensor of shape {Shape.Of(tensor.shape)} and dtype {tensor.dtype} converts to {array.GetType().Name}, not {typeof(T).Name}.");
    }
}
