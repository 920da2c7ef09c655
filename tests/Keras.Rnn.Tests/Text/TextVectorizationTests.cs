using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Text;

/// <summary>
/// TextVectorization against Keras' published values (keras/src/layers/preprocessing/text_vectorization_test.py,
/// index_lookup_test.py, string_lookup_test.py) and hand-derived vocabularies.
/// </summary>
public class TextVectorizationTests
{
    private static long[][] Rows(Tensor t)
    {
        Assert.Equal(ScalarType.Int64, t.dtype);
        var data = t.data<long>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        return Enumerable.Range(0, rows).Select(r => data.Skip(r * cols).Take(cols).ToArray()).ToArray();
    }

    private static float[][] FloatRows(Tensor t)
    {
        Assert.Equal(ScalarType.Float32, t.dtype);
        var data = t.data<float>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        return Enumerable.Range(0, rows).Select(r => data.Skip(r * cols).Take(cols).ToArray()).ToArray();
    }

    [Fact]
    public void AdaptFlowMatchesKeras()
    {
        // text_vectorization_test.py test_adapt_flow: [[4, 1, 3, 0], [1, 2, 0, 0]].
        var layer = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4);
        layer.Adapt(["foo bar", "bar baz", "baz bada boom"]);
        using var output = layer.Vectorize(["foo qux bar", "qux baz"]);
        Assert.Equal(new long[] { 2, 4 }, output.shape);
        Assert.Equal(new[] { new long[] { 4, 1, 3, 0 }, [1, 2, 0, 0] }, Rows(output));
        // Hand-derived order: bar and baz (2 each) with the larger token first, then foo, boom, bada (1 each).
        Assert.Equal(new[] { "", "[UNK]", "baz", "bar", "foo", "boom", "bada" }, layer.GetVocabulary());
        Assert.Equal(new[] { "baz", "bar", "foo", "boom", "bada" }, layer.GetVocabulary(includeSpecialTokens: false));
        Assert.Equal(7, layer.VocabularySize);
    }

    [Fact]
    public void FixedAndSetVocabularyMatchKeras()
    {
        // test_fixed_vocabulary and test_set_vocabulary: vocabulary ["baz", "bar", "foo"].
        var fixedLayer = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4, vocabulary: ["baz", "bar", "foo"]);
        using var a = fixedLayer.Vectorize(["foo qux bar", "qux baz"]);
        Assert.Equal(new[] { new long[] { 4, 1, 3, 0 }, [1, 2, 0, 0] }, Rows(a));

        var set = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4);
        set.SetVocabulary(["baz", "bar", "foo"]);
        using var b = set.Vectorize(["foo qux bar", "qux baz"]);
        Assert.Equal(new[] { new long[] { 4, 1, 3, 0 }, [1, 2, 0, 0] }, Rows(b));

        // test_get_vocabulary / test_vocabulary_size: "" and "[UNK]" first, size 3 + 2.
        Assert.Equal(new[] { "", "[UNK]", "baz", "bar", "foo" }, set.GetVocabulary());
        Assert.Equal(5, set.VocabularySize);
        // index_lookup_test.py test_basics_string_vocab: a vocabulary given with its special tokens is the same vocabulary.
        set.SetVocabulary(["", "[UNK]", "baz", "bar", "foo"]);
        Assert.Equal(new[] { "", "[UNK]", "baz", "bar", "foo" }, set.GetVocabulary());
    }

    [Fact]
    public void StandardizeAndSplitModesMatchKeras()
    {
        // test_lower_and_strip_punctuation_standardization.
        var strip = new TextVectorization(vocabulary: ["hello", "world", "this", "is", "nice", "test"]);
        using (var t = strip.Vectorize(["Hello, World!. This is just a nice test!"]))
            Assert.Equal(new long[] { 2, 3, 4, 5, 1, 1, 6, 7 }, Rows(t)[0]);

        // test_lower_standardization.
        var lower = new TextVectorization(standardize: "lower", vocabulary: ["hello,", "hello", "world", "this", "is", "nice", "test"]);
        using (var t = lower.Vectorize(["Hello, World!. This is just a nice test!"]))
            Assert.Equal(new long[] { 2, 1, 5, 6, 1, 1, 7, 1 }, Rows(t)[0]);

        // test_char_splitting.
        var chars = new TextVectorization(split: "character", vocabulary: ["a", "b", "c", "d", "e"]);
        using (var t = chars.Vectorize(["abcf"]))
            Assert.Equal(new long[] { 2, 3, 4, 1 }, Rows(t)[0]);

        // test_strip_punctuation_standardization: case kept.
        var stripOnly = new TextVectorization(standardize: "strip_punctuation", vocabulary: ["Hello", "World", "Test"]);
        using (var t = stripOnly.Vectorize(["Hello, World! Test."]))
            Assert.Equal(new long[] { 2, 3, 4 }, Rows(t)[0]);

        // test_no_standardization.
        var none = new TextVectorization(standardize: null, vocabulary: ["Hello", "world"]);
        using (var t = none.Vectorize(["Hello hello"]))
            Assert.Equal(new long[] { 2, 1 }, Rows(t)[0]);

        // test_no_split.
        var whole = new TextVectorization(split: null, vocabulary: ["foo", "bar", "baz"]);
        using (var t = whole.Vectorize(["foo", "bar", "unknown"]))
            Assert.Equal(new[] { new long[] { 2 }, [3], [1] }, Rows(t));
    }

    [Fact]
    public void CustomFunctionsMatchKeras()
    {
        // test_custom_splitting: "|" is stripped as punctuation first, so "foo|bar" is the single token "foobar" (id 4).
        var split = TextSplitting.Register("test_pipe_split", s => s.Split('|'));
        // test_custom_standardize_callable: "-" replaced by a space.
        var std = TextStandardization.Register("test_dash_to_space", s => s.Replace("-", " "));
        try
        {
            var a = new TextVectorization(split: split, vocabulary: ["foo", "bar", "foobar"]);
            using (var t = a.Vectorize(["foo|bar"])) Assert.Equal(new long[] { 4 }, Rows(t)[0]);
            var b = new TextVectorization(standardize: std, vocabulary: ["foo", "bar"]);
            using (var t = b.Vectorize(["foo-bar"])) Assert.Equal(new long[] { 2, 3 }, Rows(t)[0]);
        }
        finally
        {
            TextSplitting.Unregister(split);
            TextStandardization.Unregister(std);
        }
    }

    [Fact]
    public void MultiHotAndCountModesMatchKeras()
    {
        // test_multi_hot_output and test_output_mode_count_output: index 0 is the OOV slot.
        var multiHot = new TextVectorization(outputMode: "multi_hot", vocabulary: ["foo", "bar", "baz"]);
        using (var t = multiHot.Vectorize(["foo bar", "baz foo foo"]))
            Assert.Equal(new[] { new float[] { 0, 1, 1, 0 }, [0, 1, 0, 1] }, FloatRows(t));
        Assert.Equal(new[] { "[UNK]", "foo", "bar", "baz" }, multiHot.GetVocabulary());
        var count = new TextVectorization(outputMode: "count", vocabulary: ["foo", "bar", "baz"]);
        using (var t = count.Vectorize(["foo bar", "baz foo foo"]))
            Assert.Equal(new[] { new float[] { 0, 1, 1, 0 }, [0, 2, 0, 1] }, FloatRows(t));
        // test_pad_to_max_tokens.
        var padded = new TextVectorization(outputMode: "multi_hot", vocabulary: ["foo", "bar"], maxTokens: 8, padToMaxTokens: true);
        using (var t = padded.Vectorize(["foo bar"])) Assert.Equal(8, t.shape[1]);
        var e = Assert.Throws<ArgumentException>(() => new TextVectorization(outputMode: "multi_hot", outputSequenceLength: 5));
        Assert.Contains("`output_sequence_length` must not be set if `output_mode` is not", e.Message);
    }

    [Fact]
    public void RaggedOutputMatchesKeras()
    {
        // test_ragged_tensor and test_ragged_tensor_output_length.
        var layer = new TextVectorization(vocabulary: ["baz", "bar", "foo"]);
        Assert.Equal(new[] { new long[] { 4, 1, 3 }, [1, 2], [4] }, layer.VectorizeRagged(["foo qux bar", "qux baz", "foo"]));
        var truncated = new TextVectorization(vocabulary: ["baz", "bar", "foo"], outputSequenceLength: 2);
        Assert.Equal(new[] { new long[] { 4, 1 }, [1, 2], [4] }, truncated.VectorizeRagged(["foo qux bar", "qux baz", "foo"]));
        // Without a fixed length, the dense form pads to the longest text of the batch.
        using var dense = layer.Vectorize(["foo qux bar", "qux baz", "foo"]);
        Assert.Equal(new[] { new long[] { 4, 1, 3 }, [1, 2, 0], [4, 0, 0] }, Rows(dense));
    }

    [Fact]
    public void MaxTokensKeepsMostFrequentWithTiesByTokenDescending()
    {
        // test_max_tokens: 5 entries. All ten tokens are seen once, so Keras' tie rule (UTF-8 bytes, descending) keeps j, i, h.
        var layer = new TextVectorization(maxTokens: 5);
        layer.Adapt(["a b c d e f g h i j"]);
        Assert.Equal(new[] { "", "[UNK]", "j", "i", "h" }, layer.GetVocabulary());

        // index_lookup_test.py test_basics_string_vocab / string_lookup_test.py test_adapt_flow, with split=None.
        var lookup = new TextVectorization(maxTokens: 7, split: null, standardize: null);
        lookup.Adapt(["one", "one", "one", "two", "two", "three"]);
        Assert.Equal(new[] { "", "[UNK]", "one", "two", "three" }, lookup.GetVocabulary());
        Assert.Equal(new long[] { 2, 3, 1 }, lookup.VectorizeRagged(["one", "two", "four"]).Select(r => r.Single()));
    }

    [Fact]
    public void TiesCompareCodePointsNotUtf16Units()
    {
        // U+1D538 (UTF-16 D835 DD38) sorts above U+E000 by code point / UTF-8 bytes (F0... > EE...), below it by UTF-16 units.
        var layer = new TextVectorization(standardize: null);
        layer.Adapt(["z \U0001D538 \uE000 é"]);
        Assert.Equal(new[] { "\U0001D538", "\uE000", "é", "z" }, layer.GetVocabulary(includeSpecialTokens: false));
    }

    [Fact]
    public void MinFrequencyAndSpecialTokens()
    {
        // Counts: a 4, b 2, d 2, c 1. minFrequency 2 drops c; the b/d tie puts d first.
        var layer = new TextVectorization(minFrequency: 2);
        layer.Adapt(["a a a b b c", "d d a"]);
        Assert.Equal(new[] { "", "[UNK]", "a", "d", "b" }, layer.GetVocabulary());

        // Special tokens take ids 2, 3 whatever their counts; maxTokens 5 leaves room for one learned token.
        var target = new TextVectorization(maxTokens: 5, specialTokens: ["[start]", "[end]"]);
        target.Adapt(["[start] b a a [end]", "[start] b a [end]"]);
        Assert.Equal(new[] { "", "[UNK]", "[start]", "[end]", "a" }, target.GetVocabulary());
        Assert.Equal(2, target.TokenToId("[start]"));
        Assert.Equal(3, target.TokenToId("[end]"));
        Assert.Equal(new long[] { 2, 4, 1, 3 }, target.Encode("[start] A b [end]"));

        // Special tokens missing from a set vocabulary are inserted after [UNK].
        target.SetVocabulary(["x"]);
        Assert.Equal(new[] { "", "[UNK]", "[start]", "[end]", "x" }, target.GetVocabulary());
        Assert.Throws<ArgumentException>(() => new TextVectorization(maxTokens: 3, specialTokens: ["[start]", "[end]"]));
    }

    [Fact]
    public void LookupsAndDecode()
    {
        var layer = new TextVectorization(vocabulary: ["le", "chat"], outputSequenceLength: 5);
        Assert.Equal(0, layer.TokenToId(""));
        Assert.Equal(1, layer.TokenToId("chien"));
        Assert.Equal(1, layer.TokenToId("[UNK]"));
        Assert.Equal(3, layer.TokenToId("chat"));
        Assert.Equal("chat", layer.IdToToken(3));
        Assert.Equal("[UNK]", layer.IdToToken(1));
        Assert.Equal("", layer.IdToToken(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.IdToToken(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.IdToToken(-1));
        Assert.Equal("le [UNK] chat", layer.Decode([2, 1, 3, 0, 0]));
        var chars = new TextVectorization(split: "character", vocabulary: ["a", "b"]);
        Assert.Equal("ab", chars.Decode(chars.Encode("ab")));
    }

    [Fact]
    public void BadInput()
    {
        var layer = new TextVectorization(outputSequenceLength: 4);
        var e = Assert.Throws<InvalidOperationException>(() => layer.Vectorize(["hello"]));
        Assert.Contains("Adapt", e.Message);
        Assert.Throws<InvalidOperationException>(() => layer.Encode("hello"));

        layer.Adapt(["the cat sat", "the dog"]);
        // Unknown words → OOV id 1; empty strings → all padding; long texts keep their first tokens.
        using (var t = layer.Vectorize(["the zebra", "", "!!!", string.Join(" ", Enumerable.Repeat("cat dog", 500))]))
        {
            var rows = Rows(t);
            long the = layer.TokenToId("the"), cat = layer.TokenToId("cat"), dog = layer.TokenToId("dog");
            Assert.Equal(new long[] { the, 1, 0, 0 }, rows[0]);
            Assert.Equal(new long[] { 0, 0, 0, 0 }, rows[1]);
            Assert.Equal(new long[] { 0, 0, 0, 0 }, rows[2]);
            Assert.Equal(new long[] { cat, dog, cat, dog }, rows[3]);
        }
        var free = new TextVectorization();
        free.Adapt(["a"]);
        using (var t = free.Vectorize(["", ""])) Assert.Equal(new long[] { 2, 0 }, t.shape);
        using (var t = free.Vectorize([])) Assert.Equal(new long[] { 0, 0 }, t.shape);

        Assert.Throws<ArgumentException>(() => layer.Vectorize(["a", null!]));
        Assert.Throws<ArgumentException>(() => layer.Adapt(["a", null!]));
        // Adapting on texts without any token leaves no vocabulary.
        var empty = new TextVectorization();
        empty.Adapt(["", "?!"]);
        Assert.False(empty.HasVocabulary);
        Assert.Throws<InvalidOperationException>(() => empty.Vectorize(["x"]));
    }

    [Fact]
    public void InvalidArgumentsAndVocabulariesAreRejectedLikeKeras()
    {
        Assert.Contains("must be greater than 1", Assert.Throws<ArgumentException>(() => new TextVectorization(maxTokens: 1)).Message);
        // index_lookup_test.py test_repeated_tokens_in_vocabulary and test_mask_token_in_wrong_position.
        Assert.Contains("repeated term", Assert.Throws<ArgumentException>(() => new TextVectorization(vocabulary: ["token", "token", "unique"])).Message);
        Assert.Contains("padding token", Assert.Throws<ArgumentException>(() => new TextVectorization(vocabulary: ["token", "", "unique"])).Message);
        Assert.Contains("empty vocabulary", Assert.Throws<ArgumentException>(() => new TextVectorization(vocabulary: [])).Message);
        Assert.Contains("maximum vocab size", Assert.Throws<ArgumentException>(() => new TextVectorization(maxTokens: 3, vocabulary: ["a", "b"])).Message);
        Assert.Throws<ArgumentException>(() => new TextVectorization(outputMode: "tf_idf"));
        Assert.Throws<ArgumentException>(() => new TextVectorization(outputMode: "embedding"));
        Assert.Throws<ArgumentException>(() => new TextVectorization(minFrequency: 0));
        Assert.Throws<ArgumentException>(() => new TextVectorization(specialTokens: ["[s]", "[s]"]));
        var fixedVocabulary = new TextVectorization(vocabulary: ["a"]);
        Assert.Contains("static vocabulary", Assert.Throws<InvalidOperationException>(() => fixedVocabulary.Adapt(["b"])).Message);
    }

    [Fact]
    public void CallingOnTensorsExplainsThatTheLayerWorksOnStrings()
    {
        var layer = new TextVectorization(vocabulary: ["a"]);
        using var x = torch.zeros(2, 3);
        var eager = Assert.Throws<InvalidOperationException>(() => layer.Apply(x));
        Assert.Contains("Vectorize", eager.Message);
        Assert.Contains("strings", eager.Message);

        var input = KerasApi.Input(new Shape(1));
        var symbolic = Assert.Throws<InvalidOperationException>(() => layer.Apply(input));
        Assert.Contains("Vectorize", symbolic.Message);

        var inGraph = Assert.Throws<InvalidOperationException>(() => new Sequential(new InputLayer(new Shape(1)), new TextVectorization(vocabulary: ["a"])));
        Assert.Contains("Vectorize", inGraph.Message);

        var shape = new TextVectorization(outputSequenceLength: 7).ComputeOutputShape(new Shape([null]));
        Assert.Equal("(None, 7)", shape.ToString());
    }
}
