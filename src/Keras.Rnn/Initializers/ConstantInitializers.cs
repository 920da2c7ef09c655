using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Initializers;

/// <summary>Initializes to 0 (<c>"zeros"</c>).</summary>
public sealed class Zeros : Initializer
{
    /// <inheritdoc />
    public override Tensor Call(long[] shape) => torch.zeros(shape, ScalarType.Float32);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>();
}

/// <summary>Initializes to 1 (<c>"ones"</c>).</summary>
public sealed class Ones : Initializer
{
    /// <inheritdoc />
    public override Tensor Call(long[] shape) => torch.ones(shape, ScalarType.Float32);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>();
}

/// <summary>Initializes every element to one value (<c>"constant"</c>).</summary>
/// <param name="value">The value (default 0).</param>
public sealed class Constant(double value = 0.0) : Initializer
{
    /// <summary>The value.</summary>
    public double Value { get; } = value;

    /// <inheritdoc />
    public override Tensor Call(long[] shape) => torch.full(shape, Value, ScalarType.Float32);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["value"] = Value };
}

/// <summary>The identity matrix times <c>gain</c>, for 2-D weights (<c>"identity"</c>).</summary>
/// <param name="gain">Multiplier (default 1).</param>
public sealed class Identity(double gain = 1.0) : Initializer
{
    /// <summary>Multiplier of the identity.</summary>
    public double Gain { get; } = gain;

    /// <inheritdoc />
    public override Tensor Call(long[] shape)
    {
        if (shape.Length != 2)
            throw new ArgumentException($"Identity initializer: expected a 2-D shape, got rank {shape.Length}.");
        using var eye = torch.eye(shape[0], shape[1], ScalarType.Float32);
        return eye.mul(Gain);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["gain"] = Gain };
}
