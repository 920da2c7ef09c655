namespace Keras.Rnn.Layers;

/// <summary>
/// The entry point of a model (Keras' <c>InputLayer</c>). In the functional API use <see cref="KerasApi.Input"/>; in a
/// <see cref="Models.Sequential"/> model, put an <c>InputLayer</c> first (or give the first layer an
/// <see cref="Layer.InputShape"/>) so the model is built at once.
/// </summary>
public sealed class InputLayer : Layer
{
    /// <summary>Creates the input layer.</summary>
    /// <param name="shape">Shape without the batch dimension, <c>null</c> where variable (e.g. <c>[null, 8]</c>).</param>
    /// <param name="batchSize">Fixed batch size, or <c>null</c> (default) for any.</param>
    /// <param name="dtype">Input dtype: <c>"float32"</c> (default), <c>"int32"</c>, <c>"int64"</c> or <c>"bool"</c>.</param>
    /// <param name="name">Name (default <c>input_layer</c>, made unique).</param>
    /// <exception cref="ArgumentException">Unknown dtype.</exception>
    public InputLayer(Shape shape, int? batchSize = null, string dtype = "float32", string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(shape);
        DType = NormalizeDType(dtype);
        BatchShape = shape.WithBatch(batchSize);
        Built = true;
        var node = new Node(this, [], null, null, null, CallContext.EmptyArguments);
        Output = new KerasTensor(BatchShape, DType, node, 0, Name);
        node.Outputs = [Output];
        InboundNodes.Add(node);
    }

    /// <summary>The full input shape, batch first.</summary>
    public Shape BatchShape { get; }

    /// <summary>The input dtype.</summary>
    public string DType { get; }

    /// <summary>The symbolic tensor this layer produces.</summary>
    public KerasTensor Output { get; }

    internal static string NormalizeDType(string dtype) => dtype.ToLowerInvariant() switch
    {
        "float32" or "float" or "float64" or "double" or "float16" or "bfloat16" => "float32",
        "int32" or "int" => "int32",
        "int64" or "long" => "int64",
        "bool" => "bool",
        _ => throw new ArgumentException($"Unsupported input dtype '{dtype}'; expected float32, int32, int64 or bool.", nameof(dtype)),
    };

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => [BatchShape];

    /// <inheritdoc />
    protected override TorchSharp.torch.Tensor Call(TorchSharp.torch.Tensor inputs, CallContext context) => inputs;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["batch_shape"] = BatchShape,
        ["dtype"] = DType,
        ["sparse"] = false,
        ["ragged"] = false,
        ["name"] = Name,
        ["optional"] = false,
    };
}
