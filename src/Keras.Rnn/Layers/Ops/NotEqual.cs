using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Element-wise <c>x != y</c> (Keras' <c>keras.ops.not_equal</c> as a graph operation). Keras 3 writes such operations
/// into functional models that compute their own masks, e.g. <c>mask = ops.not_equal(token_ids, 0)</c> passed as
/// <c>mask=</c> to a recurrent layer; older tf.keras files hold the same as <c>TFOpLambda(math.not_equal)</c>. Called on
/// one tensor it compares with the constant <see cref="Y"/>, on two tensors with each other; the output is boolean.
/// </summary>
/// <example>
/// <code>
/// var ids = KerasApi.Input(shape: [null], dtype: "int32");
/// var mask = new NotEqual(0).Apply(ids);
/// var states = new LSTM(16).Apply(new Embedding(100, 8).Apply(ids), mask: [mask]);
/// </code>
/// </example>
public sealed class NotEqual : Layer
{
    /// <summary>Creates the operation.</summary>
    /// <param name="y">The constant compared with when called on one tensor (default 0).</param>
    /// <param name="name">Name (default <c>not_equal</c>, made unique).</param>
    public NotEqual(double y = 0, string? name = null) : base(name) => Y = y;

    /// <summary>The constant operand used with one input.</summary>
    public double Y { get; }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context) => inputs.Count switch
    {
        // A constant given with the call (as Keras files store it: not_equal(x, 0)) wins over the layer's own.
        1 => [inputs[0].ne(context.Arguments.TryGetValue("y", out var y) && y is not null ? Convert.ToDouble(y, System.Globalization.CultureInfo.InvariantCulture) : Y)],
        2 => [inputs[0].ne(inputs[1])],
        _ => throw new KerasLayerException(this, $"not_equal takes one tensor (and a constant) or two tensors, received {inputs.Count}."),
    };

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (inputShapes.Count == 1) return [inputShapes[0]];
        var a = inputShapes[0];
        var b = inputShapes[1];
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int?[rank];
        for (int i = 1; i <= rank; i++)
        {
            int? x = i <= a.Rank ? a[a.Rank - i] : 1, y = i <= b.Rank ? b[b.Rank - i] : 1;
            if (x is { } xv && y is { } yv && xv != yv && xv != 1 && yv != 1)
                throw new KerasLayerException(this, $"cannot broadcast shapes {a} and {b}.");
            dims[rank - i] = x == 1 ? y : y == 1 ? x : x ?? y;
        }
        return [new Shape(dims)];
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<string> ComputeOutputDTypes(IReadOnlyList<string> inputDTypes, int outputCount) => ["bool"];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new() { ["name"] = Name };
}
