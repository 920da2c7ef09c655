using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Text;

public class WordTokenizerTests
{
    [Fact]
    public void SplitsPunctuationElisionsAndHyphenClitics()
    {
        var french = new WordTokenizer(frenchSpacing: true);
        Assert.Equal(["Qu'", "est", "-ce", "que", "c'", "est", "?"], french.Tokenize("Qu’est-ce que c'est\u202F?"));
        Assert.Equal(["J'", "ai", "3.5", "euros", ",", "pas", "plus", "!"], french.Tokenize("J'ai 3.5 euros, pas plus !"));
        Assert.Equal(["«", "Va", "!", "»"], french.Tokenize("«\u00A0Va\u00A0!\u00A0»"));
        // An apostrophe that does not sit between letters stays where it is.
        Assert.Equal(["les", "enfants'", "jouets"], french.Tokenize("les enfants' jouets"));
        var english = new WordTokenizer(lowercase: true);
        Assert.Equal(["i", "don'", "t", "know", "tom'", "s", "dog", "."], english.Tokenize("I don't know Tom's dog."));
        Assert.Empty(english.Tokenize("  \t \u202F "));
    }

    [Fact]
    public void DetokenizeUsesTheLanguagesSpacing()
    {
        var french = new WordTokenizer(frenchSpacing: true);
        Assert.Equal("Qu'est-ce que c'est ?", french.Detokenize(["Qu'", "est", "-ce", "que", "c'", "est", "?"]));
        Assert.Equal("Il a dit : « Va ! »", french.Detokenize(["Il", "a", "dit", ":", "«", "Va", "!", "»"]));
        var english = new WordTokenizer();
        Assert.Equal("Where is it? \"Here,\" he said (quietly).",
            english.Detokenize(["Where", "is", "it", "?", "\"", "Here", ",", "\"", "he", "said", "(", "quietly", ")", "."]));
        Assert.Equal("", english.Detokenize([]));
    }

    [Fact]
    public void RoundTripsTheFrenchCorpus()
    {
        // Tokenize then detokenize gives back the normalised sentence (French spacing with plain spaces) for the
        // corpus' French side, except for the few lines that put no space before ? or ! themselves.
        var path = Keras.Rnn.Tests.Seq2Seq.TranslatorTests.FindData("tatoeba-fra-eng", "fra.txt");
        var french = new WordTokenizer(frenchSpacing: true);
        int checkedLines = 0, differing = 0;
        foreach (var line in File.ReadLines(path).Take(20000))
        {
            var target = line.Split('\t')[1];
            var normalised = WordTokenizer.Normalize(target);
            var back = french.Detokenize(french.Tokenize(target));
            checkedLines++;
            if (back != normalised) differing++;
        }
        Assert.Equal(20000, checkedLines);
        Assert.True(differing < 200, $"{differing} of {checkedLines} lines did not round-trip.");
    }

    [Fact]
    public void RejectsApostropheOrHyphenAsPunctuation()
    {
        var e = Assert.Throws<ArgumentException>(() => new WordTokenizer(punctuation: ".'"));
        Assert.Contains("apostrophe", e.Message);
    }
}
