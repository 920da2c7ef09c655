using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Wraps a function of tensors as a layer (Keras' <c>Lambda</c>), for computations without weights. For layers with
/// weights, subclass <see cref="Layer"/> instead.
/// </summary>
/// <example>
/// <code>
/// var scale = new Lambda(x => x * 2);
/// var lastStep = new Lambda(x => x[.., -1, ..], outputShape: s => new Shape(s[0], s[2]));
/// var sum = Lambda.Multi(xs => xs[0] + xs[1]);    // several inputs
/// </code>
/// </example>
public sealed class Lambda : Layer
{
    private readonly Func<IReadOnlyList<Tensor>, Tensor> _function;
    private readonly Func<IReadOnlyList<Shape>, Shape>? _outputShape;

    /// <summary>Wraps a one-input function.</summary>
    /// <param name="function">The computation; it receives the input tensor.</param>
    /// <param name="outputShape">The output shape as a function of the input shape (batch first); default: found by running the function.</param>
    /// <param name="maskPassThrough">Whether the input mask flows on to the output (default <c>false</c>).</param>
    /// <param name="name">Name (default <c>lambda</c>, made unique).</param>
    public Lambda(Func<Tensor, Tensor> function, Func<Shape, Shape>? outputShape = null, bool maskPassThrough = false, string? name = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(function);
        _function = xs => xs.Count == 1 ? function(xs[0]) : throw new ArgumentException($"Lambda layer '{Name}' takes one input, got {xs.Count}.");
        _outputShape = outputShape is null ? null : shapes => outputShape(shapes[0]);
        SupportsMasking = maskPassThrough;
    }

    private Lambda(Func<IReadOnlyList<Tensor>, Tensor> function, Func<IReadOnlyList<Shape>, Shape>? outputShape, string? name)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(function);
        _function = function;
        _outputShape = outputShape;
    }

    /// <summary>Wraps a function of several inputs (called as <c>layer.Apply([a, b])</c>).</summary>
    /// <param name="function">The computation; it receives the inputs in order.</param>
    /// <param name="outputShape">The output shape as a function of the input shapes; default: found by running the function.</param>
    /// <param name="name">Name (default <c>lambda</c>, made unique).</param>
    public static Lambda Multi(Func<IReadOnlyList<Tensor>, Tensor> function, Func<IReadOnlyList<Shape>, Shape>? outputShape = null, string? name = null) =>
        new(function, outputShape, name);

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context) => [_function(inputs)];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        _outputShape is null ? base.ComputeOutputShapes(inputShapes, arguments) : [_outputShape(inputShapes)];
}
