using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Regularizers;

namespace Keras.Rnn.Saving;

/// <summary>
/// Rebuilds layers and models from Keras configs (Keras 3's <c>serialization_lib.deserialize_keras_object</c> and
/// <c>functional_from_config</c>, and the legacy <c>model_from_config</c> of Keras 1 and 2): the built-in layers by
/// class name, custom ones through <see cref="KerasObjects"/>, <see cref="Sequential"/> (a list of layers, or
/// <c>{name, layers}</c>), functional models (<c>Functional</c>, Keras 2's <c>Model</c>) with their nodes in Keras 3's
/// <c>{"args", "kwargs"}</c> form or Keras 2's <c>[[name, node, tensor, kwargs], ...]</c>, nested models, shared layers.
/// </summary>
internal static partial class KerasLayerReader
{
    private delegate Layer Factory(ConfigArgs args, string? name);

    private static readonly Dictionary<string, Factory> BuiltIns = new(StringComparer.Ordinal)
    {
        ["Dense"] = Dense,
        ["Embedding"] = Embedding,
        ["Masking"] = Masking,
        ["Dropout"] = Dropout,
        ["Activation"] = ActivationLayer,
        ["RepeatVector"] = RepeatVector,
        ["Flatten"] = Flatten,
        ["Reshape"] = Reshape,
        ["Concatenate"] = Concatenate,
        ["Add"] = AddLayer,
        ["SimpleRNN"] = SimpleRnn,
        ["LSTM"] = Lstm,
        ["GRU"] = Gru,
        ["SimpleRNNCell"] = SimpleRnnCell,
        ["LSTMCell"] = LstmCell,
        ["GRUCell"] = GruCell,
        ["RNN"] = Rnn,
        ["StackedRNNCells"] = StackedCells,
        ["Bidirectional"] = BidirectionalLayer,
        ["TimeDistributed"] = TimeDistributedLayer,
        ["NotEqual"] = NotEqualOperation,
        ["TFOpLambda"] = TfOpLambda,
        ["Attention"] = AttentionLayer,
        ["AdditiveAttention"] = AdditiveAttentionLayer,
        ["MultiHeadAttention"] = MultiHeadAttentionLayer,
        ["TextVectorization"] = TextVectorizationLayer,
    };

    /// <summary>Class names of models.</summary>
    private static bool IsModelClass(string className) => className is "Sequential" or "Functional" or "Model";

    /// <summary>Keras 2 (and tf.keras) names of the same classes.</summary>
    private static readonly Dictionary<string, string> LegacyClassNames = new(StringComparer.Ordinal)
    {
        ["CuDNNLSTM"] = "LSTM",
        ["CuDNNGRU"] = "GRU",
        ["LSTMV1"] = "LSTM",
        ["GRUV1"] = "GRU",
    };

    // ------------------------------------------------------------------ entry points

    /// <summary>A model from a config (Keras 3's serialized object, Keras 2's <c>{class_name, config}</c> or a
    /// <c>to_json</c> string's object with <c>keras_version</c>).</summary>
    public static Model DeserializeModel(JsonNode node, KerasLoadContext ctx, bool compile = true)
    {
        using var _ = ctx.Enter();
        var layer = DeserializeLayer(node, ctx, "$", compile);
        return layer as Model ?? throw ctx.Error("$",
            $"the config describes a {layer.GetType().Name} layer ('{layer.Name}'), not a model (Sequential, Functional or a registered Model subclass).");
    }

    /// <summary>A layer (or model) from its serialized form.</summary>
    /// <param name="node">The serialized layer.</param>
    /// <param name="ctx">The deserialization.</param>
    /// <param name="location">JSON path of <paramref name="node"/>.</param>
    /// <param name="compile">Whether a model's <c>compile_config</c> is applied.</param>
    /// <param name="build">Whether a <c>build_config</c> builds the layer now; false for the sub-layers of a wrapper
    /// (cell, wrapped layer), which their parent builds inside its own name scope.</param>
    public static Layer DeserializeLayer(JsonNode node, KerasLoadContext ctx, string location, bool compile = true, bool build = true)
    {
        try
        {
            return DeserializeLayerCore(node, ctx, location, compile, build);
        }
        catch (Exception e) when (e is not (KerasFileException or KerasConfigArgumentException or OutOfMemoryException))
        {
            // Anything a layer's own code raised on odd arguments (shape errors, native errors): reported with the place.
            throw ctx.Error(location, $"layer '{NameIn((node as JsonObject)?["config"]) ?? "?"}' cannot be created: {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static Layer DeserializeLayerCore(JsonNode node, KerasLoadContext ctx, string location, bool compile, bool build)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (node is not JsonObject o)
            throw ctx.Error(location, $"expected a serialized layer (an object with 'class_name' and 'config'), found {KerasJson.Describe(node)}.");
        if (o["class_name"] is not JsonValue cn || cn.GetValueKind() != JsonValueKind.String)
            throw ctx.Error(location, $"expected a serialized layer with a string 'class_name', found {KerasJson.Describe(o["class_name"])}.");
        var className = cn.GetValue<string>();
        var registeredName = o["registered_name"] is JsonValue rn && rn.GetValueKind() == JsonValueKind.String ? rn.GetValue<string>() : null;
        var module = o["module"] is JsonValue mn && mn.GetValueKind() == JsonValueKind.String ? mn.GetValue<string>() : null;

        long? sharedId = o["shared_object_id"] is { } sid ? ConfigArgs.AsLong(sid) : null;
        if (sharedId is { } id && ctx.SharedObjects.TryGetValue(id, out var shared))
            return shared as Layer ?? throw ctx.Error(location, $"shared_object_id {id} refers to a {shared.GetType().Name}, not a layer.");

        var configNode = o["config"];
        Layer layer;
        var custom = KerasObjects.FindLayer(className, registeredName, ctx.CustomObjects);
        bool builtInModule = module is null || module == "keras" || module.StartsWith("keras.", StringComparison.Ordinal)
                             || module.StartsWith("tensorflow.", StringComparison.Ordinal) || module.StartsWith("tf_keras", StringComparison.Ordinal);
        if (custom is not null)
        {
            layer = CreateCustom(custom, className, configNode, ctx, location);
        }
        else if (IsModelClass(className) && builtInModule)
        {
            layer = className == "Sequential"
                ? SequentialFromConfig(configNode, ctx, location + ".config")
                : FunctionalFromConfig(configNode, ctx, location + ".config");
        }
        else if (className == "InputLayer" && builtInModule)
        {
            layer = InputLayerFromConfig(RequireConfigObject(configNode, ctx, location, className), ctx, location + ".config");
        }
        else if (className == "Lambda")
        {
            throw ctx.Error(location,
                "layer class 'Lambda' holds Python code, which cannot be deserialized here (and is unsafe to load). " +
                "Replace it in Python by a named custom layer, or rebuild it in C# (new Lambda(x => ...)) and register a factory: " +
                "KerasObjects.RegisterLayer(\"Lambda\", config => new Lambda(...)).");
        }
        else if (builtInModule && (BuiltIns.TryGetValue(className, out var factory) || LegacyClassNames.TryGetValue(className, out var mapped) && BuiltIns.TryGetValue(mapped, out factory)))
        {
            var config = RequireConfigObject(configNode, ctx, location, className);
            if (ctx.KerasMajor == 1) Keras1.Convert(className, config);
            if (className is "CuDNNLSTM" or "CuDNNGRU")
            {
                // cuDNN's fixed activations; its GRU applies the reset gate after the recurrent product.
                config.TryAdd("activation", "tanh");
                config.TryAdd("recurrent_activation", "sigmoid");
                if (className == "CuDNNGRU") config.TryAdd("reset_after", true);
            }
            var args = new ConfigArgs(config, $"layer {DescribeName(config)}({className})", location + ".config", ctx);
            var name = args.Name();
            try
            {
                layer = factory(args, name);
            }
            catch (ArgumentException e) when (e is not KerasConfigArgumentException)
            {
                throw args.Fail(e.Message, e);
            }
            ApplyCommon(layer, args);
            args.Finish();
        }
        else
        {
            var known = string.Join(", ", BuiltIns.Keys.Concat(["InputLayer", "Sequential", "Functional", "Model"]).Order(StringComparer.Ordinal));
            throw ctx.Error(location,
                $"unknown layer class '{className}'{(registeredName is not null && registeredName != className ? $" (registered name '{registeredName}')" : "")}" +
                $"{(module is not null ? $" from module '{module}'" : "")}, layer '{NameIn(configNode) ?? "?"}'. " +
                $"Built-in classes: {known}. {KerasObjects.RegistrationHint(className, registeredName)}");
        }

        if (sharedId is { } newId) ctx.SharedObjects[newId] = layer;

        if (build && o["build_config"] is JsonObject buildConfig && !layer.Built) BuildFromConfig(layer, buildConfig, ctx, location + ".build_config");
        if (compile && o["compile_config"] is JsonObject compileConfig && compileConfig.Count > 0 && layer is Model model)
            KerasCompileReader.CompileFromConfig(model, compileConfig, ctx, location + ".compile_config");
        return layer;
    }

    private static string? NameIn(JsonNode? config) =>
        config is JsonObject c && c["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string DescribeName(JsonObject config) => NameIn(config) is { } n ? $"'{n}' " : "";

    private static JsonObject RequireConfigObject(JsonNode? configNode, KerasLoadContext ctx, string location, string className) =>
        configNode switch
        {
            JsonObject c => c,
            null => new JsonObject(),
            _ => throw ctx.Error(location + ".config", $"layer class '{className}': expected 'config' to be an object, found {KerasJson.Describe(configNode)}."),
        };

    // ------------------------------------------------------------------ custom layers

    private static Layer CreateCustom(Func<IReadOnlyDictionary<string, object?>, Layer> factory, string className, JsonNode? configNode,
        KerasLoadContext ctx, string location)
    {
        var plain = KerasJson.ToPlain(configNode) as Dictionary<string, object?> ?? [];
        Layer layer;
        try
        {
            layer = factory(plain) ?? throw new InvalidOperationException("the factory returned null");
        }
        catch (Exception e) when (e is not (KerasFileException or KerasConfigArgumentException or OutOfMemoryException))
        {
            throw ctx.Error(location, $"the factory registered for layer class '{className}' failed: {e.GetType().Name}: {e.Message}", e);
        }
        if (plain.TryGetValue("name", out var n) && n is string name && name.Length > 0) layer.Name = name;
        if (plain.TryGetValue("trainable", out var t) && t is false) layer.Trainable = false;
        return layer;
    }

    /// <summary>A custom layer created through its public constructor (see <see cref="KerasObjects.RegisterLayer{T}(string?)"/>).</summary>
    internal static Layer BindCustomLayer(Type type, string className, IReadOnlyDictionary<string, object?> config)
    {
        var ctx = KerasLoadContext.Current ?? new KerasLoadContext("a custom layer's config", false, null, null);
        var node = JsonNode.Parse(JsonSerializer.Serialize(config)) as JsonObject ?? new JsonObject();
        var args = new ConfigArgs(node, $"layer {DescribeName(node)}({className})", "$", ctx);
        args.Ignore("trainable", "dtype");
        var layer = (Layer)KerasObjectsReader.Bind(type, args);
        return layer;
    }

    // ------------------------------------------------------------------ common arguments

    private static readonly PropertyInfo InputShapeProperty = typeof(Layer).GetProperty(nameof(Layer.InputShape))!;
    private static readonly PropertyInfo BatchSizeProperty = typeof(Layer).GetProperty(nameof(Layer.BatchSize))!;
    private static readonly PropertyInfo InputDTypeProperty = typeof(Layer).GetProperty(nameof(Layer.InputDType))!;
    private static readonly PropertyInfo ActivityRegularizerProperty = typeof(Layer).GetProperty(nameof(Layer.ActivityRegularizer))!;

    /// <summary>
    /// The arguments every layer takes: <c>trainable</c>, <c>dtype</c> (a name or Keras 3's <c>DTypePolicy</c>; mixed
    /// policies are applied, other dtypes compute in float32), <c>activity_regularizer</c>, and an input shape given to the first layer of a
    /// Sequential model (Keras 2's <c>batch_input_shape</c>, <c>input_shape</c>/<c>input_dim</c>, Keras 1's
    /// <c>input_dtype</c>), which becomes the model's input layer.
    /// </summary>
    private static void ApplyCommon(Layer layer, ConfigArgs args)
    {
        if (!args.Bool("trainable", true)) layer.Trainable = false;
        var dtype = ReadLayerDType(args);
        if (dtype is not null)
            layer.DTypePolicy = DTypePolicies.DTypePolicy.Get(dtype is "mixed_float16" or "mixed_bfloat16" ? dtype : "float32");
        if (args.Regularizer("activity_regularizer") is { } activity && layer.ActivityRegularizer is null)
            ActivityRegularizerProperty.SetValue(layer, activity);

        var batchShape = args.Shape("batch_input_shape") ?? args.Shape("batch_shape");
        Shape? shape = null;
        int? batchSize = args.NullableInt("batch_size", 1, ConfigArgs.MaxSize);
        if (batchShape is not null)
        {
            if (batchShape.Rank == 0) throw args.Bad("batch_input_shape", "a shape with a batch dimension", args.Raw["batch_input_shape"] ?? args.Raw["batch_shape"]);
            shape = batchShape.Slice(1);
            batchSize ??= batchShape[0];
        }
        else if (args.Shape("input_shape") is { } inputShape)
        {
            shape = inputShape;
        }
        else if (args.NullableInt("input_dim", 1, ConfigArgs.MaxSize) is { } inputDim)
        {
            shape = new Shape(inputDim);
        }
        var inputDType = args.String("input_dtype");
        if (shape is not null && layer is not InputLayer)
        {
            InputShapeProperty.SetValue(layer, shape);
            if (batchSize is not null) BatchSizeProperty.SetValue(layer, batchSize);
            if (inputDType is not null) InputDTypeProperty.SetValue(layer, NormalizeInputDType(inputDType, args, "input_dtype"));
        }
    }

    /// <summary>
    /// The <c>dtype</c> of a layer: a floating-point name or policy is accepted; the mixed-precision policies are
    /// applied, other floating dtypes compute in float32.
    /// </summary>
    private static string? ReadLayerDType(ConfigArgs args)
    {
        var node = args.Node("dtype");
        if (node is null) return null;
        string? name = node switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonObject o when o["config"] is JsonObject c && c["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(),
            _ => null,
        };
        if (name is null) throw args.Bad("dtype", "a dtype name or a DTypePolicy object", node);
        if (!(name.Contains("float", StringComparison.Ordinal) || name is "mixed_bfloat16" or "mixed_float16" or "int32" or "int64" or "bool"))
            throw args.Bad("dtype", "a floating-point dtype (float32, float64, float16, bfloat16 or a mixed policy)", node);
        return name;
    }

    private static string NormalizeInputDType(string dtype, ConfigArgs args, string key)
    {
        try
        {
            return InputLayer.NormalizeDType(dtype);
        }
        catch (ArgumentException e)
        {
            throw args.Fail($"argument '{key}': {e.Message}");
        }
    }

    // ------------------------------------------------------------------ build_config

    private static void BuildFromConfig(Layer layer, JsonObject build, KerasLoadContext ctx, string location)
    {
        var args = new ConfigArgs(build, $"layer '{layer.Name}' ({layer.GetType().Name}) build_config", location, ctx);
        List<Shape> shapes;
        if (args.Node("input_shape") is { } inputShape)
        {
            if (ConfigArgs.ShapeFrom(inputShape) is { } single) shapes = [single];
            else if (inputShape is JsonArray list && list.All(i => ConfigArgs.ShapeFrom(i) is not null) && list.Count > 0)
                shapes = list.Select(i => ConfigArgs.ShapeFrom(i)!).ToList();
            else throw args.Bad("input_shape", "a shape or a list of shapes", inputShape);
        }
        else if (args.Node("shapes_dict") is JsonObject dict)
        {
            var first = dict.FirstOrDefault().Value;
            var s = ConfigArgs.ShapeFrom(first) ?? throw args.Bad("shapes_dict", "shapes by argument name", dict);
            shapes = AttentionBuildShapes(layer, dict, args) ?? [s];
        }
        else
        {
            args.Finish();
            return;
        }
        args.Finish();
        if (layer is Sequential { Built: false } && shapes.Count != 1)
            throw args.Fail($"a Sequential model is built from one input shape, found {shapes.Count}.");
        ctx.ChargeParameters(EstimateParameters(layer, shapes), $"layer '{layer.Name}' ({layer.GetType().Name})", location);
        try
        {
            layer.Build(shapes);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KerasLayerException)
        {
            throw args.Fail($"building it with input shape(s) {string.Join(", ", shapes)} failed: {e.Message}", e);
        }
    }

    // ------------------------------------------------------------------ parameter estimates

    /// <summary>How many weight values <paramref name="layer"/> will create when built for these input shapes (0 when unknown or already built).</summary>
    internal static double EstimateParameters(Layer layer, IReadOnlyList<Shape> inputShapes)
    {
        if (layer.Built || inputShapes.Count == 0) return 0;
        var shape = inputShapes[0];
        double last = shape.Rank > 0 && shape[-1] is { } d ? d : 0;
        switch (layer)
        {
            case Dense dense:
                return last * dense.Units + (dense.UseBias ? dense.Units : 0);
            case Embedding embedding:
                return (double)embedding.InputDim * embedding.OutputDim;
            case RNN rnn:
                return CellParameters(rnn.Cell, last);
            case Bidirectional bi:
                return CellParameters(bi.Forward.Cell, last) + CellParameters(bi.Backward.Cell, last);
            case TimeDistributed td when shape.Rank >= 3:
                return EstimateParameters(td.Inner, [new Shape([shape[0], .. shape.Slice(2)])]);
            case AbstractRNNCell cell:
                return CellParameters(cell, last);
            default:
                return AttentionParameters(layer, inputShapes);
        }
    }

    private static double CellParameters(AbstractRNNCell cell, double inputDim)
    {
        if (cell.Built) return 0;
        switch (cell)
        {
            case LSTMCell c:
                return 4.0 * c.Units * (inputDim + c.Units) + (c.UseBias ? 4.0 * c.Units : 0);
            case GRUCell c:
                return 3.0 * c.Units * (inputDim + c.Units) + (c.UseBias ? (c.ResetAfter ? 6.0 : 3.0) * c.Units : 0);
            case SimpleRNNCell c:
                return (double)c.Units * (inputDim + c.Units) + (c.UseBias ? c.Units : 0);
            case StackedRNNCells s:
                double total = 0, dim = inputDim;
                foreach (var inner in s.Cells)
                {
                    total += CellParameters(inner, dim);
                    dim = inner.OutputSize;
                }
                return total;
            default:
                return 0;
        }
    }

    // ------------------------------------------------------------------ InputLayer

    private static InputLayer InputLayerFromConfig(JsonObject config, KerasLoadContext ctx, string location)
    {
        var args = new ConfigArgs(config, $"layer {DescribeName(config)}(InputLayer)", location, ctx);
        var name = args.Name();
        var dtypeNode = args.Node("dtype");
        string dtype = dtypeNode switch
        {
            null => "float32",
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonObject o when o["config"] is JsonObject c && c["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(),
            _ => throw args.Bad("dtype", "a dtype name", dtypeNode),
        };
        if (args.Bool("sparse", false)) throw args.Fail("sparse inputs (sparse=true) are not supported.");
        if (args.Bool("ragged", false)) throw args.Fail("ragged inputs (ragged=true) are not supported.");
        if (args.Bool("optional", false)) throw args.Fail("optional inputs (optional=true) are not supported.");
        args.Ignore("trainable");
        var batchShape = args.Shape("batch_shape") ?? args.Shape("batch_input_shape");
        var shape = args.Shape("shape") ?? args.Shape("input_shape");
        var batchSize = args.NullableInt("batch_size", 1, ConfigArgs.MaxSize);
        args.Finish();
        Shape perSample;
        if (batchShape is not null)
        {
            if (batchShape.Rank == 0) throw args.Bad("batch_shape", "a shape with a batch dimension", config["batch_shape"] ?? config["batch_input_shape"]);
            perSample = batchShape.Slice(1);
            batchSize ??= batchShape[0];
        }
        else
        {
            perSample = shape ?? throw args.Fail("an InputLayer needs 'batch_shape' (or Keras 2's 'batch_input_shape', or 'shape').");
        }
        try
        {
            return new InputLayer(perSample, batchSize, dtype, name);
        }
        catch (ArgumentException e)
        {
            throw args.Fail(e.Message, e);
        }
    }
}
