using System.Text.Json;
using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Text;

/// <summary>
/// The legacy Keras Tokenizer (keras/src/legacy/preprocessing/text.py), against vocabularies derived by hand from
/// its rules: ids from 1 by decreasing count, ties in order of first appearance, the OOV token first.
/// </summary>
public class TokenizerTests
{
    private static readonly string[] Sentences =
    [
        "Today is a sunny day",
        "Today is a rainy day",
        "Is it sunny today?",
        "I really enjoyed walking in the snow today",
    ];

    [Fact]
    public void WordIndexOrdersByCountThenFirstAppearance()
    {
        var tokenizer = new Tokenizer(numWords: 100, oovToken: "<OOV>");
        tokenizer.FitOnTexts(Sentences);
        // Counts: today 4, is 3, a/sunny/day 2 (first seen in that order in sentence 1), then the words seen once, in order.
        string[] expected = ["<OOV>", "today", "is", "a", "sunny", "day", "rainy", "it", "i", "really", "enjoyed", "walking", "in", "the", "snow"];
        Assert.Equal(expected, tokenizer.WordIndex.OrderBy(kv => kv.Value).Select(kv => kv.Key));
        Assert.Equal(Enumerable.Range(1, expected.Length), tokenizer.WordIndex.Values.Order());
        Assert.Equal(4, tokenizer.WordCounts["today"]);
        Assert.Equal(4, tokenizer.WordDocs["today"]);
        Assert.Equal(2, tokenizer.IndexDocs[tokenizer.WordIndex["sunny"]]);
        Assert.Equal(4, tokenizer.DocumentCount);

        var padded = Sequences.PadSequences(tokenizer.TextsToSequences(Sentences));
        Assert.Equal(new[,] { { 0, 0, 0, 2, 3, 4, 5, 6 }, { 0, 0, 0, 2, 3, 4, 7, 6 }, { 0, 0, 0, 0, 3, 8, 5, 2 }, { 9, 10, 11, 12, 13, 14, 15, 2 } }, padded);
        // Unknown words become <OOV> (1).
        Assert.Equal(new[] { new[] { 2, 3, 4, 1, 6 }, [1, 8, 1, 7, 1] }, tokenizer.TextsToSequences(["Today is a snowy day", "Will it be rainy tomorrow?"]));
        Assert.Equal(new[] { "today is a <OOV> day" }, tokenizer.SequencesToTexts([[2, 3, 4, 1, 6]]));
    }

    [Fact]
    public void NumWordsKeepsIdsBelowIt()
    {
        var withOov = new Tokenizer(numWords: 3, oovToken: "<unk>");
        withOov.FitOnTexts(["This text has only known words this text"]);
        // Ids: <unk> 1, this 2, text 3, ...; with numWords 3 only ids 1 and 2 are emitted, others become <unk>.
        Assert.Equal(new[] { new[] { 2, 1, 1, 1, 1, 1 } }, withOov.TextsToSequences(["This text has some unknown words"]));
        Assert.Equal(new[] { "this <unk> <unk> <unk> <unk> <unk>" }, withOov.SequencesToTexts([[2, 1, 1, 1, 1, 1]]));

        var withoutOov = new Tokenizer(numWords: 3);
        withoutOov.FitOnTexts(["This text has only known words this text"]);
        // Ids: this 1, text 2, has 3...: ids >= 3 and unknown words are dropped.
        Assert.Equal(new[] { new[] { 1, 2 } }, withoutOov.TextsToSequences(["This text has some unknown words"]));
        Assert.Equal(new[] { "this text" }, withoutOov.SequencesToTexts([[1, 2, 3, 0]]));
    }

    [Fact]
    public void FiltersLowerSplitAndCharacterLevel()
    {
        Assert.Equal(new[] { "hello", "world", "it's", "me" }, Tokenizer.TextToWordSequence("Hello, world!\tIt's me."));
        Assert.Equal(new[] { "Hello,", "world!" }, Tokenizer.TextToWordSequence("Hello, world!", filters: "", lower: false));
        Assert.Equal(new[] { "a", "b c" }, Tokenizer.TextToWordSequence("a;b c", split: ";"));

        var chars = new Tokenizer(charLevel: true);
        chars.FitOnTexts(["Abba", "cab"]);
        // Counts: a 3 (lower-cased), b 3, c 1; a is seen first.
        Assert.Equal(new[] { "a", "b", "c" }, chars.WordIndex.OrderBy(kv => kv.Value).Select(kv => kv.Key));
        var ids = chars.TextsToSequences(["Cab!"]);
        Assert.Equal(new[] { new[] { 3, 1, 2 } }, ids); // "!" is unknown and dropped (no OOV token)
        Assert.Equal(new[] { "c a b" }, chars.SequencesToTexts(ids)); // Keras joins with spaces even at character level
    }

    [Fact]
    public void MatricesFollowKerasFormulas()
    {
        var tokenizer = new Tokenizer();
        tokenizer.FitOnTexts(["a a b", "b c"]);
        // Ids: a 1, b 2 (2 each, a first), c 3; width = 3 words + 1.
        var sequences = tokenizer.TextsToSequences(["a a b", "c"]).Select(s => (IReadOnlyList<int>)s).ToList();
        Assert.Equal(new double[,] { { 0, 1, 1, 0 }, { 0, 0, 0, 1 } }, tokenizer.SequencesToMatrix(sequences));
        Assert.Equal(new double[,] { { 0, 2, 1, 0 }, { 0, 0, 0, 1 } }, tokenizer.SequencesToMatrix(sequences, "count"));
        Assert.Equal(new double[,] { { 0, 2.0 / 3, 1.0 / 3, 0 }, { 0, 0, 0, 1 } }, tokenizer.SequencesToMatrix(sequences, "freq"));
        var tfidf = tokenizer.SequencesToMatrix(sequences, "tfidf");
        // (1 + ln c) * ln(1 + documents / (1 + documents containing the word)); a is in 1 of 2 documents.
        Assert.Equal((1 + Math.Log(2)) * Math.Log(1 + 2.0 / 2), tfidf[0, 1], 12);
        Assert.Equal(1 * Math.Log(1 + 2.0 / 3), tfidf[0, 2], 12);
        Assert.Throws<ArgumentException>(() => tokenizer.SequencesToMatrix(sequences, "bogus"));
        Assert.Throws<InvalidOperationException>(() => new Tokenizer().SequencesToMatrix(sequences));
    }

    [Fact]
    public void JsonRoundTripInKerasForm()
    {
        var tokenizer = new Tokenizer(numWords: 50, oovToken: "<OOV>");
        tokenizer.FitOnTexts(["Un été à Paris", "Un hiver"]);
        var json = tokenizer.ToJson();
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal("Tokenizer", doc.RootElement.GetProperty("class_name").GetString());
            var config = doc.RootElement.GetProperty("config");
            // Keras' to_json nests the tables as JSON strings, written by json.dumps (non-ASCII escaped).
            Assert.Equal(JsonValueKind.String, config.GetProperty("word_index").ValueKind);
            Assert.Contains("\\u00e9t\\u00e9", config.GetProperty("word_index").GetString());
        }
        var copy = Tokenizer.FromJson(json);
        Assert.Equal(tokenizer.WordIndex, copy.WordIndex);
        Assert.Equal(tokenizer.IndexWord, copy.IndexWord);
        Assert.Equal(tokenizer.WordCountsInOrder, copy.WordCountsInOrder);
        Assert.Equal(tokenizer.TextsToSequences(["un été à Rome"]), copy.TextsToSequences(["un été à Rome"]));
        Assert.Throws<FormatException>(() => Tokenizer.FromJson("[1, 2]"));
    }
}
