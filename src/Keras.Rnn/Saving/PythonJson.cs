using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keras.Rnn.Saving;

/// <summary>
/// Writes JSON the way Python's <c>json.dumps</c> does with its defaults (as Keras writes <c>config.json</c> and
/// <c>metadata.json</c>): <c>", "</c> and <c>": "</c> separators, non-ASCII characters escaped as <c>\uXXXX</c>,
/// floats in Python's <c>repr</c> form (<c>0.0</c>, <c>1e-07</c>), <c>NaN</c>/<c>Infinity</c> as Python writes them.
/// </summary>
internal static class PythonJson
{
    /// <summary>The JSON text of <paramref name="node"/>.</summary>
    public static string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                bool first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, key);
                    sb.Append(": ");
                    Write(sb, value);
                }
                sb.Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, array[i]);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value);
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value)
    {
        if (value.TryGetValue<string>(out var s)) WriteString(sb, s);
        else if (value.TryGetValue<bool>(out var b)) sb.Append(b ? "true" : "false");
        else if (value.TryGetValue<double>(out var d) && value.GetValueKind() == JsonValueKind.Number && IsFloatingValue(value)) sb.Append(FormatFloat(d));
        else if (value.TryGetValue<long>(out var l)) sb.Append(l.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue<int>(out var i)) sb.Append(i.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue<double>(out var d2)) sb.Append(FormatFloat(d2));
        else sb.Append(value.ToJsonString());
    }

    private static bool IsFloatingValue(JsonValue value) =>
        value.TryGetValue<double>(out _) && !value.TryGetValue<long>(out _) && !value.TryGetValue<int>(out _);

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, at least one decimal, <c>e</c> exponents.</summary>
    internal static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        var s = d.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E'))
            return s.Replace("E", "e", StringComparison.Ordinal);
        return s.Contains('.') ? s : s + ".0";
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
