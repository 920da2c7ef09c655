using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Models;

/// <summary>
/// A model: layers connected into a graph, with training and inference (Keras' <c>keras.Model</c>). Build one with the
/// functional API — <c>new Model(inputs, outputs)</c> from <see cref="KerasApi.Input"/> tensors — use
/// <see cref="Sequential"/> for a plain stack, or subclass <c>Model</c> and override
/// <see cref="Layer.CallAll"/> for arbitrary code. A model is itself a layer: call it on symbolic tensors to nest it
/// in a bigger model.
/// </summary>
/// <example>
/// <code>
/// var encoderInputs = KerasApi.Input(shape: [null, 16], name: "encoder_inputs");
/// var (_, h, c) = new LSTM(64, returnState: true).Apply(encoderInputs);
/// var decoderInputs = KerasApi.Input(shape: [null, 16], name: "decoder_inputs");
/// var decoderSeq = new LSTM(64, returnSequences: true).Apply(decoderInputs, initialState: [h, c]);
/// var outputs = new Dense(16, activation: "softmax").Apply(decoderSeq);
/// var model = new Model([encoderInputs, decoderInputs], outputs, name: "seq2seq");
/// model.Compile(optimizer: "rmsprop", loss: "categorical_crossentropy", metrics: ["accuracy"]);
/// </code>
/// </example>
public partial class Model : Layer
{
    private List<KerasTensor> _inputs = [];
    private List<KerasTensor> _outputs = [];
    private List<Node> _nodes = [];
    private Dictionary<int, List<Node>> _nodesByDepth = [];
    private List<Layer> _graphLayers = [];
    private string? _device;

    /// <summary>Creates a functional model from symbolic inputs and outputs.</summary>
    /// <param name="inputs">The model's inputs, from <see cref="KerasApi.Input"/>.</param>
    /// <param name="outputs">Tensors computed from the inputs by layer calls.</param>
    /// <param name="name">Name (default <c>functional</c>, made unique).</param>
    /// <exception cref="ArgumentException">The graph is disconnected, an output does not depend on the inputs, or layer names repeat.</exception>
    public Model(KerasTensors inputs, KerasTensors outputs, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        InitGraph(inputs, outputs);
    }

    /// <summary>Creates a model to subclass: override <see cref="Layer.CallAll"/> (or <c>Call</c>) and register sub-layers with <c>TrackLayer</c>.</summary>
    /// <param name="name">Name (default: snake_case class name, made unique).</param>
    protected Model(string? name = null) : base(name) { }

    private protected override string DefaultNameBase() =>
        GetType() == typeof(Model) ? "functional" : base.DefaultNameBase();

    /// <summary>Whether the model is a graph of layers (functional or built <see cref="Sequential"/>).</summary>
    internal bool IsGraphNetwork => _outputs.Count > 0;

    /// <summary>The symbolic inputs (empty for a subclassed or unbuilt model).</summary>
    public IReadOnlyList<KerasTensor> Inputs => _inputs;

    /// <summary>The symbolic outputs (empty for a subclassed or unbuilt model).</summary>
    public IReadOnlyList<KerasTensor> Outputs => _outputs;

    /// <summary>Names of the inputs (their input layers' names).</summary>
    public IReadOnlyList<string> InputNames => _inputs.Select(t => t.Node!.Layer.Name).ToList();

    /// <summary>Names of the outputs (the producing layers' names).</summary>
    public IReadOnlyList<string> OutputNames => _outputs.Select(t => t.Node!.Layer.Name).ToList();

    /// <summary>
    /// The layers in Keras' order: for a functional model every layer of the graph (input layers first), for a
    /// <see cref="Sequential"/> model the stacked layers, for a subclassed model the tracked ones.
    /// </summary>
    public virtual IReadOnlyList<Layer> Layers => IsGraphNetwork ? _graphLayers : TrackedLayers;

    /// <summary>The layer with this name.</summary>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentException">No layer has this name; the message lists the names.</exception>
    public Layer GetLayer(string name) =>
        Layers.FirstOrDefault(l => l.Name == name)
        ?? throw new ArgumentException($"No such layer: {name}. Existing layers are: [{string.Join(", ", Layers.Select(l => l.Name))}].", nameof(name));

    /// <summary>The layer at this position of <see cref="Layers"/>.</summary>
    /// <param name="index">Position.</param>
    /// <exception cref="ArgumentOutOfRangeException">Index outside the layer list.</exception>
    public Layer GetLayer(int index) =>
        index >= 0 && index < Layers.Count
            ? Layers[index]
            : throw new ArgumentOutOfRangeException(nameof(index), $"Was asked to retrieve layer at index {index} but model only has {Layers.Count} layers.");

    /// <summary>
    /// The device this model runs on: <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c>. Defaults to
    /// <see cref="KerasConfig.DefaultDevice"/>; setting it moves the weights (and optimizer state).
    /// </summary>
    /// <exception cref="ArgumentException">Not a device name.</exception>
    public string Device
    {
        get => _device ?? KerasConfig.DefaultDevice;
        set
        {
            _device = Devices.Normalize(value, nameof(Device));
            if (Built) EnsureOnDevice();
        }
    }

    /// <summary>The TorchSharp device of <see cref="Device"/>, after moving the weights there if needed.</summary>
    internal torch.Device EnsureOnDevice()
    {
        var device = Devices.Resolve(Device);
        foreach (var v in Weights)
            if (!Devices.IsOn(v.Value, device)) v.MoveTo(device);
        OnDeviceChanged(device);
        return device;
    }

    /// <summary>Hook for the optimizer state to follow the weights.</summary>
    partial void OnDeviceChangedCore(torch.Device device);

    private void OnDeviceChanged(torch.Device device) => OnDeviceChangedCore(device);

    /// <summary>Prints Keras' summary table: each layer's name and type, output shape and parameter count, then totals.</summary>
    /// <param name="lineLength">Total width (default: Keras' choice, at most 88 or 108 and the terminal width − 4).</param>
    /// <param name="printFn">Where the text goes (default: standard output).</param>
    /// <exception cref="InvalidOperationException">The model is not built yet.</exception>
    public void Summary(int? lineLength = null, Action<string>? printFn = null)
    {
        var text = SummaryText(lineLength);
        if (printFn is null) Console.Write(text);
        else printFn(text);
    }

    /// <summary>The text <see cref="Summary"/> prints.</summary>
    /// <param name="lineLength">Total width (default: Keras' choice).</param>
    /// <exception cref="InvalidOperationException">The model is not built yet.</exception>
    public string SummaryText(int? lineLength = null)
    {
        if (!Built)
            throw new InvalidOperationException(
                $"Model '{Name}' has not yet been built. Build it by calling it on data, by calling Build(shape), or give its first layer an input shape (an InputLayer or InputShape).");
        return Utils.SummaryUtils.Render(this, lineLength, OptimizerParameterCount());
    }

    // ---------------------------------------------------------------- graph construction

    /// <summary>Builds the graph structures from inputs and outputs (Keras' <c>map_graph</c>).</summary>
    private protected void InitGraph(IReadOnlyList<KerasTensor> inputs, IReadOnlyList<KerasTensor> outputs)
    {
        if (inputs.Count == 0) throw new ArgumentException($"Model '{Name}' needs at least one input.");
        if (outputs.Count == 0) throw new ArgumentException($"Model '{Name}' needs at least one output.");
        foreach (var x in inputs)
            if (x.Node is null || x.Node.Layer is not InputLayer)
                throw new ArgumentException(
                    $"All inputs of model '{Name}' must come from KerasApi.Input (an InputLayer); {x.Name} was produced by layer '{x.Node?.Layer.Name}'.");

        var finished = new HashSet<Node>();
        var inProgress = new HashSet<Node>();
        var ordered = new List<Node>();
        var layerIndices = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        var inputSet = new HashSet<KerasTensor>(inputs, ReferenceEqualityComparer.Instance);

        void Visit(KerasTensor tensor)
        {
            var node = tensor.Node;
            if (node is null) return;
            if (finished.Contains(node)) return;
            bool isInput = node.Layer is InputLayer;
            if (!isInput && inputSet.Contains(tensor)) { finished.Add(node); return; }
            if (inProgress.Contains(node))
                throw new ArgumentException($"Tensor {tensor.Name} from layer '{node.Layer.Name}' is part of a cycle.");
            if (!layerIndices.ContainsKey(node.Layer)) layerIndices[node.Layer] = layerIndices.Count;
            inProgress.Add(node);
            if (!isInput)
                foreach (var t in node.AllInputs) Visit(t);
            finished.Add(node);
            inProgress.Remove(node);
            ordered.Add(node);
        }
        foreach (var o in outputs) Visit(o);

        // An input layer reached from the outputs but not declared as an input can never receive data (Keras 3 fails
        // only when the model is called; failing here names the missing input).
        foreach (var node in ordered)
            if (node.Layer is InputLayer && !inputSet.Contains(node.Outputs[0]))
                throw new ArgumentException(
                    $"Graph disconnected: model '{Name}' uses the input \"{node.Layer.Name}\" {node.Outputs[0].Shape}, which is not among its inputs " +
                    $"[{string.Join(", ", inputs.Select(i => i.Node!.Layer.Name))}]. Add it to the model's inputs.");

        var inGraph = new HashSet<Node>(ordered);
        var nodeDepths = new Dictionary<Node, int>();
        var layerDepths = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        for (int k = ordered.Count - 1; k >= 0; k--)
        {
            var node = ordered[k];
            if (!nodeDepths.TryGetValue(node, out var depth)) { depth = 0; nodeDepths[node] = 0; }
            depth = Math.Max(depth, layerDepths.GetValueOrDefault(node.Layer, 0));
            layerDepths[node.Layer] = depth;
            nodeDepths[node] = depth;
            foreach (var parent in node.Parents)
            {
                if (!inGraph.Contains(parent)) continue;
                nodeDepths[parent] = Math.Max(depth + 1, nodeDepths.GetValueOrDefault(parent, 0));
            }
        }
        foreach (var x in inputs)
        {
            var layer = x.Node!.Layer;
            if (!layerDepths.ContainsKey(layer))
            {
                layerDepths[layer] = 0;
                layerIndices[layer] = -1;
                nodeDepths[x.Node] = 0;
            }
        }

        var layers = layerDepths.GroupBy(kv => kv.Value).OrderByDescending(g => g.Key)
            .SelectMany(g => g.Select(kv => kv.Key).OrderBy(l => layerIndices[l])).ToList();
        var byDepth = nodeDepths.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).ToList());

        // Every node's inputs must be computable from the model inputs.
        var computable = new HashSet<KerasTensor>(inputs, ReferenceEqualityComparer.Instance);
        var seenLayers = new List<string>();
        foreach (var depth in byDepth.Keys.OrderByDescending(d => d))
        {
            foreach (var node in byDepth[depth])
            {
                foreach (var t in node.AllInputs)
                    if (!computable.Contains(t))
                        throw new ArgumentException(
                            $"Graph disconnected: cannot find parent for tensor {t} at layer '{node.Layer.Name}'. " +
                            $"The following previous layers were accessed without issue: [{string.Join(", ", seenLayers)}]. " +
                            "Add the missing KerasApi.Input to the model's inputs.");
                seenLayers.Add(node.Layer.Name);
                foreach (var o in node.Outputs) computable.Add(o);
            }
        }
        foreach (var o in outputs)
            if (!computable.Contains(o))
                throw new ArgumentException($"Output {o.Name} of model '{Name}' is not connected to the inputs.");

        var duplicates = layers.GroupBy(l => l.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
            throw new ArgumentException(
                $"The name \"{duplicates[0]}\" is used {layers.Count(l => l.Name == duplicates[0])} times in the model. All layer names should be unique.");

        _inputs = inputs.ToList();
        _outputs = outputs.ToList();
        _nodes = ordered.Where(n => n.Layer is not InputLayer).ToList();
        _nodesByDepth = byDepth;
        _graphLayers = layers;
        foreach (var layer in _graphLayers.Where(l => l is not InputLayer)) TrackLayer(layer);
        Built = true;
    }

    /// <summary>Forgets the graph (before a <see cref="Sequential"/> model rebuilds it).</summary>
    private protected void ClearGraph()
    {
        _inputs = [];
        _outputs = [];
        _nodes = [];
        _nodesByDepth = [];
        _graphLayers = [];
    }

    /// <summary>Nodes of the graph grouped by depth (outputs at depth 0).</summary>
    internal IReadOnlyDictionary<int, List<Node>> NodesByDepth => _nodesByDepth;

    // ---------------------------------------------------------------- execution

    /// <summary>Runs the graph on real tensors, returning outputs and their masks.</summary>
    internal (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) RunGraph(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, bool training, List<Tensor>? losses)
    {
        if (inputs.Count != _inputs.Count)
            throw new ArgumentException(
                $"Model '{Name}' expects {_inputs.Count} input(s) ({string.Join(", ", InputNames)}), but it received {inputs.Count}.");
        var values = new Dictionary<KerasTensor, (Tensor Value, Tensor? Mask)>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Count; i++)
        {
            var spec = _inputs[i];
            var x = inputs[i];
            if (!spec.Shape.IsCompatibleWith(x.shape))
                throw new ArgumentException(
                    $"Input {i} (\"{InputNames[i]}\") of model \"{Name}\" is incompatible with the model: expected shape={spec.Shape}, found shape={Shape.Of(x.shape)}.");
            if (spec.DType != "float32" && x.is_floating_point())
                x = x.to_type(ScalarType.Int64);
            values[spec] = (x, masks is not null && i < masks.Count ? masks[i] : null);
        }

        foreach (var node in _nodes)
        {
            var nodeInputs = new Tensor[node.Inputs.Count];
            var nodeMasks = new Tensor?[node.Inputs.Count];
            for (int i = 0; i < node.Inputs.Count; i++)
                (nodeInputs[i], nodeMasks[i]) = values[node.Inputs[i]];
            if (node.Mask is { } explicitMasks)
                for (int i = 0; i < nodeMasks.Length; i++)
                    nodeMasks[i] = i < explicitMasks.Count ? values[explicitMasks[i]].Value.to_type(ScalarType.Bool) : null;
            IReadOnlyList<Tensor>? states = node.InitialState?.Select(t => values[t].Value).ToList();
            var (outs, outMasks) = node.Layer.Invoke(nodeInputs, nodeMasks, states, node.Training ?? training, node.Arguments, losses);
            if (outs.Count != node.Outputs.Count)
                throw new KerasLayerException(node.Layer, $"returned {outs.Count} outputs, but {node.Outputs.Count} were expected when the graph was built.");
            for (int i = 0; i < outs.Count; i++) values[node.Outputs[i]] = (outs[i], outMasks[i]);
        }
        return (_outputs.Select(o => values[o].Value).ToList(), _outputs.Select(o => values[o].Mask).ToList());
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        if (!IsGraphNetwork)
            throw new InvalidOperationException(
                $"Model '{Name}' has no graph: create it from inputs and outputs, or subclass Model and override CallAll.");
        return RunGraph(inputs, context.Masks, context.Training, context.LossSink).Outputs;
    }

    internal override (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training, IReadOnlyDictionary<string, object?>? arguments,
        List<Tensor>? losses)
    {
        if (!IsGraphNetwork) return base.Invoke(inputs, masks, initialState, training, arguments, losses);
        return RunGraph(inputs, masks, training, losses);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (!IsGraphNetwork) return base.ComputeOutputShapes(inputShapes, arguments);
        if (inputShapes.Count != _inputs.Count)
            throw new ArgumentException($"Model '{Name}' expects {_inputs.Count} input(s), got {inputShapes.Count}.");
        var shapes = new Dictionary<KerasTensor, Shape>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputShapes.Count; i++)
        {
            var expected = _inputs[i].Shape;
            var given = inputShapes[i];
            if (given.Rank != expected.Rank || Enumerable.Range(0, given.Rank).Any(k => given[k] is { } g && expected[k] is { } e && g != e))
                throw new ArgumentException(
                    $"Input {i} of model \"{Name}\" is incompatible with the model: expected shape={expected}, found shape={given}.");
            shapes[_inputs[i]] = given;
        }
        foreach (var node in _nodes)
        {
            var outShapes = node.Layer.ComputeOutputShapes(node.Inputs.Select(t => shapes[t]).ToList(), node.Arguments);
            for (int i = 0; i < node.Outputs.Count; i++) shapes[node.Outputs[i]] = outShapes[i];
        }
        return _outputs.Select(o => shapes[o]).ToList();
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<string> ComputeOutputDTypes(IReadOnlyList<string> inputDTypes, int outputCount) =>
        IsGraphNetwork ? _outputs.Select(o => o.DType).ToList() : base.ComputeOutputDTypes(inputDTypes, outputCount);

    /// <summary>Builds a subclassed model by running it once on zeros of the given shapes (batch unknown).</summary>
    /// <param name="inputShapes">One shape per input, batch first.</param>
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        if (IsGraphNetwork) return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var zeros = inputShapes.Select(s => torch.zeros(s.Select(d => (long)(d ?? 1)).ToArray())).ToList();
        var context = new CallContext(false, new Tensor?[zeros.Count], null, null, null);
        CallAll(zeros, context);
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = new Dictionary<string, object?> { ["name"] = Name, ["trainable"] = Trainable };
        if (IsGraphNetwork)
        {
            c["layers"] = Layers.ToList();
            c["input_layers"] = InputNames.ToList();
            c["output_layers"] = OutputNames.ToList();
        }
        return c;
    }
}
