using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Seq2Seq;

/// <summary>
/// One decoder step for a batch of partial sequences: given each row's previous token <c>(rows,)</c> and the rows'
/// states (every tensor batch-first), returns log-probabilities over the vocabulary <c>(rows, vocabulary)</c>, the new
/// states (same count and order) and, optionally, the attention weights over the source <c>(rows, source_len)</c>.
/// </summary>
/// <param name="previousTokens">The last token of each row.</param>
/// <param name="states">The rows' states (recurrent states, and anything else the step needs, e.g. encoder outputs).</param>
public delegate (Tensor LogProbabilities, IReadOnlyList<Tensor> States, Tensor? Attention) DecodeStep(Tensor previousTokens, IReadOnlyList<Tensor> states);

/// <summary>A decoded sequence: its tokens (without the start token; with the end token when one was produced).</summary>
/// <param name="Tokens">Token ids.</param>
/// <param name="LogProbability">Sum of the tokens' log-probabilities.</param>
/// <param name="Attention">Attention weights, one row per produced token (<c>tokens × source_len</c>), when the step returns them.</param>
public sealed record DecodedSequence(long[] Tokens, double LogProbability, float[,]? Attention);

/// <summary>
/// Decoding strategies over any <see cref="DecodeStep"/>: greedy, beam search with length normalisation, and
/// sampling with a temperature. All run the whole batch together and stop when every row has ended or the maximum
/// length is reached.
/// </summary>
public static class SequenceSearch
{
    /// <summary>Picks the most probable token at each step.</summary>
    /// <param name="step">The decoder step.</param>
    /// <param name="initialStates">States for each of the <paramref name="batch"/> rows.</param>
    /// <param name="batch">Number of sequences.</param>
    /// <param name="startId">The start token.</param>
    /// <param name="endId">The end token (decoding of a row stops after it).</param>
    /// <param name="maxLength">Largest number of produced tokens.</param>
    /// <param name="bannedIds">Tokens never produced (e.g. padding 0); default none.</param>
    public static IReadOnlyList<DecodedSequence> Greedy(DecodeStep step, IReadOnlyList<Tensor> initialStates, long batch, long startId, long endId,
        int maxLength, IReadOnlyCollection<long>? bannedIds = null) =>
        Pick(step, initialStates, batch, startId, endId, maxLength, bannedIds, (logp, _) => logp.argmax(-1));

    /// <summary>Draws each token from the softmax of the log-probabilities divided by <paramref name="temperature"/>.</summary>
    /// <param name="step">The decoder step.</param>
    /// <param name="initialStates">States per row.</param>
    /// <param name="batch">Number of sequences.</param>
    /// <param name="startId">The start token.</param>
    /// <param name="endId">The end token.</param>
    /// <param name="maxLength">Largest number of produced tokens.</param>
    /// <param name="temperature">Above 0; 1 samples the model's distribution, lower is greedier (default 1).</param>
    /// <param name="seed">Seed for repeatable draws (default: the global generator).</param>
    /// <param name="bannedIds">Tokens never produced; default none.</param>
    /// <exception cref="ArgumentException"><paramref name="temperature"/> is not positive.</exception>
    public static IReadOnlyList<DecodedSequence> Sample(DecodeStep step, IReadOnlyList<Tensor> initialStates, long batch, long startId, long endId,
        int maxLength, double temperature = 1.0, int? seed = null, IReadOnlyCollection<long>? bannedIds = null)
    {
        if (temperature <= 0) throw new ArgumentException($"temperature must be positive, got {temperature}.", nameof(temperature));
        using var generator = seed is { } s ? new Generator((ulong)s) : null;
        return Pick(step, initialStates, batch, startId, endId, maxLength, bannedIds,
            (logp, _) => torch.multinomial(logp.div(temperature).softmax(-1), 1, generator: generator).squeeze(-1));
    }

    private static IReadOnlyList<DecodedSequence> Pick(DecodeStep step, IReadOnlyList<Tensor> initialStates, long batch, long startId, long endId,
        int maxLength, IReadOnlyCollection<long>? bannedIds, Func<Tensor, int, Tensor> choose)
    {
        CheckArguments(batch, maxLength);
        using var scope = torch.NewDisposeScope();
        var device = initialStates.Count > 0 ? initialStates[0].device : torch.CPU;
        var tokens = torch.full(batch, startId, ScalarType.Int64, device);
        var states = initialStates;
        var produced = new List<Tensor>();
        var attentions = new List<Tensor>();
        var logProbability = torch.zeros(batch, ScalarType.Float64, device);
        var finished = torch.zeros(batch, ScalarType.Bool, device);
        for (int t = 0; t < maxLength; t++)
        {
            var (logp, next, attention) = step(tokens, states);
            logp = Ban(logp, bannedIds);
            var chosen = choose(logp, t);
            var chosenLogp = logp.gather(1, chosen.unsqueeze(1)).squeeze(1).to_type(ScalarType.Float64);
            logProbability = logProbability.add(chosenLogp.masked_fill(finished, 0));
            // Rows that ended keep producing the end token (ignored when the sequences are read out).
            chosen = chosen.masked_fill(finished, endId);
            produced.Add(chosen);
            if (attention is not null) attentions.Add(attention);
            finished = finished.logical_or(chosen.eq(endId));
            tokens = chosen;
            states = next;
            if (finished.all().item<bool>()) break;
        }
        return ReadOut(produced, attentions, logProbability, endId);
    }

    /// <summary>
    /// Beam search: keeps the <paramref name="width"/> best partial sequences per row, and returns the finished one
    /// with the best score <c>log p / length^lengthPenalty</c>. Width 1 gives the greedy result.
    /// </summary>
    /// <param name="step">The decoder step.</param>
    /// <param name="initialStates">States per row (they are repeated per beam).</param>
    /// <param name="batch">Number of sequences.</param>
    /// <param name="startId">The start token.</param>
    /// <param name="endId">The end token.</param>
    /// <param name="maxLength">Largest number of produced tokens.</param>
    /// <param name="width">Beams per sequence, at least 1 (default 4).</param>
    /// <param name="lengthPenalty">Exponent α of the length normalisation (0: plain log-probability; default 1).</param>
    /// <param name="bannedIds">Tokens never produced; default none.</param>
    /// <exception cref="ArgumentException"><paramref name="width"/> is below 1.</exception>
    public static IReadOnlyList<DecodedSequence> Beam(DecodeStep step, IReadOnlyList<Tensor> initialStates, long batch, long startId, long endId,
        int maxLength, int width = 4, double lengthPenalty = 1.0, IReadOnlyCollection<long>? bannedIds = null)
    {
        CheckArguments(batch, maxLength);
        if (width < 1) throw new ArgumentException($"Beam width must be at least 1, got {width}.", nameof(width));
        using var scope = torch.NewDisposeScope();
        var device = initialStates.Count > 0 ? initialStates[0].device : torch.CPU;
        // Rows are (sentence, beam) pairs, sentence-major. Start with one live beam per sentence.
        var expand = torch.arange(batch, device: device).repeat_interleave(width);
        IReadOnlyList<Tensor> states = initialStates.Select(s => s.index_select(0, expand)).ToList();
        var tokens = torch.full(batch * width, startId, ScalarType.Int64, device);
        var scores = torch.full([batch, width], double.NegativeInfinity, ScalarType.Float64, device);
        scores[.., 0] = torch.tensor(0.0, ScalarType.Float64, device);
        var history = new List<Tensor>();     // (batch*width) tokens per step
        var attentionHistory = new List<Tensor>();
        var best = new (double Score, long[] Tokens, double LogP, float[,]? Attention)?[batch];
        for (int t = 0; t < maxLength; t++)
        {
            var (logp, next, attention) = step(tokens, states);
            logp = Ban(logp, bannedIds).to_type(ScalarType.Float64);
            long vocab = logp.shape[1];
            var total = scores.reshape(batch * width, 1).add(logp).reshape(batch, width * vocab);
            var (topScores, topIndex) = total.topk(width, dim: 1);
            var beamOrigin = topIndex.div(vocab, rounding_mode: RoundingMode.floor);
            var tokenIds = topIndex.remainder(vocab);
            var rowOrigin = beamOrigin.add(torch.arange(batch, device: device).unsqueeze(1).mul(width)).reshape(-1);
            history = history.Select(h => h.index_select(0, rowOrigin)).ToList();
            attentionHistory = attentionHistory.Select(a => a.index_select(0, rowOrigin)).ToList();
            var flatTokens = tokenIds.reshape(-1);
            history.Add(flatTokens);
            if (attention is not null) attentionHistory.Add(attention.index_select(0, rowOrigin));
            states = next.Select(s => s.index_select(0, rowOrigin)).ToList();
            scores = topScores;

            // Finished hypotheses leave the beam: remember the best normalised one per sentence.
            var ended = tokenIds.eq(endId);
            if (ended.any().item<bool>() || t == maxLength - 1)
            {
                var endedHost = ended.cpu().data<bool>().ToArray();
                var scoresHost = topScores.cpu().data<double>().ToArray();
                for (int b = 0; b < batch; b++)
                {
                    for (int k = 0; k < width; k++)
                    {
                        int row = b * width + k;
                        bool isLast = t == maxLength - 1;
                        if (!endedHost[row] && !isLast) continue;
                        double logP = scoresHost[row];
                        if (double.IsNegativeInfinity(logP)) continue;
                        int length = t + 1;
                        double normalised = logP / Math.Pow(length, lengthPenalty);
                        if (best[b] is { } current && current.Score >= normalised) continue;
                        var seq = history.Select(h => h[row].item<long>()).ToArray();
                        float[,]? att = null;
                        if (attentionHistory.Count > 0)
                        {
                            var rows = torch.stack(attentionHistory.Select(a => a[row]).ToArray()).to_type(ScalarType.Float32).cpu();
                            att = (float[,])rows.ToArray();
                        }
                        best[b] = (normalised, seq, logP, att);
                    }
                }
                scores = scores.masked_fill(ended, double.NegativeInfinity);
            }
            tokens = flatTokens;
            // Stop when no live beam can still beat the best finished one of its sentence.
            if (CanStop(best, scores, t + 1, maxLength, lengthPenalty)) break;
        }
        return best.Select(b => b is { } v ? new DecodedSequence(v.Tokens, v.LogP, v.Attention) : new DecodedSequence([], double.NegativeInfinity, null)).ToList();
    }

    private static bool CanStop((double Score, long[] Tokens, double LogP, float[,]? Attention)?[] best, Tensor scores, int length, int maxLength,
        double lengthPenalty)
    {
        if (best.Any(b => b is null)) return scores.isinf().all().item<bool>();
        var liveBest = scores.max(1).values.cpu().data<double>().ToArray();
        for (int b = 0; b < best.Length; b++)
        {
            if (double.IsNegativeInfinity(liveBest[b])) continue;
            // Log-probabilities only decrease; with α ≥ 0 the best a live beam can reach is its score at the longest length.
            double optimistic = lengthPenalty > 0 ? liveBest[b] / Math.Pow(maxLength, lengthPenalty) : liveBest[b];
            if (optimistic > best[b]!.Value.Score) return false;
        }
        return true;
    }

    private static Tensor Ban(Tensor logp, IReadOnlyCollection<long>? bannedIds)
    {
        if (bannedIds is null || bannedIds.Count == 0) return logp;
        var banned = logp.clone();
        foreach (var id in bannedIds)
            if (id >= 0 && id < logp.shape[1]) banned[.., id] = torch.tensor(double.NegativeInfinity, logp.dtype, logp.device);
        return banned;
    }

    private static void CheckArguments(long batch, int maxLength)
    {
        if (batch < 0) throw new ArgumentException($"batch must not be negative, got {batch}.", nameof(batch));
        if (maxLength < 1) throw new ArgumentException($"maxLength must be at least 1, got {maxLength}.", nameof(maxLength));
    }

    private static IReadOnlyList<DecodedSequence> ReadOut(List<Tensor> produced, List<Tensor> attentions, Tensor logProbability, long endId)
    {
        long batch = logProbability.shape[0];
        var result = new List<DecodedSequence>((int)batch);
        if (produced.Count == 0) return result;
        var tokens = torch.stack(produced, 1).cpu();
        var all = tokens.data<long>().ToArray();
        int steps = produced.Count;
        var logp = logProbability.cpu().data<double>().ToArray();
        Tensor? att = attentions.Count > 0 ? torch.stack(attentions, 1).to_type(ScalarType.Float32).cpu() : null;
        for (int b = 0; b < batch; b++)
        {
            var seq = new List<long>();
            for (int t = 0; t < steps; t++)
            {
                long id = all[b * steps + t];
                seq.Add(id);
                if (id == endId) break;
            }
            float[,]? matrix = att is null ? null : (float[,])att[b].narrow(0, 0, seq.Count).ToArray();
            result.Add(new DecodedSequence(seq.ToArray(), logp[b], matrix));
        }
        return result;
    }
}
