using System.Collections.Concurrent;
using System.Text;

namespace Keras.Rnn.Text;

/// <summary>
/// The splitting step of <see cref="TextVectorization"/> (Keras' <c>split</c> argument): named functions from a
/// standardised text to its tokens. Keras' <see cref="Whitespace"/> (default) and <see cref="Character"/>, and any
/// function registered with <see cref="Register"/>; <c>null</c> means no splitting (the whole text is one token).
/// </summary>
/// <remarks>
/// <see cref="Whitespace"/> splits on runs of Unicode white space (<see cref="char.IsWhiteSpace(char)"/>, which
/// includes the no-break spaces U+00A0 and U+202F) and drops leading and trailing white space, like
/// <c>tf.strings.split</c> (which recognises ASCII white space only; after a built-in standardisation the two agree).
/// <see cref="Character"/> yields every Unicode code point, spaces included, like <c>tf.strings.unicode_split</c>.
/// </remarks>
/// <example>
/// <code>
/// var v = new TextVectorization(split: TextSplitting.Register("pipe", s =&gt; s.Split('|')));
/// </code>
/// </example>
public static class TextSplitting
{
    /// <summary>Keras' default: split on white space.</summary>
    public const string Whitespace = "whitespace";

    /// <summary>Keras' <c>"character"</c>: one token per Unicode code point.</summary>
    public const string Character = "character";

    private static readonly ConcurrentDictionary<string, Func<string, IEnumerable<string>>> Registered = new(StringComparer.Ordinal);

    /// <summary>The built-in names.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = [Whitespace, Character];

    /// <summary>
    /// Registers a custom split function under <paramref name="name"/> (replacing an earlier one of that name) and
    /// returns the name: <c>split: TextSplitting.Register("pipe", s =&gt; s.Split('|'))</c>. Register it again
    /// before loading a model saved with it.
    /// </summary>
    /// <param name="name">The name recorded in configs.</param>
    /// <param name="function">Receives a standardised text, returns its tokens (not <c>null</c>; no <c>null</c> tokens).</param>
    /// <returns><paramref name="name"/>.</returns>
    /// <exception cref="ArgumentException">The name is empty or built in.</exception>
    public static string Register(string name, Func<string, IEnumerable<string>> function)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(function);
        if (BuiltInNames.Contains(name))
            throw new ArgumentException($"'{name}' is a built-in split and cannot be registered again; choose another name.", nameof(name));
        Registered[name] = function;
        return name;
    }

    /// <summary>Removes a registered split function.</summary>
    /// <param name="name">The name it was registered under.</param>
    /// <returns>Whether one was removed.</returns>
    public static bool Unregister(string name) => Registered.TryRemove(name, out _);

    /// <summary>Whether <paramref name="name"/> is a built-in or registered split (also by the part after <c>&gt;</c>).</summary>
    /// <param name="name">The name.</param>
    public static bool IsKnown(string name) => BuiltInNames.Contains(name) || FindRegistered(name) is not null;

    /// <summary>Splits <paramref name="text"/> with the split named <paramref name="split"/> (<c>null</c>: the whole text is one token).</summary>
    /// <param name="split">A built-in or registered name, or <c>null</c>.</param>
    /// <param name="text">The (standardised) text.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static IReadOnlyList<string> Apply(string? split, string text) => Resolve(split)(text);

    /// <summary>The function for a name.</summary>
    internal static Func<string, IReadOnlyList<string>> Resolve(string? split)
    {
        switch (split)
        {
            case null:
                return static s => [s];
            case Whitespace:
                return static s => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            case Character:
                return static s => s.EnumerateRunes().Select(r => r.ToString()).ToList();
        }
        var function = FindRegistered(split) ?? throw new ArgumentException(
            $"Unknown split '{split}'. Built-in: {string.Join(", ", BuiltInNames)}, or null for none; " +
            $"registered: [{string.Join(", ", Registered.Keys.Order(StringComparer.Ordinal))}]. " +
            $"Register a custom function first: TextSplitting.Register(\"{split}\", text => ...).", nameof(split));
        var name = split;
        return s =>
        {
            var tokens = function(s)?.ToList()
                         ?? throw new InvalidOperationException($"The split '{name}' returned null for the text \"{TextStandardization.Shorten(s)}\".");
            if (tokens.Any(t => t is null))
                throw new InvalidOperationException($"The split '{name}' returned a null token for the text \"{TextStandardization.Shorten(s)}\".");
            return tokens;
        };
    }

    private static Func<string, IEnumerable<string>>? FindRegistered(string name)
    {
        if (Registered.TryGetValue(name, out var f)) return f;
        var shortName = TextStandardization.ShortName(name);
        if (shortName != name && Registered.TryGetValue(shortName, out f)) return f;
        foreach (var (key, value) in Registered)
            if (TextStandardization.ShortName(key) == shortName) return value;
        return null;
    }

    /// <summary>Compares strings by Unicode code points (the order of their UTF-8 bytes, as numpy sorts Keras' tokens).</summary>
    internal static int CompareCodePoints(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            Rune.DecodeFromUtf16(a.AsSpan(i), out var ra, out int na);
            Rune.DecodeFromUtf16(b.AsSpan(j), out var rb, out int nb);
            if (ra.Value != rb.Value) return ra.Value.CompareTo(rb.Value);
            i += na;
            j += nb;
        }
        if (i < a.Length) return 1;
        return j < b.Length ? -1 : 0;
    }
}
