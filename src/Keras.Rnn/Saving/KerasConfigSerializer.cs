using System.Collections;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Regularizers;

namespace Keras.Rnn.Saving;

/// <summary>
/// Turns a model into Keras 3's serialized form (<c>serialization_lib.serialize_keras_object</c>), the content of a
/// <c>.keras</c> archive's <c>config.json</c>: every object as
/// <c>{"module", "class_name", "config", "registered_name"}</c> (layers and models also with <c>build_config</c>,
/// models with <c>compile_config</c>), activations as their names, shapes as lists with <c>null</c>, functional
/// models with their layers' <c>inbound_nodes</c> in Keras 3's <c>{"args", "kwargs"}</c> form.
/// </summary>
/// <remarks>
/// Configs come from <see cref="Layer.GetConfig"/>; only the form is Keras' here: a layer's <c>dtype</c> string
/// becomes Keras' <c>DTypePolicy</c> object, <see cref="Sequential"/> and functional configs are built from the graph
/// as Keras' <c>Sequential.get_config</c> and <c>Functional.get_config</c> do. A layer serialized twice (shared
/// between a nested model and its parent) gets Keras' <c>shared_object_id</c> on both copies.
/// </remarks>
internal sealed class KerasConfigSerializer
{
    private readonly Dictionary<Layer, (JsonObject First, int? Id)> _serializedLayers = new(ReferenceEqualityComparer.Instance);
    private int _nextSharedId = 1;

    /// <summary>The model's <c>config.json</c> object.</summary>
    public static JsonObject SerializeModel(Model model) => new KerasConfigSerializer().SerializeLayer(model);

    /// <summary>Keras' serialized form of a layer (or model).</summary>
    public JsonObject SerializeLayer(Layer layer)
    {
        var (module, className, registeredName) = Identity(layer);
        JsonObject config = layer switch
        {
            Sequential sequential => SequentialConfig(sequential),
            Model { IsGraphNetwork: true } functional => FunctionalConfig(functional),
            _ => ConfigObject(layer.GetConfig(), layer),
        };
        var result = new JsonObject
        {
            ["module"] = module,
            ["class_name"] = className,
            ["config"] = config,
            ["registered_name"] = registeredName,
        };
        if (BuildConfig(layer) is { } build) result["build_config"] = build;
        if (layer is Model model) result["compile_config"] = CompileConfig(model);
        RecordSharing(layer, result);
        return result;
    }

    /// <summary>Keras' <c>record_object_after_serialization</c>: a second serialization marks both copies as one object.</summary>
    private void RecordSharing(Layer layer, JsonObject serialized)
    {
        if (!_serializedLayers.TryGetValue(layer, out var previous))
        {
            _serializedLayers[layer] = (serialized, null);
            return;
        }
        int id = previous.Id ?? _nextSharedId++;
        previous.First["shared_object_id"] = id;
        serialized["shared_object_id"] = id;
        _serializedLayers[layer] = (previous.First, id);
    }

    private static bool IsBuiltIn(Type type) => type.Assembly == typeof(Layer).Assembly;

    /// <summary>Module, class name and registered name as Keras' <c>serialize_keras_object</c> writes them.</summary>
    private static (string? Module, string ClassName, string? RegisteredName) Identity(Layer layer)
    {
        var className = WeightsLayout.KerasClassName(layer);
        var type = layer.GetType();
        if (!IsBuiltIn(type)) return (type.Namespace, className, className);
        return layer switch
        {
            Sequential => ("keras", "Sequential", null),
            // Functional is not exported by Keras: it is written with its source module and registered name.
            Model when type == typeof(Model) => ("keras.src.models.functional", "Functional", "Functional"),
            NotEqual => ("keras.src.ops.numpy", "NotEqual", "NotEqual"),
            _ => ("keras.layers", className, null),
        };
    }

    /// <summary>Keras' <c>get_build_config</c>: the shape(s) the layer was built with.</summary>
    private static JsonObject? BuildConfig(Layer layer)
    {
        switch (layer)
        {
            case InputLayer:
                return null; // never goes through build()
            case Sequential sequential:
                return sequential.IsGraphNetwork ? new JsonObject { ["input_shape"] = ShapeNode(sequential.Inputs[0].Shape) } : null;
            case Model { IsGraphNetwork: true }:
                return new JsonObject { ["input_shape"] = null }; // Functional builds itself with build(None)
        }
        if (!layer.Built || layer.BuildInputShapes is not { Count: > 0 } shapes) return null;
        // RNN.build(sequences_shape, initial_state_shape): with an initial state Keras records both by name.
        if (layer is RNN or Bidirectional && layer.InboundNodes.FirstOrDefault()?.InitialState is { Count: > 0 } states)
        {
            return new JsonObject
            {
                ["shapes_dict"] = new JsonObject
                {
                    ["sequences_shape"] = ShapeNode(shapes[0]),
                    ["initial_state_shape"] = new JsonArray(states.Select(s => (JsonNode?)ShapeNode(s.Shape)).ToArray()),
                },
            };
        }
        // MultiHeadAttention.build(query_shape, value_shape, key_shape=None): Keras records the shapes by name.
        if (layer is MultiHeadAttention && shapes.Count >= 2)
        {
            var dict = new JsonObject { ["query_shape"] = ShapeNode(shapes[0]), ["value_shape"] = ShapeNode(shapes[1]) };
            var first = layer.InboundNodes.FirstOrDefault();
            bool ownKey = shapes.Count > 2 && (first is null || first.Inputs.Count < 3 || !ReferenceEquals(first.Inputs[2], first.Inputs[1]));
            if (ownKey) dict["key_shape"] = ShapeNode(shapes[2]);
            return new JsonObject { ["shapes_dict"] = dict };
        }
        JsonNode? inputShape = shapes.Count == 1
            ? ShapeNode(shapes[0])
            : new JsonArray(shapes.Select(s => (JsonNode?)ShapeNode(s)).ToArray());
        return new JsonObject { ["input_shape"] = inputShape };
    }

    private static JsonObject CompileConfig(Model model)
    {
        var serializer = new KerasConfigSerializer();
        if (model.CompileConfig() is not { } compile) return new JsonObject();
        var result = new JsonObject();
        foreach (var (key, value) in compile) result[key] = serializer.Value(value, key, model);
        // Keras' compile wraps the optimizer of a loss-scaling (mixed_float16) model in a LossScaleOptimizer, and
        // saves the wrapper (loss_scale_optimizer.py get_config).
        if (model.UsesLossScaling && result["optimizer"] is JsonNode inner)
        {
            result["optimizer"] = new JsonObject
            {
                ["module"] = "keras.optimizers",
                ["class_name"] = "LossScaleOptimizer",
                ["config"] = new JsonObject
                {
                    ["name"] = "loss_scale_optimizer",
                    ["inner_optimizer"] = inner.DeepClone(),
                    ["initial_scale"] = Training.LossScaler.InitialScale,
                    ["dynamic_growth_steps"] = Training.LossScaler.DefaultGrowthSteps,
                },
                ["registered_name"] = null,
            };
        }
        return result;
    }

    private static JsonObject DTypePolicy(string name) => new()
    {
        ["module"] = "keras",
        ["class_name"] = "DTypePolicy",
        ["config"] = new JsonObject { ["name"] = name },
        ["registered_name"] = null,
    };

    /// <summary>A layer's <c>GetConfig</c> in Keras' form.</summary>
    private JsonObject ConfigObject(IEnumerable<KeyValuePair<string, object?>> config, Layer owner)
    {
        var result = new JsonObject();
        foreach (var (key, value) in config)
        {
            // Keras serializes a layer's dtype as its DTypePolicy; InputLayer keeps the plain dtype string.
            if (key == "dtype" && value is string dtype && owner is not InputLayer)
                result[key] = DTypePolicy(dtype);
            else
                result[key] = Value(value, key, owner);
        }
        return result;
    }

    private JsonObject SequentialConfig(Sequential model)
    {
        var config = model.GetConfig();
        var result = new JsonObject
        {
            ["name"] = model.Name,
            ["trainable"] = model.Trainable,
            ["dtype"] = DTypePolicy("float32"),
            ["layers"] = Value(config.GetValueOrDefault("layers"), "layers", model),
        };
        if (model.IsGraphNetwork) result["build_input_shape"] = ShapeNode(model.Inputs[0].Shape);
        return result;
    }

    /// <summary>Keras' <c>Functional.get_config</c>: layers with their inbound nodes, input and output layers.</summary>
    private JsonObject FunctionalConfig(Model model)
    {
        var ownNodes = new HashSet<Node>(model.NodesByDepth.Values.SelectMany(n => n), ReferenceEqualityComparer.Instance);
        // Node indices as the saved config counts them: only the nodes of this model, a functional model's from 1.
        var reindexed = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        foreach (var layer in model.Layers)
        {
            int kept = layer is Model { IsGraphNetwork: true } and not Sequential ? 1 : 0;
            foreach (var node in layer.InboundNodes)
                if (ownNodes.Contains(node)) reindexed[node] = kept++;
        }

        var layers = new JsonArray();
        foreach (var layer in model.Layers)
        {
            var serialized = SerializeLayer(layer);
            serialized["name"] = layer.Name;
            var inbound = new JsonArray();
            foreach (var node in layer.InboundNodes)
                if (ownNodes.Contains(node) && SerializeNode(node, ownNodes) is { } data) inbound.Add(data);
            serialized["inbound_nodes"] = inbound;
            layers.Add(serialized);
        }

        JsonNode TensorConfig(KerasTensor t)
        {
            var node = t.Node ?? throw new InvalidOperationException($"Tensor {t.Name} of model '{model.Name}' has no producing layer.");
            if (!reindexed.TryGetValue(node, out var index))
                throw new InvalidOperationException($"Internal error: the node of layer '{node.Layer.Name}' producing {t.Name} is not part of model '{model.Name}'.");
            return new JsonArray(node.Layer.Name, index, t.TensorIndex);
        }
        JsonNode Tensors(IReadOnlyList<KerasTensor> tensors) =>
            tensors.Count == 1 ? TensorConfig(tensors[0]) : new JsonArray(tensors.Select(t => (JsonNode?)TensorConfig(t)).ToArray());

        return new JsonObject
        {
            ["name"] = model.Name,
            ["trainable"] = model.Trainable,
            ["layers"] = layers,
            ["input_layers"] = Tensors(model.Inputs),
            ["output_layers"] = Tensors(model.Outputs),
        };
    }

    /// <summary>Keras' <c>serialize_node</c>: the call's positional and keyword arguments, tensors as <c>__keras_tensor__</c>.</summary>
    private JsonObject? SerializeNode(Node node, HashSet<Node> ownNodes)
    {
        if (node.Inputs.Count == 0) return null; // input layers
        JsonObject Tensor(KerasTensor t) => KerasTensorNode(t, ownNodes);
        JsonNode TensorList(IReadOnlyList<KerasTensor> tensors) => new JsonArray(tensors.Select(t => (JsonNode?)Tensor(t)).ToArray());

        // One input is passed as itself, several as one list argument (as in Concatenate()([a, b])).
        var args = new JsonArray(node.Inputs.Count == 1 ? Tensor(node.Inputs[0]) : TensorList(node.Inputs));
        var kwargs = new JsonObject();
        if (node.Layer is NotEqual notEqual)
        {
            // Keras' ops.not_equal(x, y): both operands are positional.
            args = node.Inputs.Count == 2 ? new JsonArray(Tensor(node.Inputs[0]), Tensor(node.Inputs[1])) : new JsonArray(Tensor(node.Inputs[0]),
                JsonValue.Create(node.Arguments.TryGetValue("y", out var y) && y is not null ? Convert.ToDouble(y, System.Globalization.CultureInfo.InvariantCulture) : notEqual.Y));
            return new JsonObject { ["args"] = args, ["kwargs"] = kwargs };
        }
        if (node.Layer is MultiHeadAttention && node.Inputs.Count >= 2)
        {
            // Keras' mha(query, value[, key], attention_mask=...): separate arguments, the key omitted when it is the value.
            args = new JsonArray(Tensor(node.Inputs[0]), Tensor(node.Inputs[1]));
            if (node.Inputs.Count > 2 && !ReferenceEquals(node.Inputs[2], node.Inputs[1])) args.Add(Tensor(node.Inputs[2]));
            if (node.Inputs.Count > 3) kwargs["attention_mask"] = Tensor(node.Inputs[3]);
        }
        foreach (var (key, value) in node.Arguments) kwargs[key] = Value(value, key, node.Layer);
        if (node.InitialState is { Count: > 0 } states) kwargs["initial_state"] = TensorList(states);
        if (node.Mask is { Count: > 0 } masks) kwargs["mask"] = masks.Count == 1 ? Tensor(masks[0]) : TensorList(masks);
        if (node.Training is { } training) kwargs["training"] = training;
        return new JsonObject { ["args"] = args, ["kwargs"] = kwargs };
    }

    private static JsonObject KerasTensorNode(KerasTensor t, HashSet<Node> ownNodes)
    {
        JsonNode? history = null;
        if (t.Node is { } node)
        {
            var inbound = node.Layer.InboundNodes;
            int index = inbound.IndexOf(node);
            int irrelevant = inbound.Take(index).Count(n => !ownNodes.Contains(n));
            history = new JsonArray(node.Layer.Name, index - irrelevant, t.TensorIndex);
        }
        return new JsonObject
        {
            ["class_name"] = "__keras_tensor__",
            ["config"] = new JsonObject
            {
                ["shape"] = ShapeNode(t.Shape),
                ["dtype"] = t.DType,
                ["keras_history"] = history,
            },
        };
    }

    private static JsonArray ShapeNode(IEnumerable<int?> shape) => new(shape.Select(d => d is { } v ? (JsonNode?)JsonValue.Create(v) : null).ToArray());

    private JsonObject KerasObject(string module, string className, IReadOnlyDictionary<string, object?> config, Type type, Layer owner)
    {
        var inner = new JsonObject();
        foreach (var (key, value) in config) inner[key] = Value(value, key, owner);
        bool builtIn = IsBuiltIn(type);
        return new JsonObject
        {
            ["module"] = builtIn ? module : type.Namespace,
            ["class_name"] = className,
            ["config"] = inner,
            ["registered_name"] = builtIn ? null : className,
        };
    }

    /// <summary>
    /// Any other object with a public <c>GetConfig()</c> returning a string-keyed dictionary (optimizers, losses,
    /// metrics in a compile config): Keras' <c>{module, class_name, config, registered_name}</c>, the class name from
    /// a public <c>ClassName</c> property when there is one, the module mapped from our namespace
    /// (<c>Keras.Rnn.Optimizers</c> → <c>keras.optimizers</c>); objects from other assemblies keep their namespace
    /// and are registered under their class name, as Keras writes custom objects.
    /// </summary>
    private JsonObject? ConfigurableObject(object value, Layer owner)
    {
        var type = value.GetType();
        var getConfig = type.GetMethod("GetConfig", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance, Type.EmptyTypes);
        if (getConfig is null || getConfig.Invoke(value, null) is not IEnumerable<KeyValuePair<string, object?>> config) return null;
        var className = type.GetProperty("ClassName", typeof(string))?.GetValue(value) as string ?? type.Name;
        var module = type.Namespace is { } ns && ns.StartsWith("Keras.Rnn.", StringComparison.Ordinal)
            ? "keras." + ns["Keras.Rnn.".Length..].ToLowerInvariant()
            : "keras";
        return KerasObject(module, className, config.ToDictionary(kv => kv.Key, kv => kv.Value), type, owner);
    }

    /// <summary>One config value in Keras' form.</summary>
    private JsonNode? Value(object? value, string key, Layer owner)
    {
        switch (value)
        {
            case null:
                return null;
            case JsonNode node:
                return node.DeepClone();
            case string s:
                return s;
            case bool b:
                return b;
            case int or long or short or byte or sbyte or ushort or uint:
                return JsonValue.Create(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            case float f:
                return JsonValue.Create((double)f);
            case double d:
                return JsonValue.Create(d);
            case Enum e:
                return Utils.Naming.ToSnakeCase(e.ToString());
            case Shape shape:
                return ShapeNode(shape);
            case KerasTensor tensor:
                return KerasTensorNode(tensor, []);
            case Layer layer:
                return SerializeLayer(layer);
            case ActivationFunction activation:
                return activation.Name;
            // Keras keeps "accuracy", "crossentropy" (and their short forms) as strings in compile configs: they are
            // resolved from the data's shapes when the model is compiled again.
            case Metrics.UnresolvedMetric metric:
                return metric.Identifier;
            case Losses.UnresolvedLoss loss:
                return loss.Identifier;
            case Initializer initializer:
                return KerasObject("keras.initializers", initializer.ClassName, initializer.GetConfig(), initializer.GetType(), owner);
            case Regularizer regularizer:
                return KerasObject("keras.regularizers", regularizer.ClassName, regularizer.GetConfig(), regularizer.GetType(), owner);
            case Constraint constraint:
                return KerasObject("keras.constraints", constraint.ClassName, constraint.GetConfig(), constraint.GetType(), owner);
            case IEnumerable<KeyValuePair<string, object?>> dictionary:
                var obj = new JsonObject();
                foreach (var (k, v) in dictionary) obj[k] = Value(v, k, owner);
                return obj;
            case IEnumerable<int?> dims:
                return ShapeNode(dims);
            case IEnumerable items:
                var array = new JsonArray();
                foreach (var item in items) array.Add(Value(item, key, owner));
                return array;
            default:
                if (ConfigurableObject(value, owner) is { } configurable) return configurable;
                throw new InvalidOperationException(
                    $"Cannot serialize the config entry '{key}' of layer '{owner.Name}' ({owner.GetType().Name}): values of type {value.GetType().Name} have no Keras JSON form. " +
                    "GetConfig must return numbers, strings, booleans, shapes, lists, dictionaries, layers, initializers, regularizers, constraints or activations.");
        }
    }
}
