using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Adds several inputs of the same shape element-wise (Keras' <c>Add</c>). Masks are combined: a step is kept when
/// every input keeps it.
/// </summary>
public sealed class Add : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="name">Name (default <c>add</c>, made unique).</param>
    public Add(string? name = null) : base(name) => SupportsMasking = true;

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        if (inputs.Count < 2)
            throw new KerasLayerException(this, $"a merge layer should be called on a list of at least 2 inputs, received {inputs.Count}.");
        var sum = inputs[0].add(inputs[1]);
        for (int i = 2; i < inputs.Count; i++) sum.add_(inputs[i]);
        return [sum];
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (inputShapes.Count < 2)
            throw new KerasLayerException(this, $"a merge layer should be called on a list of at least 2 inputs, received {inputShapes.Count}.");
        var result = inputShapes[0];
        foreach (var s in inputShapes.Skip(1)) result = Broadcast(result, s, inputShapes);
        return [result];
    }

    private Shape Broadcast(Shape a, Shape b, IReadOnlyList<Shape> all)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int?[rank];
        for (int i = 1; i <= rank; i++)
        {
            int? x = i <= a.Rank ? a[a.Rank - i] : 1, y = i <= b.Rank ? b[b.Rank - i] : 1;
            if (x is null || y is null) dims[rank - i] = x == 1 ? y : y == 1 ? x : x ?? y;
            else if (x == y || y == 1) dims[rank - i] = x;
            else if (x == 1) dims[rank - i] = y;
            else throw new KerasLayerException(this, $"inputs must have compatible shapes; received shapes {string.Join(", ", all)}.");
        }
        return new Shape(dims);
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount)
    {
        var masks = context.Masks.OfType<Tensor>().ToList();
        if (masks.Count == 0) return [null];
        var result = masks[0].clone();
        foreach (var m in masks.Skip(1)) result.logical_and_(m);
        return [result];
    }
}
