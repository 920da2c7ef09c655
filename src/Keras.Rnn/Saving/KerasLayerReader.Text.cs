using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Text;

namespace Keras.Rnn.Saving;

internal static partial class KerasLayerReader
{
    /// <summary>
    /// Keras' <c>TextVectorization</c> config: <c>max_tokens</c>, <c>standardize</c> and <c>split</c> (a name, or a
    /// registered function <c>{"class_name": "function", "config": name, ...}</c> resolved through
    /// <see cref="TextStandardization"/> / <see cref="TextSplitting"/>), <c>output_mode</c>,
    /// <c>output_sequence_length</c>, <c>pad_to_max_tokens</c>, <c>vocabulary</c> (a list; an adapted vocabulary
    /// comes from the archive's assets), <c>vocabulary_size</c> (checked against those assets); <c>ngrams</c>,
    /// <c>sparse</c>, <c>ragged</c>, <c>idf_weights</c> only when unused; and our <c>min_frequency</c> and
    /// <c>special_tokens</c>.
    /// </summary>
    private static Layer TextVectorizationLayer(ConfigArgs a, string? name)
    {
        var standardize = TextFunctionName(a, "standardize", TextStandardization.LowerAndStripPunctuation, TextStandardization.IsKnown,
            n => $"TextStandardization.Register(\"{n}\", text => ...)");
        var split = TextFunctionName(a, "split", TextSplitting.Whitespace, TextSplitting.IsKnown, n => $"TextSplitting.Register(\"{n}\", text => ...)");
        if (a.Node("ngrams") is { } ngrams) throw a.Bad("ngrams", "null (n-grams are not supported)", ngrams);
        if (a.Bool("sparse", false)) throw a.Fail("sparse outputs (sparse=true) are not supported.");
        if (a.Bool("ragged", false)) throw a.Fail("ragged outputs (ragged=true) are not supported as a layer option; call VectorizeRagged instead.");
        if (a.Node("idf_weights") is { } idf) throw a.Bad("idf_weights", "null (tf_idf output is not supported)", idf);
        var encoding = a.String("encoding", "utf-8")!;
        if (!encoding.Replace("-", "", StringComparison.Ordinal).Equals("utf8", StringComparison.OrdinalIgnoreCase))
            throw a.Bad("encoding", "\"utf-8\"", a.Raw["encoding"]);
        a.Ignore("has_input_vocabulary");

        List<string>? vocabulary = null;
        if (a.Node("vocabulary") is { } vocabularyNode)
        {
            if (vocabularyNode is not JsonArray list || list.Any(t => t is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
                throw a.Bad("vocabulary", "null or a list of strings (a vocabulary file path is never part of a saved config)", vocabularyNode);
            vocabulary = list.Select(t => t!.GetValue<string>()).ToList();
        }
        List<string>? specialTokens = null;
        if (a.Node("special_tokens") is { } specialNode)
        {
            if (specialNode is not JsonArray list || list.Any(t => t is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
                throw a.Bad("special_tokens", "a list of strings", specialNode);
            specialTokens = list.Select(t => t!.GetValue<string>()).ToList();
        }
        var layer = new TextVectorization(a.NullableInt("max_tokens", 2, int.MaxValue), standardize, split, a.String("output_mode", "int")!,
            a.NullableInt("output_sequence_length", 0, ConfigArgs.MaxSize), a.Bool("pad_to_max_tokens", false), vocabulary,
            a.Int("min_frequency", 1, 1, int.MaxValue), specialTokens, name);
        layer.ExpectedVocabularySize = a.NullableInt("vocabulary_size", 0, int.MaxValue);
        return layer;
    }

    /// <summary>A standardize/split argument: <c>null</c>, a name, or Keras' form of a registered function.</summary>
    private static string? TextFunctionName(ConfigArgs a, string key, string fallback, Func<string, bool> isKnown, Func<string, string> hint)
    {
        if (!a.Has(key))
        {
            a.Ignore(key);
            return fallback;
        }
        var node = a.Node(key);
        string? name = node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonObject o when o["registered_name"] is JsonValue r && r.GetValueKind() == JsonValueKind.String => r.GetValue<string>(),
            JsonObject o when o["config"] is JsonValue c && c.GetValueKind() == JsonValueKind.String => c.GetValue<string>(),
            _ => throw a.Bad(key, "null, a name, or a registered function", node),
        };
        if (name is not null && !isKnown(name))
            throw a.Fail($"argument '{key}' names the function '{name}', which is neither built in nor registered. Register it before loading: {hint(name)}.");
        return name;
    }
}
