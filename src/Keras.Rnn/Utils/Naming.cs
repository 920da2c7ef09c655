using System.Text.RegularExpressions;

namespace Keras.Rnn.Utils;

/// <summary>Keras' naming helpers: snake_case class names and unique automatic layer names.</summary>
internal static partial class Naming
{
    private static readonly Dictionary<string, int> Uids = new();
    private static readonly object Gate = new();

    [GeneratedRegex("(.)([A-Z][a-z0-9]+)")]
    private static partial Regex WordStart();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex LowerUpper();

    /// <summary>Keras' <c>to_snake_case</c>: <c>SimpleRNNCell</c> → <c>simple_rnn_cell</c>, <c>LSTM</c> → <c>lstm</c>.</summary>
    public static string ToSnakeCase(string name)
    {
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        var intermediate = WordStart().Replace(name, "$1_$2");
        var snake = LowerUpper().Replace(intermediate, "$1_$2").ToLowerInvariant();
        return snake.StartsWith('_') ? "private" + snake : snake;
    }

    /// <summary>A process-unique name from a base: <c>lstm</c>, then <c>lstm_1</c>, <c>lstm_2</c>, ...</summary>
    public static string Uniquify(string baseName)
    {
        lock (Gate)
        {
            Uids.TryGetValue(baseName, out var n);
            Uids[baseName] = n + 1;
            return n == 0 ? baseName : $"{baseName}_{n}";
        }
    }

    /// <summary>Forgets every automatic name handed out (Keras' <c>clear_session</c>).</summary>
    public static void Reset()
    {
        lock (Gate) Uids.Clear();
    }

    /// <summary>Normalises a Keras string identifier: lower case, CamelCase accepted (<c>GlorotUniform</c> = <c>glorot_uniform</c>).</summary>
    public static string NormalizeIdentifier(string id) => ToSnakeCase(id.Trim()).Replace("__", "_");
}
