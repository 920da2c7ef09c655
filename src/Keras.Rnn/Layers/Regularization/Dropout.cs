using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Randomly sets a fraction <c>rate</c> of inputs to 0 during training and scales the rest by <c>1 / (1 − rate)</c>
/// (Keras' <c>Dropout</c>); does nothing at inference. Passes masks on.
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Fraction to drop, in [0, 1).</param>
    /// <param name="noiseShape">Shape of the binary mask, broadcast over the input, <c>null</c> entries taken from the input
    /// (e.g. <c>[null, 1, null]</c> drops the same features at every time step). Default: the input's shape.</param>
    /// <param name="seed">Unused placeholder for Keras compatibility; seed globally with <see cref="KerasApi.SetRandomSeed"/> (default <c>null</c>).</param>
    /// <param name="name">Name (default <c>dropout</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="rate"/> outside [0, 1).</exception>
    public Dropout(double rate, Shape? noiseShape = null, int? seed = null, string? name = null) : base(name)
    {
        if (rate < 0 || rate >= 1)
            throw new ArgumentException($"Dropout: invalid value received for argument `rate`. Expected a float value between 0 and 1, got {rate}.", nameof(rate));
        Rate = rate;
        NoiseShape = noiseShape;
        Seed = seed;
        SupportsMasking = true;
    }

    /// <summary>Fraction dropped.</summary>
    public double Rate { get; }
    /// <summary>Mask shape, or <c>null</c>.</summary>
    public Shape? NoiseShape { get; }
    /// <summary>Seed argument as given.</summary>
    public int? Seed { get; }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        if (!context.Training || Rate == 0) return inputs.alias();
        if (NoiseShape is null) return torch.nn.functional.dropout(inputs, Rate, training: true);
        using var scope = torch.NewDisposeScope();
        var shape = NoiseShape.Select((d, i) => (long)(d ?? (int)inputs.shape[i])).ToArray();
        var keep = torch.rand(shape, inputs.dtype, inputs.device).ge_(Rate).to_type(inputs.dtype).div_(1 - Rate);
        return inputs.mul(keep).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => inputShapes;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["rate"] = Rate;
        c["seed"] = Seed;
        c["noise_shape"] = NoiseShape;
        return c;
    }
}
