using Keras.Rnn.Seq2Seq;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Seq2Seq;

/// <summary>
/// The builder's three models agree: decoding a target token by token with the inference encoder and the step
/// decoder gives the teacher-forced training model's logits at every position, for each cell, attention and
/// encoder variant; the models share one set of weights.
/// </summary>
public class Seq2SeqBuilderTests
{
    public static TheoryData<string, string, bool, int, bool> Variants => new()
    {
        // cell, attention, bidirectional, layers, one-hot
        { "gru", "luong", true, 1, false },
        { "lstm", "bahdanau", false, 2, false },
        { "gru", "none", false, 1, false },
        { "lstm", "luong", true, 2, false },
        { "lstm", "none", false, 1, true },    // Keras' lstm_seq2seq
        { "gru", "bahdanau", true, 1, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void TeacherForcedLogitsEqualStepByStepDecoding(string cell, string attention, bool bidirectional, int layers, bool oneHot)
    {
        KerasApi.SetRandomSeed(3);
        var config = new Seq2SeqConfig
        {
            SourceVocabularySize = 11, TargetVocabularySize = 13, Cell = cell, EmbeddingDim = 6, Units = 5, Layers = layers,
            BidirectionalEncoder = bidirectional, Attention = attention, Dropout = 0.3, OneHotInputs = oneHot,
        };
        var models = Seq2SeqBuilder.Build(config);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // Two sentences; with token ids the second is shorter (right padding with 0) on both sides.
        var sourceIds = torch.tensor(new long[,] { { 3, 4, 5, 6, 2 }, { 7, 8, 2, 0, 0 } });
        var targetIds = torch.tensor(new long[,] { { 1, 9, 10, 11, 12, 3 }, { 1, 4, 5, 0, 0, 0 } });
        if (oneHot)
        {
            sourceIds = torch.tensor(new long[,] { { 3, 4, 5, 6, 2 }, { 7, 8, 2, 9, 10 } });
            targetIds = torch.tensor(new long[,] { { 1, 9, 10, 11, 12, 3 }, { 1, 4, 5, 6, 7, 8 } });
        }
        int[] targetLengths = oneHot ? [6, 6] : [6, 3];
        Tensor Input(Tensor ids, int vocabulary) => oneHot ? nn.functional.one_hot(ids, vocabulary).to_type(ScalarType.Float32) : ids;
        var source = Input(sourceIds, 11);
        var teacherForced = models.Training.ApplyAll([source, Input(targetIds, 13)])[0];
        Assert.Equal(new long[] { 2, 6, 13 }, teacherForced.shape);

        var states = models.Encode(source);
        for (int t = 0; t < 6; t++)
        {
            var (logp, next, attentionWeights) = models.Step(targetIds[.., t], states);
            // Step returns log-probabilities; compare them with the training model's at the same position.
            var expected = oneHot ? teacherForced[.., t].clamp_min(1e-12).log() : teacherForced[.., t].log_softmax(-1);
            for (int b = 0; b < 2; b++)
            {
                if (t >= targetLengths[b]) continue;
                var difference = expected[b].sub(logp[b]).abs().max().item<float>();
                Assert.True(difference < 1e-4, $"{cell}/{attention}: step {t}, row {b} differs by {difference}.");
            }
            if (attention == "none") Assert.Null(attentionWeights);
            else
            {
                Assert.NotNull(attentionWeights);
                // Attention rows are distributions over the source; padding gets no weight.
                var sums = attentionWeights!.sum(-1);
                Assert.True(sums.sub(1).abs().max().item<float>() < 1e-5);
                if (!oneHot) Assert.True(attentionWeights[1, 3..].abs().max().item<float>() == 0f);
            }
            states = next;
        }
    }

    [Fact]
    public void TheModelsShareOneSetOfWeights()
    {
        var config = new Seq2SeqConfig { SourceVocabularySize = 9, TargetVocabularySize = 8, Units = 4, EmbeddingDim = 3, BidirectionalEncoder = true, Attention = "luong" };
        var models = Seq2SeqBuilder.Build(config);
        var training = models.Training.Weights.Select(w => w.Value.Handle).ToHashSet();
        var inference = models.Encoder.Weights.Concat(models.Decoder.Weights).Select(w => w.Value.Handle).ToHashSet();
        Assert.Equal(training, inference);
        Assert.Equal(models.Training.Weights.Count, models.Training.Weights.Select(w => w.Path).Distinct().Count());
    }

    [Fact]
    public void BeamWidthOneEqualsGreedyOnABuiltModel()
    {
        KerasApi.SetRandomSeed(5);
        var config = new Seq2SeqConfig { SourceVocabularySize = 10, TargetVocabularySize = 12, Units = 8, EmbeddingDim = 4, Attention = "bahdanau" };
        var models = Seq2SeqBuilder.Build(config);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var source = torch.tensor(new long[,] { { 3, 4, 5 }, { 6, 7, 0 }, { 8, 9, 2 } });
        var greedy = SequenceSearch.Greedy(models.Step, models.Encode(source), 3, startId: 1, endId: 2, maxLength: 8, bannedIds: [0L]);
        var beam = SequenceSearch.Beam(models.Step, models.Encode(source), 3, startId: 1, endId: 2, maxLength: 8, width: 1, lengthPenalty: 0, bannedIds: [0L]);
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(greedy[b].Tokens, beam[b].Tokens);
            Assert.Equal(greedy[b].LogProbability, beam[b].LogProbability, 4);
            Assert.NotNull(beam[b].Attention);
            Assert.Equal(greedy[b].Attention!.GetLength(0), beam[b].Attention!.GetLength(0));
        }
        // A wider beam never finds a less probable sequence when lengths are not normalised.
        var wide = SequenceSearch.Beam(models.Step, models.Encode(source), 3, 1, 2, 8, width: 4, lengthPenalty: 0, bannedIds: [0L]);
        for (int b = 0; b < 3; b++)
            if (greedy[b].Tokens[^1] == 2) Assert.True(wide[b].LogProbability >= greedy[b].LogProbability - 1e-6);
    }

    [Fact]
    public void InvalidConfigurationsNameTheSetting()
    {
        Assert.Contains("Cell", Assert.Throws<ArgumentException>(() => Seq2SeqBuilder.Build(new Seq2SeqConfig { SourceVocabularySize = 5, TargetVocabularySize = 5, Cell = "rnn" })).Message);
        Assert.Contains("Attention", Assert.Throws<ArgumentException>(() => Seq2SeqBuilder.Build(new Seq2SeqConfig { SourceVocabularySize = 5, TargetVocabularySize = 5, Attention = "dot" })).Message);
        Assert.Contains("TargetVocabularySize", Assert.Throws<ArgumentException>(() => Seq2SeqBuilder.Build(new Seq2SeqConfig { SourceVocabularySize = 5, TargetVocabularySize = 2 })).Message);
        Assert.Contains("Dropout", Assert.Throws<ArgumentException>(() => Seq2SeqBuilder.Build(new Seq2SeqConfig { SourceVocabularySize = 5, TargetVocabularySize = 5, Dropout = 1 })).Message);
    }
}
