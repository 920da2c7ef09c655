using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;

namespace Keras.Rnn.Saving;

internal static partial class KerasLayerReader
{
    // ------------------------------------------------------------------ factories

    private static Layer AttentionLayer(ConfigArgs a, string? name)
    {
        RejectLegacyCausal(a);
        return new Attention(a.Bool("use_scale", false), a.String("score_mode", "dot")!, AttentionDropout(a), a.NullableInt("seed"), name);
    }

    private static Layer AdditiveAttentionLayer(ConfigArgs a, string? name)
    {
        RejectLegacyCausal(a);
        // Keras 3 drops score_mode from AdditiveAttention's config; older configs may still carry the inherited "dot".
        if (a.String("score_mode", "dot") != "dot")
            throw a.Bad("score_mode", "\"dot\" or absent (AdditiveAttention always adds query and key)", a.Raw["score_mode"]);
        return new AdditiveAttention(a.Bool("use_scale", true), AttentionDropout(a), a.NullableInt("seed"), name);
    }

    private static double AttentionDropout(ConfigArgs a) => a.Double("dropout", 0.0, 0.0, 0.999999999);

    /// <summary>tf.keras 2 attention layers took <c>causal</c> in the constructor; Keras 3 takes <c>use_causal_mask</c> per call.</summary>
    private static void RejectLegacyCausal(ConfigArgs a)
    {
        if (a.Bool("causal", false))
            throw a.Fail("'causal': true (a tf.keras 2 constructor argument) has no Keras 3 equivalent in the config; " +
                         "load the layer without it and call it with use_causal_mask: true.");
    }

    private static Layer MultiHeadAttentionLayer(ConfigArgs a, string? name)
    {
        IgnoreInactiveQuantization(a);
        // flash_attention is a backend speed choice that Keras does not save; accepted and ignored if present. tf.keras 2
        // recorded the build shapes (query_shape, key_shape, value_shape) in the config: the graph's call builds the layer.
        a.Ignore("flash_attention", "query_shape", "key_shape", "value_shape");
        var outputShape = a.IntList("output_shape", 1, ConfigArgs.MaxSize);
        var attentionAxes = a.IntList("attention_axes", -64, 64);
        return new MultiHeadAttention(a.Size("num_heads"), a.Size("key_dim"), a.NullableInt("value_dim", 1, ConfigArgs.MaxSize),
            AttentionDropout(a), a.Bool("use_bias", true), outputShape is { Length: > 0 } ? outputShape : null, attentionAxes,
            a.NullableInt("sliding_window", 1, int.MaxValue), a.Initializer("kernel_initializer", () => new GlorotUniform()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Regularizer("kernel_regularizer"), a.Regularizer("bias_regularizer"),
            a.Constraint("kernel_constraint"), a.Constraint("bias_constraint"), a.Bool("use_gate", false), a.NullableInt("seed"), name);
    }

    // ------------------------------------------------------------------ hooks used by the generic reader

    /// <summary>Weight values an attention layer creates when built for these shapes (0 for other layers).</summary>
    private static double AttentionParameters(Layer layer, IReadOnlyList<Shape> inputShapes) => layer switch
    {
        MultiHeadAttention mha => mha.EstimateParameters(inputShapes),
        AdditiveAttention { UseScale: true } when inputShapes.Count > 0 && inputShapes[0].Rank > 0 && inputShapes[0][-1] is { } d => d,
        _ => 0,
    };

    /// <summary>
    /// The build shapes of a <see cref="MultiHeadAttention"/> from Keras' <c>shapes_dict</c> (<c>query_shape</c>,
    /// <c>value_shape</c> and, when a key was passed, <c>key_shape</c>); <c>null</c> for other layers.
    /// </summary>
    private static List<Shape>? AttentionBuildShapes(Layer layer, JsonObject shapesDict, ConfigArgs args)
    {
        if (layer is not MultiHeadAttention) return null;
        Shape Read(string key) => ConfigArgs.ShapeFrom(shapesDict[key]) ?? throw args.Bad("shapes_dict", $"a shape under '{key}'", shapesDict);
        var shapes = new List<Shape> { Read("query_shape"), Read("value_shape") };
        if (shapesDict["key_shape"] is not null) shapes.Add(Read("key_shape"));
        foreach (var (key, _) in shapesDict)
            if (key is not ("query_shape" or "value_shape" or "key_shape"))
                throw args.Bad("shapes_dict", "query_shape, value_shape and key_shape", shapesDict);
        return shapes;
    }

    private static bool IsAttentionLayer(Layer layer) => layer is Attention or MultiHeadAttention;

    /// <summary>
    /// The inputs of an attention layer's node: Keras 3's <c>{"args", "kwargs"}</c> form or Keras 2's list. For
    /// <see cref="Attention"/>/<see cref="AdditiveAttention"/> the inputs are one list argument and <c>mask</c> a list
    /// <c>[query_mask, value_mask]</c> (Keras records the inputs' own masks there, <c>null</c> where they have none); for
    /// <see cref="MultiHeadAttention"/> query, value and key are separate arguments (positional or by name) and
    /// <c>attention_mask</c> a tensor, while <c>query_mask</c>/<c>value_mask</c>/<c>key_mask</c> repeat the masks the
    /// inputs carry (our graph passes those on by itself).
    /// </summary>
    private static List<KerasTensor> ReadAttentionCall(Layer layer, JsonNode data, GraphState state, string location,
        ref List<KerasTensor>? mask, ref bool? training, Dictionary<string, object?> arguments)
    {
        var ctx = state.Context;
        NodeIndexForm form;
        JsonArray positional;
        JsonObject? kwargs;
        string kwargsLocation;
        if (data is JsonObject call)
        {
            form = NodeIndexForm.History;
            positional = call["args"] as JsonArray
                         ?? throw ctx.Error(location + ".args", $"expected the call's positional arguments (a list), found {KerasJson.Describe(call["args"])}.");
            kwargs = call["kwargs"] switch
            {
                null => null,
                JsonObject k => k,
                var other => throw ctx.Error(location + ".kwargs", $"expected the call's keyword arguments (an object), found {KerasJson.Describe(other)}."),
            };
            foreach (var (key, _) in call)
                if (key is not ("args" or "kwargs"))
                    throw ctx.Error(location, $"unexpected key '{key}' in a node (expected 'args' and 'kwargs').");
            kwargsLocation = location + ".kwargs";
        }
        else if (data is JsonArray legacy)
        {
            // Keras 2: [[name, node, tensor, {kwargs}], ...]; the kwargs of the last entry hold the other arguments.
            form = NodeIndexForm.Reference;
            positional = new JsonArray();
            kwargs = null;
            for (int i = 0; i < legacy.Count; i++)
            {
                if (legacy[i] is not JsonArray reference || !IsReference(reference))
                    throw ctx.Error($"{location}[{i}]", $"expected an input reference [layer_name, node_index, tensor_index, kwargs], found {KerasJson.Describe(legacy[i])}.");
                positional.Add(new JsonArray(reference[0]!.DeepClone(), reference[1]!.DeepClone(), reference[2]!.DeepClone()));
                if (reference.Count == 4 && reference[3] is JsonObject k) kwargs = k;
            }
            // Keras 2's Attention received its inputs as one list: keep them together as the first argument.
            if (layer is Attention) positional = new JsonArray(positional);
            kwargsLocation = $"{location}[{legacy.Count - 1}][3]";
        }
        else
        {
            throw ctx.Error(location, $"expected an inbound node ({{\"args\", \"kwargs\"}} or a list of [layer_name, node_index, tensor_index, kwargs]), found {KerasJson.Describe(data)}.");
        }

        List<KerasTensor> One(JsonNode? node, string loc, string what) =>
            Tensors(node, state, loc, form) is { Count: 1 } t
                ? t
                : throw ctx.Error(loc, $"layer '{layer.Name}' ({layer.GetType().Name}): expected the {what} tensor, found {KerasJson.Describe(node)}.");

        var named = new Dictionary<string, (JsonNode? Node, string Location)>(StringComparer.Ordinal);
        if (kwargs is not null)
        {
            foreach (var (key, value) in kwargs)
            {
                var loc = $"{kwargsLocation}.{key}";
                switch (key)
                {
                    case "training":
                        if (value is null) break;
                        training = value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                            ? b.GetValue<bool>()
                            : throw ctx.Error(loc, $"expected a boolean, found {KerasJson.Describe(value)}.");
                        break;
                    case Attention.ReturnAttentionScoresArgument or Attention.UseCausalMaskArgument:
                        if (value is null) break;
                        arguments[key] = value is JsonValue f && f.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                            ? f.GetValue<bool>()
                            : throw ctx.Error(loc, $"expected a boolean, found {KerasJson.Describe(value)}.");
                        break;
                    case "mask" when layer is Attention:
                        if (Tensors(value, state, loc, form, allowPlain: true) is not { Count: > 0 }) break; // [null, null]: no masks
                        if (value is JsonArray list && list.Count > 0 && list[0] is null)
                            throw ctx.Error(loc, $"layer '{layer.Name}': an explicit value mask without a query mask ([null, mask]) is not supported; give both masks or let them flow with the inputs.");
                        mask = Tensors(value, state, loc, form);
                        break;
                    case "query_mask" or "value_mask" or "key_mask" when layer is MultiHeadAttention:
                        break; // the inputs' own masks, which flow with them
                    case "query" or "value" or "key" or "attention_mask" when layer is MultiHeadAttention:
                        named[key] = (value, loc);
                        break;
                    case "inputs" when layer is Attention:
                        named[key] = (value, loc);
                        break;
                    default:
                        throw ctx.Error(loc, $"layer '{layer.Name}' ({layer.GetType().Name}): unsupported call argument '{key}'.");
                }
            }
        }

        if (layer is Attention)
        {
            JsonNode? inputsNode = positional.Count > 0 ? positional[0] : named.TryGetValue("inputs", out var n) ? n.Node : null;
            if (positional.Count > 1 || positional.Count == 1 && named.ContainsKey("inputs"))
                throw ctx.Error(location, $"layer '{layer.Name}' ({layer.GetType().Name}) takes its inputs as one list [query, value(, key)].");
            return Tensors(inputsNode, state, location, form)
                   ?? throw ctx.Error(location, $"layer '{layer.Name}' is called without inputs.");
        }

        // MultiHeadAttention(query, value, key=None, ..., attention_mask=None)
        if (positional.Count > 3)
            throw ctx.Error(location, $"layer '{layer.Name}' (MultiHeadAttention) is called with {positional.Count} positional arguments; expected query, value and key.");
        string[] names = ["query", "value", "key"];
        var slots = new List<KerasTensor>?[3];
        for (int i = 0; i < positional.Count; i++)
        {
            if (named.ContainsKey(names[i]))
                throw ctx.Error(location, $"layer '{layer.Name}': '{names[i]}' is given both by position and by name.");
            slots[i] = positional[i] is null ? null : One(positional[i], $"{location}.args[{i}]", names[i]);
        }
        for (int i = 0; i < 3; i++)
            if (named.TryGetValue(names[i], out var v) && v.Node is not null)
                slots[i] = One(v.Node, v.Location, names[i]);
        if (slots[0] is null || slots[1] is null)
            throw ctx.Error(location, $"layer '{layer.Name}' (MultiHeadAttention) needs a query and a value.");
        var inputs = new List<KerasTensor> { slots[0]![0], slots[1]![0] };
        List<KerasTensor>? attentionMask = named.TryGetValue("attention_mask", out var m) && m.Node is not null
            ? One(m.Node, m.Location, "attention_mask")
            : null;
        if (slots[2] is not null || attentionMask is not null) inputs.Add(slots[2]?[0] ?? inputs[1]);
        if (attentionMask is not null) inputs.Add(attentionMask[0]);
        return inputs;
    }
}
