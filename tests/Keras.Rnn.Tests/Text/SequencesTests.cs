using Keras.Rnn.Text;
using TorchSharp;
using Xunit;

namespace Keras.Rnn.Tests.Text;

/// <summary>PadSequences against keras/src/utils/sequence_utils_test.py and the pad_sequences docstring.</summary>
public class SequencesTests
{
    private static T[][] Rows<T>(T[,] a) =>
        Enumerable.Range(0, a.GetLength(0)).Select(i => Enumerable.Range(0, a.GetLength(1)).Select(j => a[i, j]).ToArray()).ToArray();

    private static readonly int[][] A = [[1], [1, 2], [1, 2, 3]];

    [Fact]
    public void PaddingTruncatingAndValueMatchKeras()
    {
        // sequence_utils_test.py test_pad_sequences.
        Assert.Equal(new[] { new[] { 0, 0, 1 }, [0, 1, 2], [1, 2, 3] }, Rows(Sequences.PadSequences(A, maxlen: 3, padding: "pre")));
        Assert.Equal(new[] { new[] { 1, 0, 0 }, [1, 2, 0], [1, 2, 3] }, Rows(Sequences.PadSequences(A, maxlen: 3, padding: "post")));
        Assert.Equal(new[] { new[] { 0, 1 }, [1, 2], [2, 3] }, Rows(Sequences.PadSequences(A, maxlen: 2, truncating: "pre")));
        Assert.Equal(new[] { new[] { 0, 1 }, [1, 2], [1, 2] }, Rows(Sequences.PadSequences(A, maxlen: 2, truncating: "post")));
        Assert.Equal(new[] { new[] { 1, 1, 1 }, [1, 1, 2], [1, 2, 3] }, Rows(Sequences.PadSequences(A, maxlen: 3, value: 1)));
    }

    [Fact]
    public void DocstringExamplesAndDefaults()
    {
        // pad_sequences docstring: defaults are pre-padding and pre-truncating to the longest sequence.
        long[][] s = [[1], [2, 3], [4, 5, 6]];
        Assert.Equal(new[] { new long[] { 0, 0, 1 }, [0, 2, 3], [4, 5, 6] }, Rows(Sequences.PadSequences(s)));
        Assert.Equal(new[] { new long[] { -1, -1, 1 }, [-1, 2, 3], [4, 5, 6] }, Rows(Sequences.PadSequences(s, value: -1L)));
        Assert.Equal(new[] { new long[] { 1, 0, 0 }, [2, 3, 0], [4, 5, 6] }, Rows(Sequences.PadSequences(s, padding: "post")));
        Assert.Equal(new[] { new long[] { 0, 1 }, [2, 3], [5, 6] }, Rows(Sequences.PadSequences(s, maxlen: 2)));
    }

    [Fact]
    public void FloatAndStringSequences()
    {
        // test_pad_sequences_float and test_pad_sequences_str.
        float[][] f = [[1.2f], [1.2f, 2.3f], [1.2f, 2.3f, 3.4f]];
        Assert.Equal(new[] { new[] { 0f, 1.2f }, [1.2f, 2.3f], [2.3f, 3.4f] }, Rows(Sequences.PadSequences(f, maxlen: 2, truncating: "pre")));
        string[][] str = [["1"], ["1", "2"], ["1", "2", "3"]];
        Assert.Equal(new[] { new[] { "pad", "pad", "1" }, ["pad", "1", "2"], ["1", "2", "3"] }, Rows(Sequences.PadSequences(str, maxlen: 3, value: "pad")));
        Assert.Equal(new[] { new[] { "pad", "1" }, ["1", "2"], ["1", "2"] }, Rows(Sequences.PadSequences(str, maxlen: 2, truncating: "post", value: "pad")));
    }

    [Fact]
    public void TensorFormAndEdgeCases()
    {
        using var t = Sequences.PadSequencesTensor([[1L], [2L, 3L], []], maxlen: 3, padding: "post");
        Assert.Equal(torch.ScalarType.Int64, t.dtype);
        Assert.Equal(new long[] { 3, 3 }, t.shape);
        Assert.Equal(new long[] { 1, 0, 0, 2, 3, 0, 0, 0, 0 }, t.data<long>().ToArray());
        Assert.Empty(Sequences.PadSequences(Array.Empty<int[]>()));
        Assert.Equal(new[] { 3, 0 }, new[] { Sequences.PadSequences(A, maxlen: 0).GetLength(0), Sequences.PadSequences(A, maxlen: 0).GetLength(1) });
        Assert.Contains("Padding type \"mid\" not understood", Assert.Throws<ArgumentException>(() => Sequences.PadSequences(A, padding: "mid")).Message);
        Assert.Contains("Truncating type", Assert.Throws<ArgumentException>(() => Sequences.PadSequences(A, truncating: "x")).Message);
        Assert.Throws<ArgumentException>(() => Sequences.PadSequences(A, maxlen: -1));
        Assert.Throws<ArgumentException>(() => Sequences.PadSequences(new int[][] { [1], null! }));
    }
}
