using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>Reshapes every sample to <c>targetShape</c> (Keras' <c>Reshape</c>); one dimension may be −1 (inferred).</summary>
public sealed class Reshape : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetShape">Shape of each sample (without batch); at most one −1.</param>
    /// <param name="name">Name (default <c>reshape</c>, made unique).</param>
    /// <exception cref="ArgumentException">More than one −1, or a zero or negative size.</exception>
    public Reshape(int[] targetShape, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Count(d => d == -1) > 1 || targetShape.Any(d => d == 0 || d < -1))
            throw new ArgumentException($"Reshape: target shape must be positive sizes with at most one -1, got ({string.Join(", ", targetShape)}).", nameof(targetShape));
        TargetShape = targetShape.ToArray();
    }

    /// <summary>Shape of each sample.</summary>
    public IReadOnlyList<int> TargetShape { get; }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        long perSample = 1;
        for (int i = 1; i < inputs.dim(); i++) perSample *= inputs.shape[i];
        long known = TargetShape.Where(d => d != -1).Aggregate(1L, (a, b) => a * b);
        if (TargetShape.Contains(-1) ? perSample % known != 0 : perSample != known)
            throw new KerasLayerException(this,
                $"cannot reshape samples of shape {Shape.Of(inputs.shape.Skip(1))} ({perSample} elements) to ({string.Join(", ", TargetShape)}).");
        return inputs.reshape([inputs.shape[0], .. TargetShape.Select(d => (long)d)]);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var input = inputShapes[0];
        var perSample = input.Product(1);
        var dims = TargetShape.Select(d => d == -1 ? (int?)null : d).ToArray();
        long known = TargetShape.Where(d => d != -1).Aggregate(1L, (a, b) => a * b);
        if (perSample is { } total)
        {
            if (TargetShape.Contains(-1))
            {
                if (total % known != 0)
                    throw new KerasLayerException(this, $"total size of the new array must be unchanged: input shape {input}, target shape ({string.Join(", ", TargetShape)}).");
                dims[Array.IndexOf(TargetShape.ToArray(), -1)] = (int)(total / known);
            }
            else if (total != known)
                throw new KerasLayerException(this, $"total size of the new array must be unchanged: input shape {input}, target shape ({string.Join(", ", TargetShape)}).");
        }
        return [new Shape([input[0], .. dims])];
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["target_shape"] = TargetShape.ToArray();
        return c;
    }
}
