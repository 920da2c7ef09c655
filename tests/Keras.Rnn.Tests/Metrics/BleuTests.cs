using Keras.Rnn.Metrics;
using Xunit;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>
/// BLEU against the worked examples of Papineni et al. (2002), "BLEU: a Method for Automatic Evaluation of Machine
/// Translation" (section 2), sacreBLEU's published test values (mjpost/sacrebleu, test/test_bleu.py and
/// test/test_sentence_bleu.py), and statistics counted by hand.
/// </summary>
public class BleuTests
{
    // Papineni et al., Example 1 (final periods left out: the paper counts words).
    private const string Candidate1 = "It is a guide to action which ensures that the military always obeys the commands of the party";
    private const string Candidate2 = "It is to insure the troops forever hearing the activity guidebook that party direct";
    private static readonly string[] Example1References =
    [
        "It is a guide to action that ensures that the military will forever heed Party commands",
        "It is the guiding principle which guarantees the military forces always being under the command of the Party",
        "It is the practical guide for the army always to heed the directions of the party",
    ];

    // sacreBLEU's README example (test_bleu.py): two reference streams, transposed here to references per hypothesis.
    private static readonly string[] ReadmeHypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
    private static readonly string[][] ReadmeReferences =
    [
        ["The dog bit the man.", "The dog had bit the man."],
        ["It was not unexpected.", "No one was surprised."],
        ["The man bit him first.", "The man had bitten the dog."],
    ];

    private static void Near(double expected, double actual, double tolerance) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R}, got {actual:R}");

    // ------------------------------------------------------------------ the BLEU paper

    [Fact]
    public void PaperModifiedUnigramPrecisionClipsRepeatedWords()
    {
        // Example 2: "the" appears at most twice in a reference (Reference 1, case aside), so 2 of the 7 count: 2/7.
        var score = Bleu.Corpus(["the the the the the the the"], [["The cat is on the mat.", "There is a cat on the mat."]],
            tokenize: "none", lowercase: true);
        Near(100.0 * 2 / 7, score.Precisions[0], 1e-9);
        Assert.Equal(2, score.Counts[0]);
        Assert.Equal(7, score.Totals[0]);
    }

    [Fact]
    public void PaperExampleOnePrecisions()
    {
        // Candidate 1: modified unigram precision 17/18, bigram 10/17; Candidate 2: 8/14 and 1/13.
        var first = Bleu.Corpus([Candidate1], [Example1References], lowercase: true);
        Near(100.0 * 17 / 18, first.Precisions[0], 1e-9);
        Near(100.0 * 10 / 17, first.Precisions[1], 1e-9);
        var second = Bleu.Corpus([Candidate2], [Example1References], lowercase: true);
        Near(100.0 * 8 / 14, second.Precisions[0], 1e-9);
        Near(100.0 * 1 / 13, second.Precisions[1], 1e-9);
        Assert.True(first.Score > second.Score);
    }

    [Fact]
    public void PaperBrevityExample()
    {
        // Section 2.2.1: "of the" has modified unigram and bigram precisions 2/2 and 1/1; only the brevity penalty stops it.
        // The closest reference has 16 words: BP = exp(1 − 16/2).
        var score = Bleu.Corpus(["of the"], [Example1References], lowercase: true);
        Assert.Equal([100.0, 100.0, 0.0, 0.0], score.Precisions);
        Assert.Equal(16, score.ReferenceLength);
        Near(Math.Exp(1 - 16.0 / 2), score.BrevityPenalty, 1e-12);
        Assert.Equal(0.0, score.Score); // no trigram at all: the geometric mean of four precisions is 0
        // Averaging only over the orders present: 100 · BP.
        var effective = Bleu.Corpus(["of the"], [Example1References], lowercase: true, effectiveOrder: true);
        Near(100.0 * Math.Exp(-7), effective.Score, 1e-9);
    }

    // ------------------------------------------------------------------ sacreBLEU's test values

    [Fact]
    public void SacreBleuReadmeCorpus()
    {
        // test_bleu.py test_corpus_bleu: default settings (13a) 48.530827, tokenize='none' 49.1919566, smooth 'none' 48.530827.
        var refs = ReadmeReferences.Select(r => (IReadOnlyList<string>)r).ToList();
        Near(48.530827, Bleu.Corpus(ReadmeHypotheses, refs).Score, 1e-6);
        Near(48.530827, Bleu.Corpus(ReadmeHypotheses, refs, smoothing: BleuSmoothing.Exp).Score, 1e-6);
        Near(49.1919566, Bleu.Corpus(ReadmeHypotheses, refs, tokenize: "none").Score, 1e-6);
        // Empty hypotheses are kept, and score 0.
        var empty = Bleu.Corpus(["", "", ""], refs);
        Assert.Equal(0.0, empty.Score);
        Assert.Equal(0, empty.HypothesisLength);
        Assert.Equal(0.0, empty.BrevityPenalty);
        Assert.Equal(0, empty.Totals[0]);
    }

    [Fact]
    public void SacreBleuStatisticsAndOffsets()
    {
        // test_bleu.py test_statistics: matches [4, 2, 1, 0] of totals [6, 5, 4, 3].
        const string hypothesis = "am I am a character sequence";
        const string reference = "I am a symbol string sequence a a";
        var score = Bleu.Corpus([hypothesis], [[reference]], tokenize: "none", smoothing: BleuSmoothing.Floor, smoothValue: 0.0, effectiveOrder: true);
        Assert.Equal([4.0, 2, 1, 0], score.Counts);
        Assert.Equal([6.0, 5, 4, 3], score.Totals);
        // test_offset: floor 0 gives 0; floor 0.1 gives 0.1555722182 (BP exp(1 − 8/6)).
        Assert.Equal(0.0, score.Score);
        var floor = Bleu.Corpus([hypothesis], [[reference]], tokenize: "none", smoothing: BleuSmoothing.Floor, effectiveOrder: true);
        Near(15.55722182, floor.Score, 1e-6);
        Near(Math.Exp(1 - 8.0 / 6), floor.BrevityPenalty, 1e-12);
    }

    [Fact]
    public void SacreBleuScoringFromStatistics()
    {
        // test_bleu.py test_scoring: matches [9, 7, 5, 3] of [10, 8, 6, 4], lengths 11 and 11 → 0.8375922397.
        Near(83.75922397, Bleu.Compute([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).Score, 1e-7);
        // test_degenerate_statistics (floor smoothing): no match at all is 0 whatever the offset.
        Assert.Equal(0.0, Bleu.Compute([0, 0, 0, 0], [4, 4, 2, 1], 0, 1, BleuSmoothing.Floor, 0.0).Score);
        Assert.Equal(0.0, Bleu.Compute([0, 0, 0, 0], [0, 0, 0, 0], 1, 5, BleuSmoothing.Floor, 0.01).Score);
        Assert.Equal(0.0, Bleu.Compute([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, BleuSmoothing.Floor, 0.0).Score);
    }

    [Theory]
    [InlineData("test", "a test", 0.3678794411714425)]
    [InlineData("a test", "a test", 1.0)]
    [InlineData("a little test", "a test", 0.03218297948685433)]
    public void SacreBleuEffectiveOrder(string hypothesis, string reference, double expected)
    {
        // test_bleu.py test_effective_order (raw_corpus_bleu: floor 0.01, tokenize none, effective order).
        var score = Bleu.Corpus([hypothesis], [[reference]], tokenize: "none", smoothing: BleuSmoothing.Floor, smoothValue: 0.01, effectiveOrder: true);
        Near(expected * 100, score.Score, 1e-7);
    }

    // Example from sacreBLEU issue #98 (test_sentence_bleu.py); "ţ" (U+0163) in the reference, "ț" (U+021B) in the hypothesis.
    private const string RomanianReference = "produc\u0163ia de zah\u0103r brut se exprim\u0103 \u00een zah\u0103r alb;";
    private const string RomanianHypothesis = "Produc\u021Bia de zah\u0103r prim\u0103 va fi exprimat\u0103 \u00een ceea ce prive\u0219te zah\u0103rul alb;";

    [Theory]
    [InlineData(BleuSmoothing.Exp, null, false, "13a", 8.493)]
    [InlineData(BleuSmoothing.None, null, false, "13a", 0.0)]
    [InlineData(BleuSmoothing.Floor, null, false, "13a", 4.51688)]
    [InlineData(BleuSmoothing.Floor, 0.1, false, "13a", 4.51688)]
    [InlineData(BleuSmoothing.Floor, 0.5, false, "13a", 10.10)]
    [InlineData(BleuSmoothing.AddK, null, false, "13a", 14.882)]
    [InlineData(BleuSmoothing.AddK, 1.0, false, "13a", 14.882)]
    [InlineData(BleuSmoothing.AddK, 2.0, false, "13a", 21.389)]
    [InlineData(BleuSmoothing.Exp, null, false, "none", 7.347)]
    [InlineData(BleuSmoothing.Exp, null, false, "char", 40.8759)]
    [InlineData(BleuSmoothing.Exp, null, true, "char", 42.0267)]
    public void SacreBleuSentenceLevel(BleuSmoothing smoothing, double? value, bool lowercase, string tokenize, double expected)
    {
        var score = Bleu.Sentence(RomanianHypothesis, [RomanianReference], tokenize, lowercase, smoothing, value);
        Near(expected, score.Score, 1e-3); // sacreBLEU's EPSILON for these
    }

    [Fact]
    public void SacreBleuSentenceWithoutAnyMatchIsZero()
    {
        // test_sentence_bleu.py test_api_sentence_bleu_zero (issue #141).
        foreach (var smoothing in new[] { BleuSmoothing.Exp, BleuSmoothing.None, BleuSmoothing.Floor, BleuSmoothing.AddK })
            Assert.Equal(0.0, Bleu.Sentence("this is a cat", ["okay thanks"], smoothing: smoothing).Score);
    }

    // ------------------------------------------------------------------ counted by hand

    [Fact]
    public void ClippingUsesTheLargestCountInAnyOneReference()
    {
        // "a" three times; each reference has it once: the clip is max(1, 1) = 1, not the sum 2.
        var score = Bleu.Corpus(["a a a"], [["a b", "a c"]], tokenize: "none");
        Assert.Equal(1, score.Counts[0]);
        // "the" twice in the hypothesis, twice in the second reference: both count.
        score = Bleu.Corpus(["the the cat"], [["the cat", "the the dog"]], tokenize: "none");
        Assert.Equal(3, score.Counts[0]);
    }

    [Fact]
    public void ClosestReferenceLengthPrefersTheShorterOnTies()
    {
        // Hypothesis of 3 tokens, references of 2 and 4: both 1 away, the shorter (2) is used; then of 5 with 4 and 6.
        var score = Bleu.Corpus(["a b c", "a b c d e"], [["a b", "a b c d"], ["a b c d e f", "a b c d"]], tokenize: "none");
        Assert.Equal(8, score.HypothesisLength);
        Assert.Equal(2 + 4, score.ReferenceLength);
        Assert.Equal(1.0, score.BrevityPenalty);
    }

    [Fact]
    public void BrevityPenaltyIsSummedOverTheCorpus()
    {
        // c = 2 + 4 = 6, r = 6 + 4 = 10: BP = exp(1 − 10/6), even though the second sentence alone is not short.
        var score = Bleu.Corpus(["the cat", "a b c d"], [["the cat sat on the mat"], ["a b c d"]], tokenize: "none");
        Near(Math.Exp(1 - 10.0 / 6), score.BrevityPenalty, 1e-12);
        // Precisions: unigrams 6/6, bigrams 4/4, trigrams 2/2, 4-grams 1/1: the score is 100 · BP.
        Near(100 * Math.Exp(1 - 10.0 / 6), score.Score, 1e-9);
        Assert.Contains("BP = 0.513", score.ToString());
    }

    [Fact]
    public void StreamingEqualsCorpusAndIsNotTheMeanOfSentences()
    {
        var refs = ReadmeReferences.Select(r => (IReadOnlyList<string>)r).ToList();
        var bleu = new Bleu();
        bleu.Update(ReadmeHypotheses[0], ReadmeReferences[0]);
        bleu.Update(ReadmeHypotheses[1..], refs[1..]);
        Assert.Equal(3, bleu.SentenceCount);
        Assert.Equal(Bleu.Corpus(ReadmeHypotheses, refs).Score, bleu.Result().Score);
        bleu.ResetState();
        Assert.Equal(0, bleu.Result().HypothesisLength);
        double mean = ReadmeHypotheses.Select((h, i) => Bleu.Sentence(h, ReadmeReferences[i]).Score).Average();
        Assert.NotEqual(Bleu.Corpus(ReadmeHypotheses, refs).Score, mean, 3);
    }

    // ------------------------------------------------------------------ 13a tokenization

    [Theory]
    [InlineData("Hello, world!", "Hello , world !")]
    [InlineData("I'm a student.", "I'm a student .")]                       // apostrophes stay inside words
    [InlineData("well-known 1990-2000", "well-known 1990 - 2000")]          // a hyphen splits only after a digit
    [InlineData("3.14 and 1,000 but a.b, c", "3.14 and 1,000 but a . b , c")] // periods and commas between digits stay
    [InlineData("U.S.A.", "U . S . A .")]
    [InlineData("price: $5.00.", "price : $ 5.00 .")]
    [InlineData("&quot;Hi&quot; &amp; &lt;b&gt;", "\" Hi \" & < b >")]     // mteval's four entities
    [InlineData("(a+b)*c=d/e? {x|y} [z] ^_`~ @#%;", "( a + b ) * c = d / e ? { x | y } [ z ] ^ _ ` ~ @ # % ;")]
    [InlineData("line-\nbreak\nnext <skipped>word", "linebreak next word")]
    [InlineData("Bonjour\u202F! \u00ab\u00a0Oui\u00a0\u00bb", "Bonjour ! \u00ab Oui \u00bb")] // French no-break spaces are spaces
    public void Tokenizer13a(string text, string expected)
    {
        Assert.Equal(expected, BleuTokenizer.Apply13a(text));
        Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries), BleuTokenizer.Tokenize(text));
    }

    [Fact]
    public void PunctuationMatchesOnlyWith13a()
    {
        // With 13a, "man." is "man" + "." and matches the reference's "man"; with whitespace tokens it does not.
        var refs = new[] { (IReadOnlyList<string>)["the man ."] };
        Assert.Equal(3, Bleu.Corpus(["the man."], refs).Counts[0]);
        Assert.Equal(1, Bleu.Corpus(["the man."], refs, tokenize: "none").Counts[0]);
        Assert.Equal(["t", "h", "e", "m", "a", "n", "."], BleuTokenizer.Tokenize("the man.", "char"));
    }

    // ------------------------------------------------------------------ bad input

    [Fact]
    public void BadInputIsRejectedClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a", "b"], [["a"]]));
        Assert.Contains("2 hypotheses but 1 reference lists", e.Message);
        e = Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a", "b"], [["a"], []]));
        Assert.Contains("hypothesis 1 has no reference", e.Message);
        e = Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a"], [["a"]], tokenize: "intl"));
        Assert.Contains("\"13a\"", e.Message);
        e = Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a"], [[null!]]));
        Assert.Contains("reference 0 of hypothesis 0 is null", e.Message);
        Assert.Throws<ArgumentException>(() => new Bleu(maxNgramOrder: 0));
        Assert.Throws<ArgumentException>(() => Bleu.Compute([1, 2], [3], 1, 1));
        // A failing batch adds nothing.
        var bleu = new Bleu();
        Assert.Throws<ArgumentException>(() => bleu.Update(["ok", "bad"], [["ok"], []]));
        Assert.Equal(0, bleu.SentenceCount);
    }
}
