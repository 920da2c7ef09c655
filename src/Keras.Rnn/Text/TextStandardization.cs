using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Keras.Rnn.Text;

/// <summary>
/// The standardisation step of <see cref="TextVectorization"/> (Keras' <c>standardize</c> argument): named functions
/// from <see cref="string"/> to <see cref="string"/>. The names Keras knows — <see cref="LowerAndStripPunctuation"/>
/// (its default), <see cref="Lower"/>, <see cref="StripPunctuation"/> — plus two ready-made ones for translation,
/// and any function registered with <see cref="Register"/>. A layer's config records the name, so a model saved with
/// a registered function loads again wherever the same name is registered (Keras' rule for custom functions).
/// </summary>
/// <remarks>
/// <para>Every built-in standardisation first applies <see cref="Normalize"/>: Unicode NFKC normalisation, so that
/// compatibility characters such as the narrow no-break space U+202F and the no-break space U+00A0 that French
/// typography puts before <c>! ? : ;</c>, the thin space U+2009, full-width forms and ligatures become their plain
/// forms; every other space separator becomes an ASCII space; typographic apostrophes (<c>’ ‘ ʼ</c>) become
/// <c>'</c> and Unicode hyphens (U+2010, U+2011) become <c>-</c>; invisible characters (zero-width space, word
/// joiner, byte-order mark, soft hyphen) are removed. NFKC rather than NFC because the compatibility mappings are
/// what makes differently typed copies of one sentence tokenise alike (SentencePiece normalises with NFKC by
/// default for the same reason); accents are kept, composed (<c>é</c> stays one character).</para>
/// <para>Differences from Keras, which runs <c>tf.strings.lower</c> and a regular expression over ASCII
/// punctuation: lower-casing is Unicode-wide (.NET invariant culture: <c>École</c> → <c>école</c>, where Keras
/// lowers ASCII letters only), and punctuation is Keras' ASCII set (Python's <c>string.punctuation</c>,
/// <c>!"#$%&amp;'()*+,-./:;&lt;=&gt;?@[\]^_`{|}~</c>) plus every Unicode punctuation character (general categories
/// P*: <c>« » ¿ ¡ … —</c>). On ASCII text the results equal Keras'.</para>
/// <para><c>null</c> (Keras' <c>standardize=None</c>) means no standardisation at all, not even
/// <see cref="Normalize"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// var a = new TextVectorization(standardize: TextStandardization.LowerAndSeparatePunctuation);
/// var b = new TextVectorization(standardize: TextStandardization.Register("upper", s =&gt; s.ToUpperInvariant()));
/// string s = TextStandardization.Apply("lower_and_strip_punctuation", "Va\u202F!"); // "va"
/// </code>
/// </example>
public static class TextStandardization
{
    /// <summary>Keras' default: <see cref="Normalize"/>, lower-case, then remove punctuation.</summary>
    public const string LowerAndStripPunctuation = "lower_and_strip_punctuation";

    /// <summary>Keras' <c>"lower"</c>: <see cref="Normalize"/>, then lower-case.</summary>
    public const string Lower = "lower";

    /// <summary>Keras' <c>"strip_punctuation"</c>: <see cref="Normalize"/>, then remove punctuation (case kept).</summary>
    public const string StripPunctuation = "strip_punctuation";

    /// <summary>
    /// Like <see cref="LowerAndStripPunctuation"/> but keeps <c>[</c> and <c>]</c>, so that <c>[start]</c> and
    /// <c>[end]</c> markers survive — the <c>custom_standardization</c> of Keras' English-to-Spanish translation
    /// example. (A <c>specialTokens</c> list on <see cref="TextVectorization"/> protects markers with any
    /// standardisation.)
    /// </summary>
    public const string LowerAndStripPunctuationKeepBrackets = "lower_and_strip_punctuation_keep_brackets";

    /// <summary>
    /// For translation, where punctuation carries meaning: <see cref="Normalize"/>, lower-case, and surround every
    /// punctuation character with spaces so that whitespace splitting makes it a token of its own
    /// (<c>"Va !"</c> → <c>"va !"</c>, <c>"Hello, world."</c> → <c>"hello , world ."</c>), except an apostrophe or
    /// hyphen between two letters or digits, which stays inside its word (<c>l'homme</c>, <c>peut-être</c>,
    /// <c>don't</c>).
    /// </summary>
    public const string LowerAndSeparatePunctuation = "lower_and_separate_punctuation";

    /// <summary>Python's <c>string.punctuation</c>, the characters Keras' <c>strip_punctuation</c> removes.</summary>
    internal const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private static readonly ConcurrentDictionary<string, Func<string, string>> Registered = new(StringComparer.Ordinal);

    /// <summary>The built-in names, Keras' first.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } =
        [LowerAndStripPunctuation, Lower, StripPunctuation, LowerAndStripPunctuationKeepBrackets, LowerAndSeparatePunctuation];

    /// <summary>
    /// Registers a custom standardisation under <paramref name="name"/> (Keras' registered functions), replacing an
    /// earlier registration of that name, and returns the name, so that it can be written inline:
    /// <c>standardize: TextStandardization.Register("mine", MyFunction)</c>. Register it again under the same name
    /// before loading a model saved with it.
    /// </summary>
    /// <param name="name">The name recorded in configs; may be a Keras registered name such as <c>package&gt;name</c>.</param>
    /// <param name="function">The function; it receives one text (never <c>null</c>) and must return a non-null string.</param>
    /// <returns><paramref name="name"/>.</returns>
    /// <exception cref="ArgumentException">The name is empty or a built-in one.</exception>
    public static string Register(string name, Func<string, string> function)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(function);
        if (BuiltInNames.Contains(name))
            throw new ArgumentException($"'{name}' is a built-in standardization and cannot be registered again; choose another name.", nameof(name));
        Registered[name] = function;
        return name;
    }

    /// <summary>Removes a registered standardisation.</summary>
    /// <param name="name">The name it was registered under.</param>
    /// <returns>Whether one was removed.</returns>
    public static bool Unregister(string name) => Registered.TryRemove(name, out _);

    /// <summary>Whether <paramref name="name"/> is a built-in or registered standardisation (also by the part after <c>&gt;</c>).</summary>
    /// <param name="name">The name.</param>
    public static bool IsKnown(string name) => BuiltInNames.Contains(name) || FindRegistered(name) is not null;

    /// <summary>Applies the standardisation named <paramref name="standardize"/> (<c>null</c>: none) to <paramref name="text"/>.</summary>
    /// <param name="standardize">A built-in or registered name, or <c>null</c>.</param>
    /// <param name="text">The text.</param>
    /// <returns>The standardised text.</returns>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    /// <exception cref="InvalidOperationException">A registered function returned <c>null</c>.</exception>
    public static string Apply(string? standardize, string text) => Resolve(standardize)(text);

    /// <summary>The function for a name (<c>null</c>: identity).</summary>
    internal static Func<string, string> Resolve(string? standardize)
    {
        switch (standardize)
        {
            case null:
                return static s => s;
            case LowerAndStripPunctuation:
                return static s => Strip(Normalize(s).ToLowerInvariant(), keepBrackets: false);
            case Lower:
                return static s => Normalize(s).ToLowerInvariant();
            case StripPunctuation:
                return static s => Strip(Normalize(s), keepBrackets: false);
            case LowerAndStripPunctuationKeepBrackets:
                return static s => Strip(Normalize(s).ToLowerInvariant(), keepBrackets: true);
            case LowerAndSeparatePunctuation:
                return static s => Separate(Normalize(s).ToLowerInvariant());
        }
        var function = FindRegistered(standardize) ?? throw new ArgumentException(
            $"Unknown standardize '{standardize}'. Built-in: {string.Join(", ", BuiltInNames)}, or null for none; " +
            $"registered: [{string.Join(", ", Registered.Keys.Order(StringComparer.Ordinal))}]. " +
            $"Register a custom function first: TextStandardization.Register(\"{standardize}\", text => ...).", nameof(standardize));
        var name = standardize;
        return s => function(s) ?? throw new InvalidOperationException($"The standardization '{name}' returned null for the text \"{Shorten(s)}\".");
    }

    private static Func<string, string>? FindRegistered(string name)
    {
        if (Registered.TryGetValue(name, out var f)) return f;
        var shortName = ShortName(name);
        if (shortName != name && Registered.TryGetValue(shortName, out f)) return f;
        foreach (var (key, value) in Registered)
            if (ShortName(key) == shortName) return value;
        return null;
    }

    internal static string ShortName(string name) => name.Contains('>') ? name[(name.LastIndexOf('>') + 1)..] : name;

    internal static string Shorten(string s) => s.Length > 60 ? s[..57] + "..." : s;

    /// <summary>
    /// The Unicode normalisation every built-in standardisation starts with (see the remarks of
    /// <see cref="TextStandardization"/>): NFKC; space separators (U+00A0, U+202F, U+2009, ...) → ASCII space;
    /// <c>’ ‘ ʼ</c> → <c>'</c>; U+2010 and U+2011 → <c>-</c>; zero-width space, word joiner, byte-order mark and soft
    /// hyphen removed. Unpaired surrogates (not valid Unicode) become U+FFFD.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The normalised text.</returns>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (System.Text.Ascii.IsValid(text)) return text; // ASCII is its own NFKC form and has no special spaces
        var valid = ReplaceLoneSurrogates(text);
        var nfkc = valid.IsNormalized(NormalizationForm.FormKC) ? valid : valid.Normalize(NormalizationForm.FormKC);
        StringBuilder? sb = null;
        for (int i = 0; i < nfkc.Length; i++)
        {
            char c = nfkc[i];
            char? replacement = c switch
            {
                '\u2018' or '\u2019' or '\u02BC' => '\'',
                '\u2010' or '\u2011' => '-',
                '\u200B' or '\u2060' or '\uFEFF' or '\u00AD' => '\0',
                ' ' => null,
                _ when char.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator => ' ',
                _ => null,
            };
            if (replacement is null)
            {
                sb?.Append(c);
                continue;
            }
            sb ??= new StringBuilder(nfkc, 0, i, nfkc.Length);
            if (replacement != '\0') sb.Append(replacement.Value);
        }
        return sb?.ToString() ?? nfkc;
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            var chars = text.ToCharArray();
            for (int j = i; j < chars.Length; j++)
            {
                if (!char.IsSurrogate(chars[j])) continue;
                if (char.IsHighSurrogate(chars[j]) && j + 1 < chars.Length && char.IsLowSurrogate(chars[j + 1])) j++;
                else chars[j] = '\uFFFD';
            }
            return new string(chars);
        }
        return text;
    }

    /// <summary>Whether a character counts as punctuation: Keras' ASCII set or a Unicode punctuation category (P*).</summary>
    /// <param name="rune">The character.</param>
    public static bool IsPunctuation(Rune rune)
    {
        if (rune.IsAscii) return AsciiPunctuation.Contains((char)rune.Value);
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static string Strip(string text, bool keepBrackets)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int n);
            if (!IsPunctuation(rune) || keepBrackets && rune.Value is '[' or ']') sb.Append(text, i, n);
            i += n;
        }
        return sb.ToString();
    }

    private static string Separate(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        Rune previous = default;
        bool hasPrevious = false;
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int n);
            if (!IsPunctuation(rune))
            {
                sb.Append(text, i, n);
            }
            else
            {
                bool joiner = false;
                if (rune.Value is '\'' or '-' && hasPrevious && Rune.IsLetterOrDigit(previous) && i + n < text.Length)
                {
                    Rune.DecodeFromUtf16(text.AsSpan(i + n), out var next, out _);
                    joiner = Rune.IsLetterOrDigit(next);
                }
                if (joiner) sb.Append(text, i, n);
                else sb.Append(' ').Append(text, i, n).Append(' ');
            }
            previous = rune;
            hasPrevious = true;
            i += n;
        }
        return sb.ToString();
    }
}
