using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving;

internal static partial class KerasLayerReader
{
    // ------------------------------------------------------------------ Sequential

    /// <summary>
    /// Keras' <c>Sequential.from_config</c>: <c>{name, layers, build_input_shape}</c>, or (Keras 1 to 2.1) the list of
    /// layers itself. The input shape comes from a leading <see cref="InputLayer"/>, from the first layer's
    /// <c>batch_input_shape</c> (Keras 2), or from <c>build_input_shape</c>; without one the model stays unbuilt.
    /// </summary>
    private static Sequential SequentialFromConfig(JsonNode? configNode, KerasLoadContext ctx, string location)
    {
        JsonArray layerList;
        string? name = null;
        bool trainable = true;
        Shape? buildInputShape = null;
        string layersLocation;
        if (configNode is JsonArray list)
        {
            layerList = list;
            layersLocation = location;
        }
        else if (configNode is JsonObject o)
        {
            var args = new ConfigArgs(o, $"Sequential model {DescribeName(o)}", location, ctx);
            name = args.Name();
            trainable = args.Bool("trainable", true);
            ReadLayerDType(args);
            var layersNode = args.Node("layers");
            layerList = layersNode as JsonArray ?? throw args.Bad("layers", "a list of serialized layers", layersNode);
            var buildNode = args.Node("build_input_shape");
            if (buildNode is not null && ConfigArgs.ShapeFrom(buildNode) is { Rank: > 0 } s) buildInputShape = s;
            args.Finish();
            layersLocation = location + ".layers";
        }
        else
        {
            throw ctx.Error(location, $"a Sequential config must be an object with 'name' and 'layers' (or, from Keras 1 to 2.1, the list of layers), found {KerasJson.Describe(configNode)}.");
        }

        var layers = new List<Layer>(layerList.Count);
        for (int i = 0; i < layerList.Count; i++)
        {
            var layerLocation = $"{layersLocation}[{i}]";
            var layer = DeserializeLayer(layerList[i] ?? throw ctx.Error(layerLocation, "expected a serialized layer, found null."), ctx, layerLocation);
            if (layer is InputLayer && i > 0)
                throw ctx.Error(layerLocation, $"an InputLayer ('{layer.Name}') can only be the first layer of a Sequential model.");
            layers.Add(layer);
        }

        // The input layer: explicit, from the first layer's input shape (Keras 2), or from build_input_shape.
        InputLayer? input = layers.FirstOrDefault() as InputLayer;
        var body = input is null ? layers : layers.Skip(1).ToList();
        if (input is null && body.Count > 0 && body[0].InputShape is { } firstShape)
            input = new InputLayer(firstShape, body[0].BatchSize, body[0].InputDType);
        if (input is null && buildInputShape is not null)
            input = new InputLayer(buildInputShape.Slice(1), buildInputShape[0], body.FirstOrDefault()?.InputDType ?? "float32");

        if (input is not null) ChargeSequential(body, input.BatchShape, ctx, layersLocation, firstIndex: layers.Count - body.Count);
        Sequential model;
        try
        {
            model = input is null ? new Sequential(body, name) : new Sequential([input, .. body], name);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KerasLayerException)
        {
            throw ctx.Error(location, $"Sequential model '{name ?? "?"}' cannot be built from its layers: {e.Message}", e);
        }
        if (!trainable) model.Trainable = false;
        return model;
    }

    /// <summary>Counts the weights a Sequential model will create against the budget, following the shapes layer by layer.</summary>
    private static void ChargeSequential(IReadOnlyList<Layer> layers, Shape inputShape, KerasLoadContext ctx, string location, int firstIndex)
    {
        var shape = inputShape;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            ctx.ChargeParameters(EstimateParameters(layer, [shape]), $"layer '{layer.Name}' ({layer.GetType().Name})", $"{location}[{i + firstIndex}]");
            if (!IsBuiltInLayer(layer) && !(layer is Model { Built: true })) return; // a custom layer's shapes are only known by running it
            try
            {
                var outputs = layer.ComputeOutputShapes([shape], CallContext.EmptyArguments);
                if (outputs.Count != 1) return;
                shape = outputs[0];
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or KerasLayerException)
            {
                return; // building the model reports it
            }
        }
    }

    private static bool IsBuiltInLayer(Layer layer) => layer.GetType().Assembly == typeof(Layer).Assembly && layer is not Lambda && layer is not Model;

    // ------------------------------------------------------------------ Functional

    /// <summary>How a node reference counts a nested model's nodes.</summary>
    private enum NodeIndexForm
    {
        /// <summary>Keras 3's <c>keras_history</c> of a <c>__keras_tensor__</c>: the index among the nodes of this model.</summary>
        History,

        /// <summary><c>[name, node, tensor]</c> of <c>input_layers</c>/<c>output_layers</c> and of Keras 2's
        /// <c>inbound_nodes</c>: a nested functional model's first call is node 1 (its own graph counted as node 0).</summary>
        Reference,
    }

    private sealed class GraphState(KerasLoadContext ctx, string location, string modelName)
    {
        public KerasLoadContext Context { get; } = ctx;
        public string Location { get; } = location;
        public string ModelName { get; } = modelName;
        public Dictionary<string, Layer> Layers { get; } = new(StringComparer.Ordinal);

        /// <summary>The nodes created by this reconstruction, per layer (an input layer's own node first).</summary>
        public Dictionary<Layer, List<Node>> Nodes { get; } = new(ReferenceEqualityComparer.Instance);
    }

    /// <summary>Thrown inside node processing when an inbound node does not exist yet (Keras' IndexError): retried later.</summary>
    private sealed class NodeNotReady : Exception;

    /// <summary>Keras' <c>functional_from_config</c>: creates every layer, then calls them on their inbound tensors in dependency order.</summary>
    private static Model FunctionalFromConfig(JsonNode? configNode, KerasLoadContext ctx, string location)
    {
        if (configNode is not JsonObject o)
            throw ctx.Error(location, $"a functional model config must be an object with 'layers', 'input_layers' and 'output_layers', found {KerasJson.Describe(configNode)}.");
        var args = new ConfigArgs(o, $"functional model {DescribeName(o)}", location, ctx);
        var name = args.Name();
        bool trainable = args.Bool("trainable", true);
        var layersNode = args.Node("layers");
        if (layersNode is not JsonArray layerList) throw args.Bad("layers", "a list of serialized layers", layersNode);
        var inputsNode = args.Node("input_layers");
        var outputsNode = args.Node("output_layers");
        if (inputsNode is null) throw args.Bad("input_layers", "the model's input tensors ([name, node, tensor] or a list of them)", inputsNode);
        if (outputsNode is null) throw args.Bad("output_layers", "the model's output tensors ([name, node, tensor] or a list of them)", outputsNode);
        ReadLayerDType(args);
        args.Finish();

        var state = new GraphState(ctx, location, name ?? "?");
        var pending = new List<(Layer Layer, Queue<(JsonNode Data, string Location)> Nodes)>();
        for (int i = 0; i < layerList.Count; i++)
        {
            var layerLocation = $"{location}.layers[{i}]";
            if (layerList[i] is not JsonObject layerData)
                throw ctx.Error(layerLocation, $"expected a serialized layer, found {KerasJson.Describe(layerList[i])}.");
            var layer = DeserializeLayer(layerData, ctx, layerLocation);
            var layerName = layerData["name"] is JsonValue ln && ln.GetValueKind() == JsonValueKind.String ? ln.GetValue<string>() : layer.Name;
            if (!state.Layers.TryAdd(layerName, layer))
                throw ctx.Error(layerLocation, $"the layer name '{layerName}' is used twice in model '{state.ModelName}'.");
            if (layer is InputLayer input) state.Nodes[layer] = [input.Output.Node!];
            else state.Nodes[layer] = [];

            var queue = new Queue<(JsonNode, string)>();
            var inbound = layerData["inbound_nodes"];
            if (inbound is JsonArray nodes)
            {
                for (int k = 0; k < nodes.Count; k++)
                {
                    var nodeLocation = $"{layerLocation}.inbound_nodes[{k}]";
                    if (nodes[k] is null || nodes[k] is JsonArray { Count: 0 })
                    {
                        if (layer is InputLayer) continue;
                        throw ctx.Error(nodeLocation, $"layer '{layerName}' has an empty inbound node.");
                    }
                    if (layer is InputLayer) throw ctx.Error(nodeLocation, $"input layer '{layerName}' cannot have inbound nodes.");
                    queue.Enqueue((nodes[k]!, nodeLocation));
                }
            }
            else if (inbound is not null)
            {
                throw ctx.Error(layerLocation + ".inbound_nodes", $"expected a list of nodes, found {KerasJson.Describe(inbound)}.");
            }
            if (queue.Count > 0) pending.Add((layer, queue));
        }

        // Process nodes in config order; a node whose inputs do not exist yet waits for the next pass.
        while (pending.Count > 0)
        {
            bool progress = false;
            foreach (var (layer, queue) in pending)
            {
                while (queue.Count > 0)
                {
                    var (data, nodeLocation) = queue.Peek();
                    try
                    {
                        ProcessNode(layer, data, state, nodeLocation);
                    }
                    catch (NodeNotReady)
                    {
                        break;
                    }
                    queue.Dequeue();
                    progress = true;
                }
            }
            pending.RemoveAll(p => p.Nodes.Count == 0);
            if (!progress)
                throw ctx.Error(location,
                    $"invalid functional model '{state.ModelName}': its graph has loops or refers to nodes that do not exist. Unresolved nodes: " +
                    string.Join("; ", pending.Select(p => $"layer '{p.Layer.Name}' at {p.Nodes.Peek().Location}")) + ".");
        }

        var inputs = TensorList(inputsNode, state, location + ".input_layers");
        var outputs = TensorList(outputsNode, state, location + ".output_layers");
        Model model;
        try
        {
            model = new Model(inputs, outputs, name);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KerasLayerException)
        {
            throw ctx.Error(location, $"functional model '{state.ModelName}' cannot be built: {e.Message}", e);
        }
        if (!trainable) model.Trainable = false;
        return model;
    }

    /// <summary><c>input_layers</c>/<c>output_layers</c>: one <c>[name, node, tensor]</c>, a list of them, or a dict of them (in order).</summary>
    private static List<KerasTensor> TensorList(JsonNode node, GraphState state, string location)
    {
        var result = new List<KerasTensor>();
        void Collect(JsonNode? n, string loc, int depth)
        {
            if (depth > 16) throw state.Context.Error(loc, "tensor references nested too deeply.");
            switch (n)
            {
                case JsonArray a when IsReference(a):
                    result.Add(ResolveReference(a, state, loc, NodeIndexForm.Reference) ?? throw state.Context.Error(loc,
                        $"the tensor {a.ToJsonString()} of model '{state.ModelName}' does not exist (layer '{a[0]}' has no such node)."));
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++) Collect(a[i], $"{loc}[{i}]", depth + 1);
                    break;
                case JsonObject o:
                    foreach (var (k, v) in o) Collect(v, $"{loc}.{k}", depth + 1);
                    break;
                default:
                    throw state.Context.Error(loc, $"expected a tensor reference [layer_name, node_index, tensor_index], found {KerasJson.Describe(n)}.");
            }
        }
        Collect(node, location, 0);
        if (result.Count == 0) throw state.Context.Error(location, "the model needs at least one tensor here.");
        return result;
    }

    /// <summary>A <c>[name, node, tensor]</c> (or Keras 2's <c>[name, node, tensor, kwargs]</c>) reference.</summary>
    private static bool IsReference(JsonArray a) =>
        a.Count is 3 or 4 && a[0] is JsonValue v && v.GetValueKind() == JsonValueKind.String
        && ConfigArgs.AsLong(a[1]) is not null && ConfigArgs.AsLong(a[2]) is not null;

    /// <summary>The tensor a reference names, or <c>null</c> when its node does not exist yet.</summary>
    private static KerasTensor? ResolveReference(JsonArray a, GraphState state, string location, NodeIndexForm form)
    {
        var layerName = a[0]!.GetValue<string>();
        long nodeIndex = ConfigArgs.AsLong(a[1])!.Value, tensorIndex = ConfigArgs.AsLong(a[2])!.Value;
        if (!state.Layers.TryGetValue(layerName, out var layer))
            throw state.Context.Error(location, $"model '{state.ModelName}' refers to layer '{layerName}', which is not among its layers.");
        if (nodeIndex < 0 || tensorIndex < 0)
            throw state.Context.Error(location, $"negative node or tensor index in {a.ToJsonString()}.");
        if (form == NodeIndexForm.Reference && nodeIndex >= 1 && CountsOwnGraphAsNode(layer, state.Context)) nodeIndex--;
        if (layer is InputLayer) nodeIndex = 0;
        var nodes = state.Nodes[layer];
        if (nodeIndex >= nodes.Count) return null;
        var outputs = nodes[(int)nodeIndex].Outputs;
        if (tensorIndex >= outputs.Count)
            throw state.Context.Error(location,
                $"{a.ToJsonString()} asks for output {tensorIndex} of layer '{layerName}', which has {outputs.Count} output(s) at that node.");
        return outputs[(int)tensorIndex];
    }

    /// <summary>Whether Keras counted a nested model's own graph as its node 0 in references: functional models
    /// always; Sequential models in Keras 1 and 2 (where Sequential was a functional network).</summary>
    private static bool CountsOwnGraphAsNode(Layer layer, KerasLoadContext ctx) =>
        layer is Model { IsGraphNetwork: true } and not Sequential || layer is Sequential && ctx.IsLegacy;

    /// <summary>Calls <paramref name="layer"/> as one inbound node describes (Keras' <c>process_node</c>).</summary>
    private static void ProcessNode(Layer layer, JsonNode data, GraphState state, string location)
    {
        var ctx = state.Context;
        List<KerasTensor> inputs;
        List<KerasTensor>? initialState = null;
        List<KerasTensor>? mask = null;
        bool? training = null;
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);

        if (IsAttentionLayer(layer))
        {
            inputs = ReadAttentionCall(layer, data, state, location, ref mask, ref training, arguments);
        }
        else if (data is JsonArray legacy)
        {
            // Keras 1/2: [[name, node, tensor, {kwargs}], ...]; the kwargs are repeated on every input.
            inputs = [];
            JsonObject? kwargs = null;
            for (int i = 0; i < legacy.Count; i++)
            {
                if (legacy[i] is not JsonArray reference || !IsReference(reference))
                    throw ctx.Error($"{location}[{i}]", $"expected an input reference [layer_name, node_index, tensor_index, kwargs], found {KerasJson.Describe(legacy[i])}.");
                inputs.Add(ResolveReference(reference, state, $"{location}[{i}]", NodeIndexForm.Reference) ?? throw new NodeNotReady());
                if (reference.Count == 4)
                {
                    kwargs = reference[3] switch
                    {
                        JsonObject k => k,
                        null => null,
                        var other => throw ctx.Error($"{location}[{i}][3]", $"expected the call's keyword arguments (an object), found {KerasJson.Describe(other)}."),
                    };
                }
            }
            if (kwargs is not null)
                ReadKwargs(kwargs, state, $"{location}[{legacy.Count - 1}][3]", NodeIndexForm.Reference, ref initialState, ref mask, ref training, arguments);
            // Keras 2.0-2.2 passed an RNN's initial states as extra inputs after the sequence.
            if (inputs.Count > 1 && initialState is null && layer is RNN or Bidirectional)
            {
                initialState = inputs.Skip(1).ToList();
                inputs = [inputs[0]];
            }
        }
        else if (data is JsonObject call)
        {
            var argsNode = call["args"];
            if (argsNode is not JsonArray positional)
                throw ctx.Error(location + ".args", $"expected the call's positional arguments (a list), found {KerasJson.Describe(argsNode)}.");
            if (positional.Count == 0) throw ctx.Error(location + ".args", $"layer '{layer.Name}' is called without inputs.");
            inputs = Tensors(positional[0], state, location + ".args[0]", NodeIndexForm.History)
                     ?? throw ctx.Error(location + ".args[0]", $"expected the input tensor(s), found {KerasJson.Describe(positional[0])}.");
            if (positional.Count == 2 && layer is NotEqual)
            {
                // ops.not_equal(x, y): y is a tensor or a plain number.
                if (Tensors(positional[1], state, location + ".args[1]", NodeIndexForm.History, allowPlain: true) is { Count: > 0 } other)
                    inputs = [.. inputs, .. other];
                else if (positional[1] is JsonValue v && v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                    arguments["y"] = v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : v.GetValue<bool>() ? 1.0 : 0.0;
                else
                    throw ctx.Error(location + ".args[1]", $"expected a tensor or a number, found {KerasJson.Describe(positional[1])}.");
            }
            else if (positional.Count > 1)
            {
                if (layer is not (RNN or Bidirectional) || positional.Count > 3)
                    throw ctx.Error(location + ".args", $"layer '{layer.Name}' ({layer.GetType().Name}) is called with {positional.Count} positional arguments; only the inputs are supported (and an RNN's initial state and mask).");
                initialState = positional[1] is null ? null : Tensors(positional[1], state, location + ".args[1]", NodeIndexForm.History);
                if (positional.Count > 2 && positional[2] is not null) mask = Tensors(positional[2], state, location + ".args[2]", NodeIndexForm.History);
            }
            switch (call["kwargs"])
            {
                case null:
                    break;
                case JsonObject kwargs:
                    ReadKwargs(kwargs, state, location + ".kwargs", NodeIndexForm.History, ref initialState, ref mask, ref training, arguments);
                    break;
                case var other:
                    throw ctx.Error(location + ".kwargs", $"expected the call's keyword arguments (an object), found {KerasJson.Describe(other)}.");
            }
            foreach (var (key, _) in call)
                if (key is not ("args" or "kwargs"))
                    throw ctx.Error(location, $"unexpected key '{key}' in a node (expected 'args' and 'kwargs').");
        }
        else
        {
            throw ctx.Error(location, $"expected an inbound node ({{\"args\", \"kwargs\"}} or a list of [layer_name, node_index, tensor_index, kwargs]), found {KerasJson.Describe(data)}.");
        }

        if (!layer.Built)
            ctx.ChargeParameters(EstimateParameters(layer, inputs.Select(t => t.Shape).ToList()), $"layer '{layer.Name}' ({layer.GetType().Name})", location);
        try
        {
            layer.Apply(new KerasTensors(inputs), initialState is null ? null : new KerasTensors(initialState),
                mask is null ? null : new KerasTensors(mask), training, arguments.Count == 0 ? null : arguments);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KerasLayerException)
        {
            throw ctx.Error(location,
                $"calling layer '{layer.Name}' ({layer.GetType().Name}) on input(s) {string.Join(", ", inputs.Select(t => t.Shape))} failed: {e.Message}", e);
        }
        state.Nodes[layer].Add(layer.InboundNodes[^1]);
    }

    /// <summary>Keyword arguments of a call: <c>initial_state</c>, <c>mask</c>, <c>training</c>; other plain values are passed on.</summary>
    private static void ReadKwargs(JsonObject kwargs, GraphState state, string location, NodeIndexForm form,
        ref List<KerasTensor>? initialState, ref List<KerasTensor>? mask, ref bool? training, Dictionary<string, object?> arguments)
    {
        var ctx = state.Context;
        foreach (var (key, value) in kwargs)
        {
            var loc = $"{location}.{key}";
            switch (key)
            {
                case "initial_state" or "initial_states":
                    if (value is null) break;
                    initialState = Tensors(value, state, loc, form)
                                   ?? throw ctx.Error(loc, $"expected the initial state tensor(s), found {KerasJson.Describe(value)}.");
                    break;
                case "mask":
                    if (value is null) break;
                    mask = Tensors(value, state, loc, form) ?? throw ctx.Error(loc, $"expected the mask tensor(s), found {KerasJson.Describe(value)}.");
                    break;
                case "training":
                    if (value is null) break;
                    if (value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False) training = b.GetValue<bool>();
                    else throw ctx.Error(loc, $"expected a boolean, found {KerasJson.Describe(value)}.");
                    break;
                default:
                    if (value is not null && Tensors(value, state, loc, form, allowPlain: true) is { Count: > 0 })
                        throw ctx.Error(loc, $"tensor keyword argument '{key}' is not supported (only initial_state, mask and training).");
                    arguments[key] = KerasJson.ToPlain(value);
                    break;
            }
        }
    }

    /// <summary>
    /// The tensors in a call argument: Keras 3's <c>__keras_tensor__</c> objects, Keras 2's <c>[name, node, tensor]</c>
    /// references, and lists of them. <c>null</c> when the value holds no tensor (with <paramref name="allowPlain"/>: an
    /// empty list). Throws <see cref="NodeNotReady"/> when a referenced node does not exist yet.
    /// </summary>
    private static List<KerasTensor>? Tensors(JsonNode? value, GraphState state, string location, NodeIndexForm form, bool allowPlain = false)
    {
        var result = new List<KerasTensor>();
        bool Collect(JsonNode? n, string loc, int depth)
        {
            if (depth > 16) throw state.Context.Error(loc, "tensor arguments nested too deeply.");
            switch (n)
            {
                case JsonObject o when o["class_name"] is JsonValue cn && cn.GetValueKind() == JsonValueKind.String && cn.GetValue<string>() == "__keras_tensor__":
                    var history = o["config"] is JsonObject c ? c["keras_history"] : null;
                    if (history is not JsonArray h || !IsReference(h))
                        throw state.Context.Error(loc, $"a __keras_tensor__ argument needs its keras_history [layer_name, node_index, tensor_index], found {KerasJson.Describe(history)}.");
                    result.Add(ResolveReference(h, state, loc, NodeIndexForm.History) ?? throw new NodeNotReady());
                    return true;
                case JsonArray a when form == NodeIndexForm.Reference && IsReference(a):
                    result.Add(ResolveReference(a, state, loc, NodeIndexForm.Reference) ?? throw new NodeNotReady());
                    return true;
                case JsonArray a:
                    bool any = false;
                    for (int i = 0; i < a.Count; i++) any |= Collect(a[i], $"{loc}[{i}]", depth + 1);
                    return any;
                default:
                    return false;
            }
        }
        bool found = Collect(value, location, 0);
        if (!found) return allowPlain ? result : null;
        return result;
    }
}
