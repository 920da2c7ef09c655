using System.Text.RegularExpressions;
using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Text;

/// <summary>Standardisation and splitting: Keras' modes on ASCII text, Unicode normalisation, French spaces, special tokens.</summary>
public class TextStandardizationTests
{
    /// <summary>Keras' own standardisation for ASCII text (text_vectorization.py): tf.strings.lower, then this regex replaced by "".</summary>
    private static string KerasAsciiReference(string text, bool lower, bool strip)
    {
        if (lower) text = text.ToLowerInvariant();
        if (strip) text = Regex.Replace(text, @"[!""#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']", "");
        return text;
    }

    [Theory]
    [InlineData("Hello, World!. This is just a nice test!")]
    [InlineData("It's 5 o'clock -- time for (tea) & [cake]; isn't it? {yes} <no> a_b ~x~ |y| `z` ^w^ \"q\" $1 @home #tag 50% a*b+c=d/e\\f")]
    [InlineData("  Tabs\tand\nnewlines  ")]
    public void BuiltInModesEqualKerasOnAsciiText(string text)
    {
        Assert.Equal(KerasAsciiReference(text, true, true), TextStandardization.Apply("lower_and_strip_punctuation", text));
        Assert.Equal(KerasAsciiReference(text, true, false), TextStandardization.Apply("lower", text));
        Assert.Equal(KerasAsciiReference(text, false, true), TextStandardization.Apply("strip_punctuation", text));
        Assert.Equal(text, TextStandardization.Apply(null, text));
    }

    [Fact]
    public void FrenchNarrowNoBreakAndNoBreakSpacesBecomeSpaces()
    {
        // fra.txt writes "Va !" with U+202F before "!" (3,123 occurrences); NBSP U+00A0 and thin space U+2009 likewise.
        Assert.Equal("va ", TextStandardization.Apply("lower_and_strip_punctuation", "Va\u202F!"));
        Assert.Equal("bonjour ", TextStandardization.Apply("lower_and_strip_punctuation", "Bonjour\u00A0!"));
        Assert.Equal("a b", TextStandardization.Normalize("a\u2009b"));
        Assert.Equal("Qui ?", TextStandardization.Normalize("Qui\u202F?"));
        var v = new TextVectorization(vocabulary: ["va", "!"], standardize: TextStandardization.LowerAndSeparatePunctuation);
        Assert.Equal(new[] { "va", "!" }, v.Tokenize("Va\u202F!"));
        // Splitting treats them as white space even without standardisation.
        Assert.Equal(new[] { "Va", "!" }, TextSplitting.Apply("whitespace", "Va\u202F!"));
    }

    [Fact]
    public void AccentsAreKeptAndComposedUnicodeCaseIsLowered()
    {
        Assert.Equal("école été où ", TextStandardization.Apply("lower_and_strip_punctuation", "École ÉTÉ où ?"));
        // A decomposed e + U+0301 is composed by NFKC into the single letter U+00E9.
        Assert.Equal("\u00e9t\u00e9", TextStandardization.Apply("lower", "E\u0301te\u0301"));
        Assert.Equal("ça", TextStandardization.Apply("lower", "Ça"));
        Assert.Equal("привет мир", TextStandardization.Apply("lower_and_strip_punctuation", "Привет, мир!"));
    }

    [Fact]
    public void CompatibilityFormsApostrophesAndInvisibleCharactersAreNormalized()
    {
        Assert.Equal("abc fin", TextStandardization.Apply("lower", "ＡＢＣ ﬁn"));      // full-width letters, ligature
        Assert.Equal("l'homme", TextStandardization.Apply("lower", "L’homme"));       // U+2019 → '
        Assert.Equal("lhomme", TextStandardization.Apply("lower_and_strip_punctuation", "L’homme"));
        Assert.Equal("l'homme", TextStandardization.Apply("lower", "L'homme"));
        Assert.Equal("ab", TextStandardization.Normalize("a\u200Bb"));               // zero-width space
        Assert.Equal("ab", TextStandardization.Normalize("\uFEFFa\u00ADb"));          // BOM, soft hyphen
        Assert.Equal("a-b", TextStandardization.Normalize("a\u2011b"));              // non-breaking hyphen
        Assert.Equal("x\uFFFDy", TextStandardization.Normalize("x\uD800y"));          // lone surrogate: no exception
    }

    [Fact]
    public void UnicodePunctuationIsStrippedBeyondKerasAsciiSet()
    {
        Assert.Equal(" bonjour ", TextStandardization.Apply("lower_and_strip_punctuation", "« Bonjour »"));
        Assert.Equal("qué hora es", TextStandardization.Apply("lower_and_strip_punctuation", "¿Qué hora es?"));
        Assert.Equal("attends", TextStandardization.Apply("lower_and_strip_punctuation", "Attends…")); // NFKC: … → ...
        Assert.Equal("5 €", TextStandardization.Apply("lower_and_strip_punctuation", "5 €"));       // symbols outside ASCII stay
    }

    [Fact]
    public void KeepBracketsKeepsStartAndEndMarkers()
    {
        Assert.Equal("[start] hello world [end]", TextStandardization.Apply("lower_and_strip_punctuation_keep_brackets", "[start] Hello, world! [end]"));
        Assert.Equal("start hello world end", TextStandardization.Apply("lower_and_strip_punctuation", "[start] Hello, world! [end]"));
    }

    [Fact]
    public void SeparatePunctuationMakesPunctuationTokensButKeepsWordInternalApostrophesAndHyphens()
    {
        var split = (string s) => TextSplitting.Apply("whitespace", TextStandardization.Apply("lower_and_separate_punctuation", s));
        Assert.Equal(new[] { "hello", ",", "world", "." }, split("Hello, world."));
        Assert.Equal(new[] { "qu'est-ce", "que", "c'est", "?" }, split("Qu’est-ce que c'est\u202F?"));
        Assert.Equal(new[] { "«", "non", "»", "-", "dit-il", "." }, split("«\u00A0Non\u00A0» - dit-il."));
        Assert.Equal(new[] { "'", "quoted", "'" }, split("'quoted'"));
    }

    [Fact]
    public void SpecialTokensSurviveAnyStandardizationAndSplit()
    {
        var words = new TextVectorization(vocabulary: ["x"], specialTokens: ["[start]", "[end]"]);
        Assert.Equal(new[] { "[start]", "va", "[end]" }, words.Tokenize("[start] Va\u202F! [end]"));
        Assert.Equal(new[] { "[start]", "hello", "[end]" }, words.Tokenize("[start]Hello[end]"));
        Assert.Equal(new[] { "start", "x" }, words.Tokenize("start X")); // only the exact marker is special

        var chars = new TextVectorization(vocabulary: ["x"], split: "character", specialTokens: ["[start]", "[end]"]);
        Assert.Equal(new[] { "[start]", "a", " ", "b", "[end]" }, chars.Tokenize("[start]A b[end]"));

        var whole = new TextVectorization(vocabulary: ["x"], split: null, specialTokens: ["[start]"]);
        Assert.Equal(new[] { "[start] ab" }, whole.Tokenize("[start] A-b"));
    }

    [Fact]
    public void CharacterSplitYieldsCodePointsIncludingSpaces()
    {
        Assert.Equal(new[] { "a", " ", "é", "𝔸" }, TextSplitting.Apply("character", "a é𝔸"));
        Assert.Equal(new[] { "a b" }, TextSplitting.Apply(null, "a b"));
        Assert.Empty(TextSplitting.Apply("whitespace", "  \t "));
    }

    [Fact]
    public void RegisteredFunctionsAndUnknownNames()
    {
        var name = TextStandardization.Register("test_upper_std", s => s.ToUpperInvariant());
        try
        {
            Assert.Equal("test_upper_std", name);
            Assert.Equal("ABC", TextStandardization.Apply(name, "abc"));
            Assert.True(TextStandardization.IsKnown("pkg>test_upper_std")); // Keras registered names resolve by their short part
        }
        finally
        {
            TextStandardization.Unregister(name);
        }
        var e = Assert.Throws<ArgumentException>(() => TextStandardization.Apply("no_such_std", "x"));
        Assert.Contains("TextStandardization.Register(\"no_such_std\"", e.Message);
        Assert.Throws<ArgumentException>(() => TextStandardization.Register("lower", s => s));
        var e2 = Assert.Throws<ArgumentException>(() => new TextVectorization(split: "no_such_split"));
        Assert.Contains("no_such_split", e2.Message);
    }
}
