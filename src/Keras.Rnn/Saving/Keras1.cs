using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keras.Rnn.Saving;

/// <summary>
/// Keras 1 layer configs in Keras 2's vocabulary (what Keras 2's <c>legacy/interfaces.py</c> converted when it loaded
/// Keras 1 models): <c>output_dim</c> → <c>units</c>, <c>init</c>/<c>inner_init</c> → <c>kernel_initializer</c>/
/// <c>recurrent_initializer</c>, <c>inner_activation</c> → <c>recurrent_activation</c>, <c>W_/U_/b_regularizer</c>,
/// <c>W_/b_constraint</c>, <c>dropout_W</c>/<c>dropout_U</c> → <c>dropout</c>/<c>recurrent_dropout</c>,
/// <c>forget_bias_init</c> → <c>unit_forget_bias</c>, <c>consume_less</c> → <c>implementation</c>, <c>bias</c> →
/// <c>use_bias</c>, <c>p</c> → <c>rate</c>, <c>input_dim</c>/<c>input_length</c> → the input shape.
/// </summary>
internal static class Keras1
{
    private static readonly (string From, string To)[] DenseKeys =
    [
        ("output_dim", "units"), ("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
        ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"), ("b_constraint", "bias_constraint"),
        ("bias", "use_bias"),
    ];

    private static readonly (string From, string To)[] RecurrentKeys =
    [
        ("output_dim", "units"), ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
        ("inner_activation", "recurrent_activation"), ("W_regularizer", "kernel_regularizer"),
        ("U_regularizer", "recurrent_regularizer"), ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
        ("U_constraint", "recurrent_constraint"), ("b_constraint", "bias_constraint"), ("dropout_W", "dropout"),
        ("dropout_U", "recurrent_dropout"),
    ];

    private static readonly (string From, string To)[] EmbeddingKeys =
    [
        ("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"), ("W_constraint", "embeddings_constraint"),
    ];

    /// <summary>Rewrites <paramref name="config"/> (a Keras 1 layer config) in place.</summary>
    public static void Convert(string className, JsonObject config)
    {
        switch (className)
        {
            case "Dense":
                Rename(config, DenseKeys);
                if (config["input_dim"] is { } inputDim && !config.ContainsKey("batch_input_shape"))
                    config["batch_input_shape"] = new JsonArray(null, inputDim.DeepClone());
                config.Remove("input_dim");
                break;
            case "LSTM" or "GRU" or "SimpleRNN":
                Rename(config, RecurrentKeys);
                if (config["forget_bias_init"] is JsonValue fb && fb.GetValueKind() == JsonValueKind.String)
                {
                    config["unit_forget_bias"] = fb.GetValue<string>() is "one" or "ones";
                    config.Remove("forget_bias_init");
                }
                if (config["consume_less"] is JsonValue cl && cl.GetValueKind() == JsonValueKind.String)
                {
                    // Keras 2's conversion: cpu → 0, mem → 1, gpu → 2.
                    config["implementation"] = cl.GetValue<string>() switch { "gpu" => 2, "mem" => 1, _ => 0 };
                    config.Remove("consume_less");
                }
                MoveInputShape(config, timeAxis: true);
                break;
            case "Embedding":
                Rename(config, EmbeddingKeys);
                if (config["dropout"] is { } dropout && ConfigArgs.AsDouble(dropout) is 0.0) config.Remove("dropout");
                if (config["input_length"] is { } length && !config.ContainsKey("batch_input_shape"))
                    config["batch_input_shape"] = new JsonArray(null, length.DeepClone());
                config.Remove("input_length");
                break;
            case "Dropout":
                Rename(config, [("p", "rate")]);
                break;
        }
    }

    private static void Rename(JsonObject config, (string From, string To)[] keys)
    {
        foreach (var (from, to) in keys)
        {
            if (!config.ContainsKey(from)) continue;
            var value = config[from]?.DeepClone();
            config.Remove(from);
            config.TryAdd(to, value);
        }
    }

    /// <summary>Keras 1 recurrent layers gave <c>input_dim</c> and <c>input_length</c> instead of a batch shape.</summary>
    private static void MoveInputShape(JsonObject config, bool timeAxis)
    {
        var inputDim = config["input_dim"]?.DeepClone();
        var inputLength = config["input_length"]?.DeepClone();
        config.Remove("input_dim");
        config.Remove("input_length");
        if (inputDim is not null && !config.ContainsKey("batch_input_shape"))
            config["batch_input_shape"] = timeAxis ? new JsonArray(null, inputLength, inputDim) : new JsonArray(null, inputDim);
    }
}
