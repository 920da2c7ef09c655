using System.Globalization;
using System.Text;

namespace Keras.Rnn.Text;

/// <summary>
/// A reversible word tokenizer for translation: splits a sentence into words and punctuation marks, optionally
/// splits elisions (<c>j'ai</c> → <c>j'</c> <c>ai</c>) and hyphenated clitics (<c>est-ce</c> → <c>est</c> <c>-ce</c>),
/// and joins tokens back into text with the target language's typographic spacing (<see cref="Detokenize"/>).
/// Text is first normalised (<see cref="Normalize"/>): Unicode NFC, typographic apostrophes to <c>'</c>, the
/// no-break and narrow no-break spaces French uses before <c>? ! : ;</c> to plain spaces, runs of white space to one.
/// </summary>
/// <example>
/// <code>
/// var french = new WordTokenizer(frenchSpacing: true);
/// var tokens = french.Tokenize("Qu'est-ce que c'est\u202F?");   // ["Qu'", "est", "-ce", "que", "c'", "est", "?"]
/// string text = french.Detokenize(tokens);                      // "Qu'est-ce que c'est ?"
/// </code>
/// </example>
public sealed class WordTokenizer
{
    /// <summary>The punctuation marks that become tokens of their own by default.</summary>
    public const string DefaultPunctuation = ".,!?;:«»\"()[]{}…¿¡";

    private readonly HashSet<char> _punctuation;

    /// <summary>Creates a tokenizer.</summary>
    /// <param name="lowercase">Lower-case the text before splitting (default <c>false</c>: keep case).</param>
    /// <param name="splitElisions">Split a word after an apostrophe that follows a letter (default <c>true</c>).</param>
    /// <param name="splitHyphens">Split hyphenated words into the first part and <c>-part</c> tokens (default <c>true</c>).</param>
    /// <param name="frenchSpacing">
    /// <see cref="Detokenize"/> puts a space before <c>? ! : ;</c> and inside <c>« »</c>, as French typography does
    /// (default <c>false</c>: English spacing).
    /// </param>
    /// <param name="punctuation">Characters that become separate tokens (default <see cref="DefaultPunctuation"/>).
    /// A period or comma between two digits stays inside the number.</param>
    public WordTokenizer(bool lowercase = false, bool splitElisions = true, bool splitHyphens = true,
        bool frenchSpacing = false, string punctuation = DefaultPunctuation)
    {
        ArgumentNullException.ThrowIfNull(punctuation);
        Lowercase = lowercase;
        SplitElisions = splitElisions;
        SplitHyphens = splitHyphens;
        FrenchSpacing = frenchSpacing;
        Punctuation = punctuation;
        _punctuation = [.. punctuation];
        if (_punctuation.Contains('\'') || _punctuation.Contains('-'))
            throw new ArgumentException("WordTokenizer: the apostrophe and the hyphen are handled by splitElisions and splitHyphens; remove them from punctuation.", nameof(punctuation));
    }

    /// <summary>Whether text is lower-cased.</summary>
    public bool Lowercase { get; }

    /// <summary>Whether elisions are split after the apostrophe.</summary>
    public bool SplitElisions { get; }

    /// <summary>Whether hyphenated words are split before each hyphen.</summary>
    public bool SplitHyphens { get; }

    /// <summary>Whether <see cref="Detokenize"/> uses French spacing around <c>? ! : ; « »</c>.</summary>
    public bool FrenchSpacing { get; }

    /// <summary>The characters that become separate tokens.</summary>
    public string Punctuation { get; }

    /// <summary>
    /// Normalises text: Unicode NFC, <c>’ ‘ ʼ</c> to <c>'</c>, the hyphen U+2010 to <c>-</c>, all white space
    /// (including U+00A0 and U+202F) to single spaces, trimmed.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The normalised text.</returns>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = text.Normalize(NormalizationForm.FormC);
        var builder = new StringBuilder(normalized.Length);
        bool pendingSpace = false;
        foreach (var c in normalized)
        {
            if (char.IsWhiteSpace(c) || c == '\u202F' || c == '\u00A0' || char.IsControl(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (pendingSpace) builder.Append(' ');
            pendingSpace = false;
            builder.Append(c switch
            {
                '\u2019' or '\u2018' or '\u02BC' => '\'',
                '\u2010' or '\u2011' => '-',
                _ => c,
            });
        }
        return builder.ToString();
    }

    /// <summary>Splits a sentence into tokens.</summary>
    /// <param name="text">The sentence.</param>
    /// <returns>The tokens (empty for an empty or blank sentence).</returns>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var normalized = Normalize(text);
        if (Lowercase) normalized = normalized.ToLower(CultureInfo.InvariantCulture);
        var tokens = new List<string>();
        foreach (var word in normalized.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            SplitWord(word, tokens);
        return tokens;
    }

    private void SplitWord(string word, List<string> tokens)
    {
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length > 0) tokens.Add(current.ToString());
            current.Clear();
        }
        for (int i = 0; i < word.Length; i++)
        {
            char c = word[i];
            bool digitsAround = i > 0 && i + 1 < word.Length && char.IsDigit(word[i - 1]) && char.IsDigit(word[i + 1]);
            if (_punctuation.Contains(c) && !((c == '.' || c == ',') && digitsAround))
            {
                Flush();
                tokens.Add(c.ToString());
            }
            else if (c == '\'' && SplitElisions && current.Length > 0 && char.IsLetter(current[^1])
                     && i + 1 < word.Length && char.IsLetter(word[i + 1]))
            {
                current.Append(c);
                Flush();
            }
            else if (c == '-' && SplitHyphens && current.Length > 0 && char.IsLetterOrDigit(current[^1])
                     && i + 1 < word.Length && char.IsLetterOrDigit(word[i + 1]))
            {
                Flush();
                current.Append(c);
            }
            else
            {
                current.Append(c);
            }
        }
        Flush();
    }

    /// <summary>
    /// Joins tokens into text: no space after an elision (<c>j'</c>), before a hyphen part (<c>-ce</c>), before
    /// <c>. , ) ] }</c> or after <c>( [ { ¿ ¡</c>; straight double quotes alternate between opening and closing; with
    /// <see cref="FrenchSpacing"/> a space before <c>? ! : ;</c> and inside <c>« »</c>, otherwise none before them.
    /// </summary>
    /// <param name="tokens">The tokens.</param>
    /// <returns>The text.</returns>
    public string Detokenize(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var builder = new StringBuilder();
        bool noSpaceNext = true;
        bool quoteOpen = false;
        foreach (var token in tokens)
        {
            if (string.IsNullOrEmpty(token)) continue;
            bool attachLeft = token switch
            {
                "." or "," or ")" or "]" or "}" or "…" => true,
                "?" or "!" or ":" or ";" => !FrenchSpacing,
                "»" => !FrenchSpacing,
                "\"" => quoteOpen,
                _ => SplitHyphens && token.Length > 1 && token[0] == '-' && builder.Length > 0 && char.IsLetterOrDigit(builder[^1]),
            };
            if (builder.Length > 0 && !noSpaceNext && !attachLeft) builder.Append(' ');
            builder.Append(token);
            noSpaceNext = token switch
            {
                "(" or "[" or "{" or "¿" or "¡" => true,
                "«" => !FrenchSpacing,
                "\"" => !quoteOpen,
                _ => SplitElisions && token.Length > 1 && token[^1] == '\'' && char.IsLetter(token[^2]),
            };
            if (token == "\"") quoteOpen = !quoteOpen;
        }
        return builder.ToString();
    }
}
