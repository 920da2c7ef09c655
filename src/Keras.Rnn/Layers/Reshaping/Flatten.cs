using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>Flattens every dimension but the batch: <c>(batch, a, b)</c> → <c>(batch, a·b)</c> (Keras' <c>Flatten</c>).</summary>
/// <param name="name">Name (default <c>flatten</c>, made unique).</param>
public sealed class Flatten(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context) =>
        inputs.dim() == 1 ? inputs.unsqueeze(1) : inputs.reshape(inputs.shape[0], -1);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var s = inputShapes[0];
        return [new Shape(s[0], s.Rank == 1 ? 1 : (int?)s.Product(1))];
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["data_format"] = "channels_last";
        return c;
    }
}
