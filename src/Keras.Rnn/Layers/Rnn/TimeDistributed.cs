using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Applies a layer to every time step of a <c>(batch, time, ...)</c> input independently, with the same weights
/// (Keras' <c>TimeDistributed</c>): <c>(batch, time, ...)</c> → <c>(batch, time, ...layer output)</c>. Passes masks on.
/// </summary>
/// <example>
/// <code>
/// var perStep = new TimeDistributed(new Dense(10, activation: "softmax"));   // on (batch, time, features)
/// </code>
/// </example>
public sealed class TimeDistributed : Layer
{
    /// <summary>Creates the wrapper.</summary>
    /// <param name="layer">The layer applied at each step.</param>
    /// <param name="name">Name (default <c>time_distributed</c>, made unique).</param>
    public TimeDistributed(Layer layer, string? name = null) : base(name)
    {
        Inner = TrackLayer(layer ?? throw new ArgumentNullException(nameof(layer)));
        SupportsMasking = true;
        InputSpec = new InputSpec(minNdim: 3);
    }

    /// <summary>The wrapped layer.</summary>
    public Layer Inner { get; }

    private Shape ChildShape(Shape input)
    {
        if (input.Rank < 3)
            throw new KerasLayerException(this, $"TimeDistributed layer should be passed an input shape with at least 3 dimensions, received: {input}");
        return new Shape([input[0], .. input.Slice(2)]);
    }

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes) => Inner.Build(ChildShape(inputShapes[0]));

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        long batch = inputs.shape[0], steps = inputs.shape[1];
        using var flat = inputs.reshape([batch * steps, .. inputs.shape[2..]]);
        var (outputs, _) = Inner.Invoke([flat], null, null, context.Training, context.Arguments, context.LossSink);
        if (outputs.Count != 1)
            throw new KerasLayerException(this, $"the wrapped layer '{Inner.Name}' must return one output, it returned {outputs.Count}.");
        using var y = outputs[0];
        return y.reshape([batch, steps, .. y.shape[1..]]);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var child = Inner.ComputeOutputShapes([ChildShape(inputShapes[0])], arguments)[0];
        return [new Shape([child[0], inputShapes[0][1], .. child.Slice(1)])];
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["layer"] = Inner;
        return c;
    }
}
