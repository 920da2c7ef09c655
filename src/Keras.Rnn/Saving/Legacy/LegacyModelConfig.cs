using System.Text.Json.Nodes;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving.Legacy;

/// <summary>
/// The <c>model_config</c> and <c>training_config</c> attributes Keras 3's legacy writer
/// (<c>legacy_h5_format.save_model_to_hdf5</c> → <c>saving_utils.model_metadata</c>) stores in a <c>.h5</c> file,
/// derived from our Keras 3 serialization (<see cref="KerasConfigSerializer"/>).
/// </summary>
/// <remarks>
/// Under Keras' <c>use_legacy_config</c> scope, <c>Sequential.get_config</c> and <c>Functional.get_config</c> serialize
/// their layers with the legacy <c>serialize_keras_object</c>: each layer becomes <c>{"class_name", "config"}</c>
/// (functional layers keep <c>name</c> and <c>inbound_nodes</c>), without <c>module</c>, <c>registered_name</c> and
/// <c>build_config</c>; values inside a layer's own config (initializers, dtype policies, wrapped layers) keep the
/// Keras 3 form the layer's <c>get_config</c> gave them. The model itself is <c>{"class_name": "Sequential" or
/// "Functional", "config": ...}</c>. The training config is the compile config without its optimizer, its callable
/// entries (loss and metric objects) in the legacy <c>{"class_name", "config"}</c> form, plus
/// <c>optimizer_config</c>.
/// </remarks>
internal static class LegacyModelConfig
{
    /// <summary>The model's <c>model_config</c> and (when compiled) <c>training_config</c> objects.</summary>
    public static (JsonObject ModelConfig, JsonObject? TrainingConfig) Build(Model model)
    {
        var serialized = KerasConfigSerializer.SerializeModel(model);
        return (LegacyEntry(serialized, keepGraphKeys: false), TrainingConfig(model, serialized));
    }

    /// <summary>The legacy name of a serialized object's class (its registered name for custom classes).</summary>
    private static string ClassName(JsonObject serialized) =>
        (serialized["registered_name"] as JsonValue)?.GetValue<string>() is { Length: > 0 } registered
            ? registered
            : serialized["class_name"]?.GetValue<string>() ?? throw new InvalidOperationException("Internal error: a serialized object has no class_name.");

    /// <summary>One layer (or model) as the legacy serializer writes it.</summary>
    private static JsonObject LegacyEntry(JsonObject serialized, bool keepGraphKeys)
    {
        var config = serialized["config"]?.DeepClone() as JsonObject ?? new JsonObject();
        // A nested model's layers are serialized the legacy way too.
        if (config["layers"] is JsonArray layers && IsModel(serialized))
        {
            bool functional = config.ContainsKey("input_layers");
            var converted = new JsonArray();
            foreach (var layer in layers)
                converted.Add(layer is JsonObject o ? LegacyEntry(o, functional) : layer?.DeepClone());
            config["layers"] = converted;
        }
        var result = new JsonObject { ["class_name"] = ClassName(serialized), ["config"] = config };
        if (keepGraphKeys)
        {
            if (serialized["name"] is { } name) result["name"] = name.DeepClone();
            if (serialized["inbound_nodes"] is { } nodes) result["inbound_nodes"] = nodes.DeepClone();
        }
        return result;
    }

    private static bool IsModel(JsonObject serialized)
    {
        var className = serialized["class_name"]?.GetValue<string>();
        return className is "Sequential" or "Functional" or "Model" || serialized.ContainsKey("compile_config");
    }

    /// <summary>Keras' <c>training_config</c>, or <c>null</c> when the model is not compiled.</summary>
    private static JsonObject? TrainingConfig(Model model, JsonObject serialized)
    {
        if (model.Optimizer is null || model.CompileConfig() is null) return null;
        if (serialized["compile_config"] is not JsonObject compile || compile.Count == 0) return null;
        var training = new JsonObject();
        foreach (var (key, value) in compile)
            if (key != "optimizer") training[key] = LegacyValue(value);
        training["optimizer_config"] = compile["optimizer"] switch
        {
            JsonObject optimizer => new JsonObject
            {
                ["class_name"] = ClassName(optimizer),
                ["config"] = optimizer["config"]?.DeepClone() ?? new JsonObject(),
            },
            JsonValue name => new JsonObject { ["class_name"] = name.DeepClone(), ["config"] = new JsonObject() },
            _ => throw new InvalidOperationException($"Internal error: the compile config of model '{model.Name}' has no optimizer."),
        };
        return training;
    }

    /// <summary>
    /// Keras' <c>_serialize_nested_config</c>: Keras 3 serialized objects (<c>{module, class_name, config,
    /// registered_name}</c>) found in lists and dictionaries become <c>{class_name, config}</c>; their own config is
    /// kept as their <c>get_config</c> gave it.
    /// </summary>
    private static JsonNode? LegacyValue(JsonNode? value)
    {
        switch (value)
        {
            case JsonObject obj when obj.ContainsKey("class_name") && obj.ContainsKey("config") && obj.ContainsKey("module"):
                return new JsonObject { ["class_name"] = ClassName(obj), ["config"] = obj["config"]?.DeepClone() };
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (k, v) in obj) copy[k] = LegacyValue(v);
                return copy;
            case JsonArray array:
                var list = new JsonArray();
                foreach (var item in array) list.Add(LegacyValue(item));
                return list;
            default:
                return value?.DeepClone();
        }
    }
}
