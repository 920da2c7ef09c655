using Keras.Rnn.Seq2Seq;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Seq2Seq;

public class SequenceSearchTests
{
    // Token ids: 0 padding, 1 end, 2 "A", 3 "B", 4 start. The next-token distribution depends on the previous token only.
    private static readonly double[][] Table =
    [
        [0.25, 0.25, 0.25, 0.25, 0.0],  // after padding (never used)
        [0.0, 1.0, 0.0, 0.0, 0.0],      // after end: end again
        [0.0, 0.4, 0.3, 0.3, 0.0],      // after A
        [0.0, 0.9, 0.05, 0.05, 0.0],    // after B
        [0.0, 0.0, 0.6, 0.4, 0.0],      // after start
    ];

    private static DecodeStep MarkovStep(List<long[]>? seenPrevious = null) => (previous, states) =>
    {
        var ids = previous.data<long>().ToArray();
        seenPrevious?.Add(ids);
        var rows = ids.Select(id => Table[id].Select(p => p > 0 ? Math.Log(p) : double.NegativeInfinity).ToArray()).ToArray();
        var logp = torch.tensor(rows.SelectMany(r => r).ToArray(), [ids.Length, 5]).to_type(ScalarType.Float32);
        return (logp, states, null);
    };

    [Fact]
    public void GreedyTakesTheLocallyBestTokens()
    {
        // start → A (0.6) → end (0.4): probability 0.24.
        var result = SequenceSearch.Greedy(MarkovStep(), [], 1, startId: 4, endId: 1, maxLength: 10).Single();
        Assert.Equal([2L, 1L], result.Tokens);
        Assert.Equal(Math.Log(0.6 * 0.4), result.LogProbability, 5);
    }

    [Fact]
    public void BeamSearchFindsTheMostProbableSequence()
    {
        // start → B (0.4) → end (0.9): 0.36 beats greedy's 0.24 and every longer sequence (at most 0.6·0.3·0.9 = 0.162).
        var result = SequenceSearch.Beam(MarkovStep(), [], 1, startId: 4, endId: 1, maxLength: 10, width: 2, lengthPenalty: 0).Single();
        Assert.Equal([3L, 1L], result.Tokens);
        Assert.Equal(Math.Log(0.36), result.LogProbability, 5);
    }

    [Fact]
    public void BeamWidthOneIsGreedy()
    {
        var greedy = SequenceSearch.Greedy(MarkovStep(), [], 3, 4, 1, 10);
        var beam = SequenceSearch.Beam(MarkovStep(), [], 3, 4, 1, 10, width: 1, lengthPenalty: 0);
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(greedy[b].Tokens, beam[b].Tokens);
            Assert.Equal(greedy[b].LogProbability, beam[b].LogProbability, 5);
        }
    }

    [Fact]
    public void LengthNormalisationPrefersLongerSequencesWhenTheyAreRelativelyLikely()
    {
        // Per-token averages: "B end" log(0.36)/2 = -0.511; "A A end" log(0.6·0.3·0.4)/3 = -0.839; "A end" log(0.24)/2 = -0.714;
        // "B A end": log(0.4·0.05·0.4)/3 = -1.60. With α = 1 the best is still "B end".
        var result = SequenceSearch.Beam(MarkovStep(), [], 1, 4, 1, 10, width: 3, lengthPenalty: 1).Single();
        Assert.Equal([3L, 1L], result.Tokens);
    }

    [Fact]
    public void StopsAtMaxLengthAndBansTokens()
    {
        // Banning the end token forces max-length sequences; banned tokens never appear.
        var greedy = SequenceSearch.Greedy(MarkovStep(), [], 1, 4, 1, 3, bannedIds: [1L, 3L]).Single();
        Assert.Equal([2L, 2L, 2L], greedy.Tokens);
        var beam = SequenceSearch.Beam(MarkovStep(), [], 1, 4, 1, 3, width: 2, bannedIds: [1L]).Single();
        Assert.Equal(3, beam.Tokens.Length);
        Assert.DoesNotContain(1L, beam.Tokens);
    }

    [Fact]
    public void SamplingIsRepeatableWithASeedAndFollowsTheDistribution()
    {
        var first = SequenceSearch.Sample(MarkovStep(), [], 200, 4, 1, 10, temperature: 1.0, seed: 7);
        var second = SequenceSearch.Sample(MarkovStep(), [], 200, 4, 1, 10, temperature: 1.0, seed: 7);
        Assert.Equal(first.Select(s => string.Join(",", s.Tokens)), second.Select(s => string.Join(",", s.Tokens)));
        // The first token is A with probability 0.6: 200 draws land within 5 standard deviations (±0.17).
        double shareA = first.Count(s => s.Tokens[0] == 2) / 200.0;
        Assert.InRange(shareA, 0.6 - 0.17, 0.6 + 0.17);
        // A very low temperature is greedy.
        var cold = SequenceSearch.Sample(MarkovStep(), [], 20, 4, 1, 10, temperature: 1e-3, seed: 1);
        Assert.All(cold, s => Assert.Equal([2L, 1L], s.Tokens));
        Assert.Throws<ArgumentException>(() => SequenceSearch.Sample(MarkovStep(), [], 1, 4, 1, 10, temperature: 0));
        Assert.Throws<ArgumentException>(() => SequenceSearch.Beam(MarkovStep(), [], 1, 4, 1, 10, width: 0));
    }
}
