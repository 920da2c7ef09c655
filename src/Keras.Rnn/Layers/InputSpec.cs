namespace Keras.Rnn.Layers;

/// <summary>
/// What a layer accepts as input (Keras' <c>InputSpec</c>): a rank, a minimum or maximum rank, and fixed sizes for
/// some axes. Checked on every call; a mismatch throws an error naming the layer and the shapes.
/// </summary>
/// <param name="ndim">Exact rank, or <c>null</c>.</param>
/// <param name="minNdim">Minimum rank, or <c>null</c>.</param>
/// <param name="maxNdim">Maximum rank, or <c>null</c>.</param>
/// <param name="axes">Required sizes of some axes (negative indices count from the end), or <c>null</c>.</param>
public sealed class InputSpec(int? ndim = null, int? minNdim = null, int? maxNdim = null, IReadOnlyDictionary<int, int>? axes = null)
{
    /// <summary>Exact rank, or <c>null</c>.</summary>
    public int? Ndim { get; } = ndim;
    /// <summary>Minimum rank, or <c>null</c>.</summary>
    public int? MinNdim { get; } = minNdim;
    /// <summary>Maximum rank, or <c>null</c>.</summary>
    public int? MaxNdim { get; } = maxNdim;
    /// <summary>Required sizes of some axes.</summary>
    public IReadOnlyDictionary<int, int> Axes { get; } = axes ?? new Dictionary<int, int>();

    /// <summary>Throws when <paramref name="shape"/> does not satisfy the spec.</summary>
    /// <param name="layer">The layer, for the message.</param>
    /// <param name="inputIndex">Which input, for the message.</param>
    /// <param name="shape">The shape received (batch first).</param>
    /// <exception cref="ArgumentException">The shape does not fit.</exception>
    public void Check(Layer layer, int inputIndex, Shape shape)
    {
        string Prefix() => $"Input {inputIndex} of layer \"{layer.Name}\" ({layer.GetType().Name}) is incompatible with the layer: ";
        if (Ndim is { } n && shape.Rank != n)
            throw new ArgumentException(Prefix() + $"expected ndim={n}, found ndim={shape.Rank}. Full shape received: {shape}");
        if (MinNdim is { } mn && shape.Rank < mn)
            throw new ArgumentException(Prefix() + $"expected min_ndim={mn}, found ndim={shape.Rank}. Full shape received: {shape}");
        if (MaxNdim is { } mx && shape.Rank > mx)
            throw new ArgumentException(Prefix() + $"expected max_ndim={mx}, found ndim={shape.Rank}. Full shape received: {shape}");
        foreach (var (axis, size) in Axes)
        {
            int a = axis < 0 ? shape.Rank + axis : axis;
            if (a < 0 || a >= shape.Rank) continue;
            if (shape[a] is { } actual && actual != size)
                throw new ArgumentException(Prefix() + $"expected axis {axis} of input shape to have value {size}, but received input with shape {shape}");
        }
    }
}
