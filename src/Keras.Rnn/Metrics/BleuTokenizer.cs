using System.Text;

namespace Keras.Rnn.Metrics;

/// <summary>
/// The tokenizations BLEU is computed on, as sacreBLEU names them: <c>"13a"</c> (the tokenizer of WMT's
/// <c>mteval-v13a.pl</c>, sacreBLEU's default), <c>"none"</c> (split at whitespace, for text that is already tokenized)
/// and <c>"char"</c> (every non-space character is a token).
/// </summary>
/// <remarks>
/// <c>"13a"</c>: removes <c>&lt;skipped&gt;</c> and hyphenated line breaks, turns line breaks into spaces, decodes
/// <c>&amp;quot;</c>, <c>&amp;amp;</c>, <c>&amp;lt;</c>, <c>&amp;gt;</c>, then separates as tokens the symbols
/// <c>{ | } ~ [ \ ] ^ _ ` ! " # $ % &amp; ( ) * + : ; &lt; = &gt; ? @ /</c>, periods and commas except between digits
/// (<c>3.14</c>, <c>1,000</c> stay whole), and a hyphen that follows a digit (<c>1990-2000</c> → <c>1990 - 2000</c>);
/// apostrophes and other hyphens stay inside words (<c>don't</c>, <c>well-known</c>). Whitespace is Python's (including
/// the no-break spaces of French typography).
/// </remarks>
public static class BleuTokenizer
{
    /// <summary>The tokenizer names accepted.</summary>
    public static IReadOnlyList<string> Names { get; } = ["13a", "none", "char"];

    /// <summary>Splits <paramref name="text"/> into BLEU tokens.</summary>
    /// <param name="text">A sentence.</param>
    /// <param name="tokenize"><c>"13a"</c> (default), <c>"none"</c> or <c>"char"</c>.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="ArgumentException">Unknown tokenizer name.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string[] Tokenize(string text, string tokenize = "13a")
    {
        ArgumentNullException.ThrowIfNull(text);
        return tokenize switch
        {
            "13a" => SplitWhitespace(Apply13a(text)),
            "none" => SplitWhitespace(text),
            "char" => Characters(text),
            _ => throw UnknownTokenizer(tokenize, nameof(tokenize)),
        };
    }

    internal static ArgumentException UnknownTokenizer(string? name, string parameter) =>
        new($"Unknown BLEU tokenizer '{name}'. Known: {string.Join(", ", Names.Select(n => $"\"{n}\""))}.", parameter);

    /// <summary>The <c>"13a"</c> tokenization of a sentence, tokens separated by single spaces.</summary>
    /// <param name="text">A sentence.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string Apply13a(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Language-independent clean-up, in mteval-v13a's order.
        var line = text.Replace("<skipped>", "", StringComparison.Ordinal)
            .Replace("-\n", "", StringComparison.Ordinal)
            .Replace("\n", " ", StringComparison.Ordinal)
            .Replace("&quot;", "\"", StringComparison.Ordinal)
            .Replace("&amp;", "&", StringComparison.Ordinal)
            .Replace("&lt;", "<", StringComparison.Ordinal)
            .Replace("&gt;", ">", StringComparison.Ordinal);

        // Symbols become tokens of their own.
        var spaced = new StringBuilder(line.Length * 2 + 2).Append(' ');
        foreach (char c in line)
        {
            if (IsSeparatedSymbol(c)) spaced.Append(' ').Append(c).Append(' ');
            else spaced.Append(c);
        }
        spaced.Append(' ');
        var s = spaced.ToString();

        // Periods and commas split off unless they sit between digits; a hyphen splits off after a digit. Each rule scans
        // left to right over non-overlapping character pairs, as a regular-expression substitution does.
        s = ReplacePairs(s, (a, b) => !IsAsciiDigit(a) && b is '.' or ',', (a, b) => $"{a} {b} ");
        s = ReplacePairs(s, (a, b) => a is '.' or ',' && !IsAsciiDigit(b), (a, b) => $" {a} {b}");
        s = ReplacePairs(s, (a, b) => IsAsciiDigit(a) && b == '-', (a, b) => $"{a} {b} ");
        return string.Join(' ', SplitWhitespace(s));
    }

    /// <summary>ASCII symbols mteval-v13a separates: <c>{|}~</c>, <c>[\]^_`</c>, space to <c>&amp;</c>, <c>(</c> to <c>+</c>, <c>:</c> to <c>@</c>, <c>/</c>.</summary>
    private static bool IsSeparatedSymbol(char c) =>
        c is >= '{' and <= '~' or >= '[' and <= '`' or >= ' ' and <= '&' or >= '(' and <= '+' or >= ':' and <= '@' or '/';

    private static bool IsAsciiDigit(char c) => c is >= '0' and <= '9';

    private static string ReplacePairs(string s, Func<char, char, bool> matches, Func<char, char, string> replacement)
    {
        var result = new StringBuilder(s.Length + 16);
        int i = 0;
        while (i < s.Length - 1)
        {
            if (matches(s[i], s[i + 1]))
            {
                result.Append(replacement(s[i], s[i + 1]));
                i += 2;
            }
            else
            {
                result.Append(s[i]);
                i++;
            }
        }
        if (i < s.Length) result.Append(s, i, s.Length - i);
        return result.ToString();
    }

    /// <summary>Python's <c>str.isspace</c>: .NET's white space plus the ASCII separators U+001C to U+001F.</summary>
    internal static bool IsWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>str.split()</c>: the runs of non-whitespace characters.</summary>
    internal static string[] SplitWhitespace(string s)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= s.Length; i++)
        {
            bool space = i == s.Length || IsWhiteSpace(s[i]);
            if (space && start >= 0)
            {
                tokens.Add(s[start..i]);
                start = -1;
            }
            else if (!space && start < 0)
            {
                start = i;
            }
        }
        return tokens.ToArray();
    }

    /// <summary>Python's <c>str.rstrip()</c>.</summary>
    internal static string TrimEndWhiteSpace(string s)
    {
        int end = s.Length;
        while (end > 0 && IsWhiteSpace(s[end - 1])) end--;
        return s[..end];
    }

    private static string[] Characters(string text)
    {
        var tokens = new List<string>();
        foreach (var rune in text.EnumerateRunes())
        {
            var token = rune.ToString();
            if (token.Length == 1 && IsWhiteSpace(token[0])) continue;
            tokens.Add(token);
        }
        return tokens.ToArray();
    }
}
