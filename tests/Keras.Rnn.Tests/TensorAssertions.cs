using static TorchSharp.torch;

namespace Keras.Rnn.Tests;

internal static class TensorAssertions
{
    /// <summary>Same shape and exactly the same values.</summary>
    public static bool EqualsExactly(this Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.allclose(b, rtol: 0, atol: 0);
}
