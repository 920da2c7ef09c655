using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Concatenates several inputs along an axis (Keras' <c>Concatenate</c>); all other dimensions must match. Masks are
/// combined: a step is kept when every input keeps it.
/// </summary>
public sealed class Concatenate : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="axis">Concatenation axis (default −1, the features).</param>
    /// <param name="name">Name (default <c>concatenate</c>, made unique).</param>
    public Concatenate(int axis = -1, string? name = null) : base(name)
    {
        Axis = axis;
        SupportsMasking = true;
    }

    /// <summary>Concatenation axis.</summary>
    public int Axis { get; }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        if (inputs.Count < 2)
            throw new KerasLayerException(this, $"a Concatenate layer should be called on a list of at least 2 inputs, received {inputs.Count}.");
        return [torch.cat(inputs.ToArray(), Axis)];
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (inputShapes.Count < 2)
            throw new KerasLayerException(this, $"a Concatenate layer should be called on a list of at least 2 inputs, received {inputShapes.Count}.");
        int rank = inputShapes[0].Rank;
        int axis = Axis < 0 ? rank + Axis : Axis;
        if (inputShapes.Any(s => s.Rank != rank) || axis < 0 || axis >= rank)
            throw new KerasLayerException(this, $"a Concatenate layer requires inputs of one rank with axis {Axis} inside it; got shapes {string.Join(", ", inputShapes)}.");
        var dims = inputShapes[0].ToArray();
        for (int i = 0; i < rank; i++)
        {
            if (i == axis)
            {
                dims[i] = inputShapes.All(s => s[i].HasValue) ? inputShapes.Sum(s => s[i]!.Value) : null;
                continue;
            }
            var known = inputShapes.Select(s => s[i]).Where(d => d.HasValue).Distinct().ToList();
            if (known.Count > 1)
                throw new KerasLayerException(this,
                    $"a Concatenate layer requires inputs with matching shapes except for the concatenation axis. Received: input_shape={string.Join(", ", inputShapes)}");
            dims[i] = known.Count == 1 ? known[0] : null;
        }
        return [new Shape(dims)];
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount)
    {
        if (context.Masks.All(m => m is null)) return [null];
        using var scope = torch.NewDisposeScope();
        int rank = (int)inputs[0].dim();
        int axis = Axis < 0 ? rank + Axis : Axis;
        // Expand each mask (or all-true) to its input's shape, concatenate, then reduce the last axis with "all".
        var expanded = new List<Tensor>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var m = context.Masks[i] is { } mask ? mask : torch.ones(inputs[i].shape[..^1], ScalarType.Bool, inputs[i].device);
            while (m.dim() < rank) m = m.unsqueeze(-1);
            expanded.Add(m.expand(inputs[i].shape));
        }
        var cat = torch.cat(expanded.ToArray(), axis);
        return [cat.all(-1).MoveToOuterDisposeScope()];
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = Axis;
        return c;
    }
}
