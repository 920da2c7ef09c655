using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keras.Rnn.Saving;

/// <summary>
/// Reads the JSON Keras writes (Python's <c>json.dumps</c>): bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c>
/// are accepted (turned into the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>, which the config
/// readers accept where a number is expected), nesting and size are bounded, and errors say where the text breaks.
/// </summary>
internal static class KerasJson
{
    /// <summary>Deepest nesting accepted (a deeply nested model config needs well under 100 levels).</summary>
    internal const int MaxDepth = 256;

    /// <summary>Largest JSON text accepted, in characters.</summary>
    internal const int MaxLength = 64 << 20;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth, AllowTrailingCommas = false };

    /// <summary>Parses <paramref name="text"/>; <paramref name="fail"/> builds the exception for broken JSON.</summary>
    public static JsonNode Parse(string text, Func<string, Exception> fail)
    {
        if (text.Length > MaxLength)
            throw fail($"the JSON text has {text.Length} characters, more than the {MaxLength} accepted.");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(QuoteNonFiniteLiterals(text), documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            throw fail($"broken JSON: {e.Message}");
        }
        return node ?? throw fail("the JSON text is `null`, expected an object.");
    }

    /// <summary>Python's bare <c>NaN</c>/<c>Infinity</c>/<c>-Infinity</c> (outside strings) as JSON strings.</summary>
    internal static string QuoteNonFiniteLiterals(string text)
    {
        if (text.IndexOf("NaN", StringComparison.Ordinal) < 0 && text.IndexOf("Infinity", StringComparison.Ordinal) < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        bool inString = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < text.Length) sb.Append(text[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"')
            {
                inString = true;
                sb.Append(c);
                continue;
            }
            if (Matches(text, i, "NaN")) { sb.Append("\"NaN\""); i += 2; continue; }
            if (Matches(text, i, "Infinity")) { sb.Append("\"Infinity\""); i += 7; continue; }
            if (Matches(text, i, "-Infinity")) { sb.Append("\"-Infinity\""); i += 8; continue; }
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool Matches(string text, int i, string word) =>
        string.CompareOrdinal(text, i, word, 0, word.Length) == 0
        && (i + word.Length == text.Length || !char.IsLetterOrDigit(text[i + word.Length]));

    /// <summary>The JSON kind of a node for messages: <c>null</c>, <c>a string "x"</c>, <c>the number 3</c>, <c>an object</c>...</summary>
    public static string Describe(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return "null";
            case JsonObject o:
                return o.Count == 0 ? "an empty object" : $"an object with keys [{string.Join(", ", o.Select(kv => kv.Key).Take(8))}{(o.Count > 8 ? ", ..." : "")}]";
            case JsonArray a:
                return $"a list of {a.Count} item(s)";
            case JsonValue v:
                var kind = v.GetValueKind();
                var raw = v.ToJsonString();
                if (raw.Length > 60) raw = raw[..57] + "...";
                return kind switch
                {
                    JsonValueKind.String => $"the string {raw}",
                    JsonValueKind.Number => $"the number {raw}",
                    JsonValueKind.True or JsonValueKind.False => $"the boolean {raw}",
                    _ => raw,
                };
            default:
                return node.GetType().Name;
        }
    }

    /// <summary>Converts a JSON node to plain .NET values: <c>null</c>, <see cref="string"/>, <see cref="bool"/>,
    /// <see cref="long"/> (integers), <see cref="double"/>, lists (<c>List&lt;object?&gt;</c>) and dictionaries
    /// (<c>Dictionary&lt;string, object?&gt;</c>, keys in file order).</summary>
    public static object? ToPlain(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject o:
                var dict = new Dictionary<string, object?>(o.Count);
                foreach (var (k, v) in o) dict[k] = ToPlain(v);
                return dict;
            case JsonArray a:
                var list = new List<object?>(a.Count);
                foreach (var item in a) list.Add(ToPlain(item));
                return list;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        return v.GetValue<string>();
                    case JsonValueKind.True:
                        return true;
                    case JsonValueKind.False:
                        return false;
                    case JsonValueKind.Number:
                        if (v.TryGetValue<long>(out var l)) return l;
                        if (v.TryGetValue<double>(out var d)) return d;
                        return double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture);
                    default:
                        return null;
                }
            default:
                return null;
        }
    }
}
