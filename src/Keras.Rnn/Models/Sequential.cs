using Keras.Rnn.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Models;

/// <summary>
/// A plain stack of layers, each feeding the next (Keras' <c>keras.Sequential</c>). When the input shape is known —
/// an <see cref="InputLayer"/> first, or <see cref="Layer.InputShape"/> on the first layer — the model is built at
/// once; otherwise it is built from the first data it sees.
/// </summary>
/// <example>
/// <code>
/// var model = new Sequential(
///     new InputLayer([20, 1]),
///     new LSTM(32, returnSequences: true),
///     new LSTM(16),
///     new Dense(1));
/// model.Summary();
/// model.Compile(optimizer: "adam", loss: "mse", metrics: ["mae"]);
/// </code>
/// </example>
public sealed class Sequential : Model
{
    private readonly List<Layer> _stack = [];
    private InputLayer? _inputLayer;

    /// <summary>Creates an empty model; add layers with <see cref="Add"/>.</summary>
    /// <param name="name">Name (default <c>sequential</c>, made unique).</param>
    public Sequential(string? name = null) : base(name) { }

    /// <summary>Creates the model from layers (an <see cref="InputLayer"/> may come first).</summary>
    /// <param name="layers">The layers, in order.</param>
    public Sequential(params Layer[] layers) : this((IEnumerable<Layer>)layers) { }

    /// <summary>Creates the model from layers.</summary>
    /// <param name="layers">The layers, in order (an <see cref="InputLayer"/> may come first).</param>
    /// <param name="name">Name (default <c>sequential</c>, made unique).</param>
    public Sequential(IEnumerable<Layer> layers, string? name = null) : base(name)
    {
        foreach (var layer in layers) AddCore(layer, rebuild: false);
        TryBuildGraph();
    }

    private protected override string DefaultNameBase() => "sequential";

    /// <summary>The stacked layers (without the input layer, as in Keras).</summary>
    public override IReadOnlyList<Layer> Layers => _stack;

    /// <summary>Appends a layer (Keras' <c>add</c>).</summary>
    /// <param name="layer">The layer; an <see cref="InputLayer"/> only as the first one.</param>
    /// <exception cref="ArgumentException">The layer has several outputs, is already in the model, or its name repeats.</exception>
    public void Add(Layer layer)
    {
        AddCore(layer, rebuild: true);
    }

    private void AddCore(Layer layer, bool rebuild)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is InputLayer input)
        {
            if (_stack.Count > 0 || _inputLayer != null)
                throw new ArgumentException($"Sequential model '{Name}': an InputLayer can only be the first layer.");
            _inputLayer = input;
            if (rebuild) TryBuildGraph();
            return;
        }
        if (_stack.Contains(layer))
            throw new ArgumentException($"Layer '{layer.Name}' is already in Sequential model '{Name}'.");
        if (_stack.Any(l => l.Name == layer.Name))
            throw new ArgumentException(
                $"All layers added to a Sequential model should have unique names. Name '{layer.Name}' is already the name of a layer in this model.");
        _stack.Add(layer);
        TrackLayer(layer);
        if (rebuild) TryBuildGraph();
    }

    /// <summary>Removes the last layer (Keras' <c>pop</c>).</summary>
    /// <returns>The removed layer.</returns>
    /// <exception cref="InvalidOperationException">The model has no layers.</exception>
    public Layer Pop()
    {
        if (_stack.Count == 0) throw new InvalidOperationException($"There are no layers in Sequential model '{Name}' to pop.");
        var layer = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        UntrackLayer(layer);
        ResetGraph();
        TryBuildGraph();
        return layer;
    }

    private void ResetGraph()
    {
        Built = false;
        ClearGraph();
    }

    /// <summary>Builds the graph when the input shape is known: from the input layer or the first layer's <see cref="Layer.InputShape"/>.</summary>
    private void TryBuildGraph()
    {
        if (_stack.Count == 0) return;
        if (_inputLayer is null && _stack[0].InputShape is { } shape)
            _inputLayer = new InputLayer(shape, _stack[0].BatchSize, _stack[0].InputDType);
        if (_inputLayer is null) return;
        BuildGraph(_inputLayer.Output);
    }

    private void BuildGraph(KerasTensor input)
    {
        KerasTensor x = input;
        foreach (var layer in _stack)
        {
            var outputs = layer.Apply(x);
            if (outputs.Count != 1)
                throw new ArgumentException(
                    $"All layers in a Sequential model should have a single output tensor; layer '{layer.Name}' has {outputs.Count} (for multi-output layers, use the functional API).");
            x = outputs[0];
        }
        ClearGraph();
        InitGraph([input], [x]);
    }

    /// <summary>Builds the model for inputs of this shape (batch first), like Keras' <c>model.build(input_shape)</c>.</summary>
    /// <param name="inputShapes">One shape, batch first.</param>
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        if (IsGraphNetwork) return;
        if (_stack.Count == 0) throw new InvalidOperationException($"Sequential model '{Name}' has no layers to build.");
        var shape = inputShapes[0];
        _inputLayer = new InputLayer(shape.Slice(1), shape[0], _stack[0].InputDType);
        BuildGraph(_inputLayer.Output);
    }

    internal override (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training, IReadOnlyDictionary<string, object?>? arguments,
        List<Tensor>? losses)
    {
        if (!IsGraphNetwork) BuildFromData(inputs);
        return base.Invoke(inputs, masks, initialState, training, arguments, losses);
    }

    /// <summary>Builds an unbuilt model from the first data it sees (batch and, for sequences, time left variable).</summary>
    internal void BuildFromData(IReadOnlyList<Tensor> inputs)
    {
        if (IsGraphNetwork) return;
        if (inputs.Count != 1)
            throw new ArgumentException($"Sequential model '{Name}' takes one input, received {inputs.Count}.");
        var x = inputs[0];
        var dims = x.shape.Select(d => (int?)checked((int)d)).ToArray();
        var dtype = x.is_floating_point() ? "float32" : x.dtype == ScalarType.Bool ? "bool" : "int64";
        // Batch and time sizes stay variable (later batches may hold shorter or longer sequences): for float
        // inputs every axis but the last (features); for token ids every axis.
        int variableUpTo = dtype == "float32" ? dims.Length - 1 : dims.Length;
        for (int i = 0; i < variableUpTo; i++) dims[i] = null;
        dims[0] = null;
        _inputLayer = new InputLayer(new Shape(dims).Slice(1), null, dtype);
        BuildGraph(_inputLayer.Output);
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = new Dictionary<string, object?> { ["name"] = Name, ["trainable"] = Trainable };
        var layers = new List<Layer>();
        if (_inputLayer != null) layers.Add(_inputLayer);
        layers.AddRange(_stack);
        c["layers"] = layers;
        return c;
    }
}
