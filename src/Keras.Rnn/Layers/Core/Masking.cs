using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Masks time steps whose features all equal <c>maskValue</c> (Keras' <c>Masking</c>): downstream recurrent layers skip
/// them (states held, output repeated). The masked steps' values are set to zero.
/// </summary>
/// <param name="maskValue">The padding value (default 0).</param>
/// <param name="name">Name (default <c>masking</c>, made unique).</param>
public sealed class Masking(double maskValue = 0.0, string? name = null) : Layer(name)
{
    /// <summary>The padding value.</summary>
    public double MaskValue { get; } = maskValue;

    private Tensor BooleanMask(Tensor inputs)
    {
        using var ne = inputs.ne(MaskValue);
        return ne.any(-1);
    }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        using var mask = BooleanMask(inputs);
        using var m = mask.unsqueeze(-1).to_type(inputs.dtype);
        return inputs.mul(m);
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount) =>
        [BooleanMask(inputs[0])];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => inputShapes;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["mask_value"] = MaskValue;
        return c;
    }
}
