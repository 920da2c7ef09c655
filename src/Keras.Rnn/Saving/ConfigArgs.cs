using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;

namespace Keras.Rnn.Saving;

/// <summary>
/// The arguments of one Keras object's <c>config</c>, read with their expected types: each accessor names the object,
/// the argument and its JSON location, and what was expected versus found when the value does not fit. Keys that no
/// accessor read are checked at the end (<see cref="Finish"/>): Keras rejects unknown arguments, and so do we, except
/// those given at an inactive value (<c>null</c> or <c>false</c>) and those declared tolerated.
/// </summary>
internal sealed class ConfigArgs
{
    /// <summary>Largest size argument accepted (units, dimensions, repetitions): 2^24.</summary>
    internal const int MaxSize = 1 << 24;

    private readonly JsonObject _config;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    /// <summary>Wraps a config object.</summary>
    /// <param name="config">The <c>config</c> object.</param>
    /// <param name="owner">How messages name the object, e.g. <c>layer 'lstm_1' (LSTM)</c>.</param>
    /// <param name="location">JSON path of <paramref name="config"/>.</param>
    /// <param name="context">The deserialization.</param>
    public ConfigArgs(JsonObject config, string owner, string location, KerasLoadContext context)
    {
        _config = config;
        Owner = owner;
        Location = location;
        Context = context;
    }

    /// <summary>How messages name the object.</summary>
    public string Owner { get; }

    /// <summary>JSON path of the config.</summary>
    public string Location { get; }

    /// <summary>The deserialization.</summary>
    public KerasLoadContext Context { get; }

    /// <summary>The raw config.</summary>
    public JsonObject Raw => _config;

    /// <summary>The JSON path of an argument.</summary>
    public string PathOf(string key) => $"{Location}.{key}";

    /// <summary>The exception for a bad argument value.</summary>
    public Exception Bad(string key, string expected, JsonNode? found) =>
        Context.Error(PathOf(key), $"{Owner}: argument '{key}' expects {expected}, found {KerasJson.Describe(found)}.");

    /// <summary>The exception for a problem with the object as a whole.</summary>
    public Exception Fail(string message, Exception? inner = null) => Context.Error(Location, $"{Owner}: {message}", inner);

    /// <summary>Whether the key is present (even with <c>null</c>).</summary>
    public bool Has(string key) => _config.ContainsKey(key);

    /// <summary>Whether the key is present with a non-null value.</summary>
    public bool HasValue(string key) => _config.TryGetPropertyValue(key, out var v) && v is not null;

    /// <summary>The raw value (marking the key as read), or <c>null</c>.</summary>
    public JsonNode? Node(string key)
    {
        _read.Add(key);
        return _config.TryGetPropertyValue(key, out var v) ? v : null;
    }

    /// <summary>Marks keys as read without using them (arguments Keras accepts and ignores).</summary>
    public void Ignore(params string[] keys)
    {
        foreach (var k in keys) _read.Add(k);
    }

    /// <summary>Renames a legacy key to its current name when only the legacy one is present.</summary>
    public void Rename(string legacy, string current)
    {
        if (_config.ContainsKey(legacy) && !_config.ContainsKey(current))
        {
            var v = _config[legacy];
            _config.Remove(legacy);
            _config[current] = v?.DeepClone();
        }
    }

    /// <summary>Rejects keys no accessor read, unless their value is inactive (<c>null</c> or <c>false</c>).</summary>
    public void Finish()
    {
        var unknown = _config.Where(kv => !_read.Contains(kv.Key) && !IsInactive(kv.Value)).Select(kv => kv.Key).ToList();
        if (unknown.Count > 0)
            throw Context.Error(Location,
                $"{Owner}: unrecognized argument(s) {string.Join(", ", unknown.Select(k => $"'{k}'={Short(_config[k])}"))}. " +
                $"Known arguments: {string.Join(", ", _read.OrderBy(k => k, StringComparer.Ordinal))}.");
    }

    private static string Short(JsonNode? node)
    {
        var s = node?.ToJsonString() ?? "null";
        return s.Length > 40 ? s[..37] + "..." : s;
    }

    private static bool IsInactive(JsonNode? node) =>
        node is null || node is JsonValue v && v.GetValueKind() == JsonValueKind.False;

    // ------------------------------------------------------------------ scalars

    /// <summary>A number as double (Python's <c>NaN</c>/<c>Infinity</c> accepted), or <c>null</c> when absent or null.</summary>
    public static double? AsDouble(JsonNode? node)
    {
        if (node is not JsonValue v) return null;
        switch (v.GetValueKind())
        {
            case JsonValueKind.Number:
                return v.TryGetValue<double>(out var d) ? d : double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture);
            case JsonValueKind.String:
                return v.GetValue<string>() switch
                {
                    "NaN" => double.NaN,
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>An integral number as long (integral floats such as <c>3.0</c> accepted), or <c>null</c>.</summary>
    public static long? AsLong(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return null;
        if (v.TryGetValue<long>(out var l)) return l;
        var text = v.ToJsonString();
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d && Math.Abs(d) < 9e15)
            return (long)d;
        return null;
    }

    /// <summary>A required number.</summary>
    public double Double(string key)
    {
        var node = Node(key);
        return AsDouble(node) ?? throw Bad(key, "a number", node);
    }

    /// <summary>A number, or <paramref name="fallback"/> when absent or null.</summary>
    public double Double(string key, double fallback)
    {
        var node = Node(key);
        if (node is null) return fallback;
        return AsDouble(node) ?? throw Bad(key, "a number", node);
    }

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent or null.</summary>
    public double Double(string key, double fallback, double min, double max)
    {
        var node = Node(key);
        if (node is null) return fallback;
        var d = AsDouble(node);
        if (d is not { } value || !(value >= min && value <= max)) throw Bad(key, $"a number in [{min}, {max}]", node);
        return value;
    }

    /// <summary>A number or <c>null</c>.</summary>
    public double? NullableDouble(string key)
    {
        var node = Node(key);
        if (node is null) return null;
        return AsDouble(node) ?? throw Bad(key, "a number or null", node);
    }

    /// <summary>A required integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Int(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Node(key);
        var l = AsLong(node);
        if (l is not { } value || value < min || value > max) throw Bad(key, DescribeRange(min, max), node);
        return (int)value;
    }

    /// <summary>An integer in range, or <paramref name="fallback"/> when absent or null.</summary>
    public int Int(string key, int fallback, int min, int max)
    {
        if (Node(key) is null) return fallback;
        return Int(key, min, max);
    }

    /// <summary>An integer in range, or <c>null</c>.</summary>
    public int? NullableInt(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Node(key) is null) return null;
        return Int(key, min, max);
    }

    /// <summary>A required long integer in range.</summary>
    public long Long(string key, long min = long.MinValue, long max = long.MaxValue)
    {
        var node = Node(key);
        var l = AsLong(node);
        if (l is not { } value || value < min || value > max) throw Bad(key, DescribeRange(min, max), node);
        return value;
    }

    /// <summary>A size: a positive integer at most <see cref="MaxSize"/>.</summary>
    public int Size(string key) => Int(key, 1, MaxSize);

    private static string DescribeRange(long min, long max) =>
        (min, max) switch
        {
            (long.MinValue or int.MinValue, long.MaxValue or int.MaxValue) => "an integer",
            (1, _) when max >= MaxSize => $"a positive integer (at most {max})",
            (_, long.MaxValue or int.MaxValue) => $"an integer ≥ {min}",
            _ => $"an integer in [{min}, {max}]",
        };

    /// <summary>A boolean, or <paramref name="fallback"/> when absent or null.</summary>
    public bool Bool(string key, bool fallback)
    {
        var node = Node(key);
        if (node is null) return fallback;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        // Python writes numpy booleans and 0/1 flags as numbers in some old configs.
        if (AsLong(node) is 0 or 1) return AsLong(node) == 1;
        throw Bad(key, "a boolean", node);
    }

    /// <summary>A string, or <paramref name="fallback"/> when absent or null.</summary>
    public string? String(string key, string? fallback = null)
    {
        var node = Node(key);
        if (node is null) return fallback;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw Bad(key, "a string", node);
    }

    /// <summary>The layer name (<c>name</c>), or <c>null</c>.</summary>
    public string? Name() => String("name");

    /// <summary>A list of integers (a JSON list, or one integer), or <c>null</c> when absent or null.</summary>
    public int[]? IntList(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Node(key);
        if (node is null) return null;
        if (node is not JsonArray a)
        {
            if (AsLong(node) is { } single && single >= min && single <= max) return [(int)single];
            throw Bad(key, "a list of integers", node);
        }
        if (a.Count > 64) throw Bad(key, "a list of at most 64 integers", node);
        var result = new int[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            if (AsLong(a[i]) is not { } value || value < min || value > max)
                throw Bad(key, $"a list of integers ({DescribeRange(min, max)} each)", node);
            result[i] = (int)value;
        }
        return result;
    }

    /// <summary>A shape (list of sizes or <c>null</c>), or <c>null</c> when absent or null.</summary>
    public Shape? Shape(string key)
    {
        var node = Node(key);
        if (node is null) return null;
        return ShapeFrom(node) ?? throw Bad(key, $"a shape (a list of sizes between 0 and {MaxSize}, or null)", node);
    }

    /// <summary>A shape from a JSON list of sizes and nulls, or <c>null</c> when it is not one.</summary>
    public static Shape? ShapeFrom(JsonNode? node)
    {
        if (node is not JsonArray a || a.Count > 64) return null;
        var dims = new int?[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] is null) continue;
            if (AsLong(a[i]) is not { } d || d < 0 || d > MaxSize) return null;
            dims[i] = (int)d;
        }
        return new Shape(dims);
    }

    // ------------------------------------------------------------------ Keras objects

    /// <summary>An activation (name or serialized function), <paramref name="fallback"/> when absent or null.</summary>
    public ActivationFunction Activation(string key, ActivationFunction fallback)
    {
        var node = Node(key);
        if (node is null) return fallback;
        return KerasObjectsReader.Activation(node, this, key);
    }

    /// <summary>An initializer, <paramref name="fallback"/> when absent or null.</summary>
    public Initializer Initializer(string key, Func<Initializer> fallback)
    {
        var node = Node(key);
        if (node is null) return fallback();
        return KerasObjectsReader.Initializer(node, Context, PathOf(key), Owner);
    }

    /// <summary>A regularizer or <c>null</c>.</summary>
    public Regularizer? Regularizer(string key)
    {
        var node = Node(key);
        if (node is null) return null;
        return KerasObjectsReader.Regularizer(node, Context, PathOf(key), Owner);
    }

    /// <summary>A constraint or <c>null</c>.</summary>
    public Constraint? Constraint(string key)
    {
        var node = Node(key);
        if (node is null) return null;
        return KerasObjectsReader.Constraint(node, Context, PathOf(key), Owner);
    }
}
