namespace Keras.Rnn.Metrics;

/// <summary>How BLEU treats n-gram orders with no match (sacreBLEU's <c>smooth_method</c>; Chen and Cherry 2014).</summary>
public enum BleuSmoothing
{
    /// <summary>No smoothing: an order with no match makes the score 0 (Papineni et al.).</summary>
    None,

    /// <summary>An order with no match counts <c>smoothValue</c> matches (default 0.1).</summary>
    Floor,

    /// <summary>From order 2 on, <c>smoothValue</c> (default 1) is added to matches and totals.</summary>
    AddK,

    /// <summary>The k-th order with no match gets precision <c>1 / (2ᵏ · total)</c> (mteval-v13a's smoothing, sacreBLEU's default).</summary>
    Exp,
}

/// <summary>
/// BLEU (Papineni et al., 2002) computed as sacreBLEU does: hypotheses and references are tokenized (<c>"13a"</c> by
/// default, see <see cref="BleuTokenizer"/>); for each hypothesis the n-grams (n = 1..4) are counted and each count is
/// clipped to the largest number of times the n-gram occurs in any one of its references; matches and totals are
/// summed over the corpus, and the score is the geometric mean of the four modified precisions times the brevity
/// penalty <c>exp(1 − r / c)</c> (when <c>c &lt; r</c>), where <c>c</c> is the hypothesis length and <c>r</c> the sum,
/// over the hypotheses, of the reference length closest to each (the shorter one on ties). The score is 0 to 100.
/// </summary>
/// <remarks>
/// Use the static <see cref="Corpus"/> for a whole test set, <see cref="Sentence"/> for one sentence, or an instance
/// as a streaming metric: <see cref="Update(IReadOnlyList{string}, IReadOnlyList{IReadOnlyList{string}})"/> batch by
/// batch, then <see cref="Result"/>. Corpus BLEU is not the mean of sentence BLEUs: the statistics are summed first.
/// </remarks>
/// <example>
/// <code>
/// var score = Bleu.Corpus(
///     ["The dog bit the man.", "It wasn't surprising."],
///     [["The dog bit the man.", "The dog had bit the man."], ["It was not unexpected.", "No one was surprised."]]);
/// Console.WriteLine(score); // BLEU = ... (BP = ... ratio = ... hyp_len = ... ref_len = ...)
/// </code>
/// </example>
public sealed class Bleu
{
    private readonly long[] _correct;
    private readonly long[] _total;
    private long _hypothesisLength;
    private long _referenceLength;

    /// <summary>Creates an empty streaming BLEU metric.</summary>
    /// <param name="tokenize">Tokenizer: <c>"13a"</c> (default), <c>"none"</c> (whitespace) or <c>"char"</c>.</param>
    /// <param name="lowercase">Whether to lower-case hypotheses and references first (default <c>false</c>).</param>
    /// <param name="smoothing">Smoothing of orders with no match (default <see cref="BleuSmoothing.None"/>).</param>
    /// <param name="smoothValue">The value of <see cref="BleuSmoothing.Floor"/> (default 0.1) and <see cref="BleuSmoothing.AddK"/> (default 1).</param>
    /// <param name="maxNgramOrder">Largest n-gram order (default 4).</param>
    /// <param name="effectiveOrder">Whether to average only over the orders the hypotheses have n-grams of (sacreBLEU's
    /// <c>effective_order</c>, meant for single sentences; default <c>false</c>).</param>
    /// <exception cref="ArgumentException">Unknown tokenizer, non-positive order, or a negative smoothing value.</exception>
    public Bleu(string tokenize = "13a", bool lowercase = false, BleuSmoothing smoothing = BleuSmoothing.None, double? smoothValue = null,
        int maxNgramOrder = 4, bool effectiveOrder = false)
    {
        if (!BleuTokenizer.Names.Contains(tokenize)) throw BleuTokenizer.UnknownTokenizer(tokenize, nameof(tokenize));
        if (maxNgramOrder < 1) throw new ArgumentException($"Bleu: maxNgramOrder must be at least 1, got {maxNgramOrder}.", nameof(maxNgramOrder));
        if (!Enum.IsDefined(smoothing)) throw new ArgumentException($"Bleu: unknown smoothing {smoothing}.", nameof(smoothing));
        if (smoothValue is { } v && (double.IsNaN(v) || v < 0))
            throw new ArgumentException($"Bleu: smoothValue must be a non-negative number, got {v}.", nameof(smoothValue));
        Tokenize = tokenize;
        Lowercase = lowercase;
        Smoothing = smoothing;
        SmoothValue = smoothValue;
        MaxNgramOrder = maxNgramOrder;
        EffectiveOrder = effectiveOrder;
        _correct = new long[maxNgramOrder];
        _total = new long[maxNgramOrder];
    }

    /// <summary>The tokenizer name.</summary>
    public string Tokenize { get; }
    /// <summary>Whether text is lower-cased first.</summary>
    public bool Lowercase { get; }
    /// <summary>The smoothing method.</summary>
    public BleuSmoothing Smoothing { get; }
    /// <summary>The smoothing value as given (<c>null</c>: the method's default).</summary>
    public double? SmoothValue { get; }
    /// <summary>Largest n-gram order.</summary>
    public int MaxNgramOrder { get; }
    /// <summary>Whether only the orders present are averaged.</summary>
    public bool EffectiveOrder { get; }
    /// <summary>Number of hypotheses seen since the last reset.</summary>
    public long SentenceCount { get; private set; }

    /// <summary>Adds hypotheses and their references to the statistics.</summary>
    /// <param name="hypotheses">One string per sentence (may be empty).</param>
    /// <param name="references">For each hypothesis, its reference translations (at least one).</param>
    /// <exception cref="ArgumentException">The counts differ, a reference list is empty, or a string is null; nothing is added then.</exception>
    public void Update(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
            throw new ArgumentException(
                $"Bleu: {hypotheses.Count} hypotheses but {references.Count} reference lists; give one list of references per hypothesis.", nameof(references));
        var statistics = new List<SegmentStatistics>(hypotheses.Count);
        for (int i = 0; i < hypotheses.Count; i++) statistics.Add(Segment(hypotheses[i], references[i], i));
        foreach (var s in statistics) Add(s);
    }

    /// <summary>Adds one hypothesis and its references to the statistics.</summary>
    /// <param name="hypothesis">The hypothesis (may be empty).</param>
    /// <param name="references">Its reference translations (at least one).</param>
    /// <exception cref="ArgumentException">No reference, or a null string.</exception>
    public void Update(string hypothesis, IReadOnlyList<string> references) => Add(Segment(hypothesis, references, 0));

    /// <summary>The score of everything added since the last reset.</summary>
    public BleuScore Result() =>
        Compute(_correct.Select(c => (double)c).ToArray(), _total.Select(t => (double)t).ToArray(), _hypothesisLength, _referenceLength,
            Smoothing, SmoothValue, EffectiveOrder);

    /// <summary>Forgets the statistics.</summary>
    public void ResetState()
    {
        Array.Clear(_correct);
        Array.Clear(_total);
        _hypothesisLength = 0;
        _referenceLength = 0;
        SentenceCount = 0;
    }

    // ------------------------------------------------------------------ one-call forms

    /// <summary>Corpus-level BLEU.</summary>
    /// <param name="hypotheses">One string per sentence (may be empty).</param>
    /// <param name="references">For each hypothesis, its reference translations (at least one each; their number may vary).</param>
    /// <param name="tokenize">Tokenizer: <c>"13a"</c> (default), <c>"none"</c> (whitespace) or <c>"char"</c>.</param>
    /// <param name="lowercase">Whether to lower-case first (default <c>false</c>).</param>
    /// <param name="smoothing">Smoothing (default <see cref="BleuSmoothing.None"/>).</param>
    /// <param name="smoothValue">Value for <see cref="BleuSmoothing.Floor"/> (default 0.1) and <see cref="BleuSmoothing.AddK"/> (default 1).</param>
    /// <param name="maxNgramOrder">Largest n-gram order (default 4).</param>
    /// <param name="effectiveOrder">Average only over the orders present (default <c>false</c>).</param>
    /// <returns>The score and its statistics.</returns>
    /// <exception cref="ArgumentException">Mismatched counts, an empty reference list, a null string or a bad option.</exception>
    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references, string tokenize = "13a",
        bool lowercase = false, BleuSmoothing smoothing = BleuSmoothing.None, double? smoothValue = null, int maxNgramOrder = 4,
        bool effectiveOrder = false)
    {
        var bleu = new Bleu(tokenize, lowercase, smoothing, smoothValue, maxNgramOrder, effectiveOrder);
        bleu.Update(hypotheses, references);
        return bleu.Result();
    }

    /// <summary>
    /// Sentence-level BLEU, with sacreBLEU's <c>sentence_bleu</c> defaults: exponential smoothing and the effective
    /// order, so that a short or imperfect sentence does not score 0 outright.
    /// </summary>
    /// <param name="hypothesis">The hypothesis.</param>
    /// <param name="references">Its reference translations (at least one).</param>
    /// <param name="tokenize">Tokenizer (default <c>"13a"</c>).</param>
    /// <param name="lowercase">Whether to lower-case first (default <c>false</c>).</param>
    /// <param name="smoothing">Smoothing (default <see cref="BleuSmoothing.Exp"/>).</param>
    /// <param name="smoothValue">Value for floor/add-k smoothing (default: the method's).</param>
    /// <param name="effectiveOrder">Average only over the orders present (default <c>true</c>).</param>
    /// <returns>The score and its statistics.</returns>
    public static BleuScore Sentence(string hypothesis, IReadOnlyList<string> references, string tokenize = "13a", bool lowercase = false,
        BleuSmoothing smoothing = BleuSmoothing.Exp, double? smoothValue = null, bool effectiveOrder = true)
    {
        var bleu = new Bleu(tokenize, lowercase, smoothing, smoothValue, 4, effectiveOrder);
        bleu.Update(hypothesis, references);
        return bleu.Result();
    }

    /// <summary>BLEU from already summed statistics (sacreBLEU's <c>compute_bleu</c>).</summary>
    /// <param name="correct">Matched n-gram counts per order.</param>
    /// <param name="total">Hypothesis n-gram counts per order (same length).</param>
    /// <param name="hypothesisLength">Hypothesis length <c>c</c>.</param>
    /// <param name="referenceLength">Effective reference length <c>r</c>.</param>
    /// <param name="smoothing">Smoothing (default <see cref="BleuSmoothing.None"/>).</param>
    /// <param name="smoothValue">Value for floor/add-k smoothing (default: the method's).</param>
    /// <param name="effectiveOrder">Average only over the orders present (default <c>false</c>).</param>
    /// <exception cref="ArgumentException">Lengths differ or are empty, or a count is negative.</exception>
    public static BleuScore Compute(IReadOnlyList<double> correct, IReadOnlyList<double> total, long hypothesisLength, long referenceLength,
        BleuSmoothing smoothing = BleuSmoothing.None, double? smoothValue = null, bool effectiveOrder = false)
    {
        ArgumentNullException.ThrowIfNull(correct);
        ArgumentNullException.ThrowIfNull(total);
        if (correct.Count == 0 || correct.Count != total.Count)
            throw new ArgumentException($"Bleu: expected matched and total counts for the same orders, got {correct.Count} and {total.Count}.", nameof(total));
        if (correct.Concat(total).Any(x => double.IsNaN(x) || x < 0) || hypothesisLength < 0 || referenceLength < 0)
            throw new ArgumentException("Bleu: counts and lengths must be non-negative.", nameof(correct));
        int orders = correct.Count;
        var counts = correct.ToArray();
        var totals = total.ToArray();
        double value = smoothValue ?? smoothing switch { BleuSmoothing.Floor => 0.1, BleuSmoothing.AddK => 1.0, _ => 0.0 };

        double brevityPenalty = hypothesisLength < referenceLength
            ? hypothesisLength > 0 ? Math.Exp(1.0 - (double)referenceLength / hypothesisLength) : 0.0
            : 1.0;
        var precisions = new double[orders];
        if (counts.All(c => c == 0))
            return new BleuScore(0.0, counts, totals, precisions, brevityPenalty, hypothesisLength, referenceLength);

        double exponentialFactor = 1.0;
        int order = orders;
        for (int n = 1; n <= orders; n++)
        {
            if (smoothing == BleuSmoothing.AddK && n > 1)
            {
                counts[n - 1] += value;
                totals[n - 1] += value;
            }
            if (totals[n - 1] == 0) break;
            if (effectiveOrder) order = n;
            if (counts[n - 1] == 0)
            {
                if (smoothing == BleuSmoothing.Exp)
                {
                    exponentialFactor *= 2;
                    precisions[n - 1] = 100.0 / (exponentialFactor * totals[n - 1]);
                }
                else if (smoothing == BleuSmoothing.Floor)
                {
                    precisions[n - 1] = 100.0 * value / totals[n - 1];
                }
            }
            else
            {
                precisions[n - 1] = 100.0 * counts[n - 1] / totals[n - 1];
            }
        }
        // An order without precision makes the geometric mean 0 (sacreBLEU takes log 0 as -9999999999).
        double logSum = 0;
        for (int n = 0; n < order; n++) logSum += precisions[n] == 0 ? -9999999999.0 : Math.Log(precisions[n]);
        double score = brevityPenalty * Math.Exp(logSum / order);
        return new BleuScore(score, counts, totals, precisions, brevityPenalty, hypothesisLength, referenceLength);
    }

    // ------------------------------------------------------------------ statistics

    private sealed record SegmentStatistics(long HypothesisLength, long ReferenceLength, long[] Correct, long[] Total);

    private void Add(SegmentStatistics s)
    {
        for (int n = 0; n < MaxNgramOrder; n++)
        {
            _correct[n] += s.Correct[n];
            _total[n] += s.Total[n];
        }
        _hypothesisLength += s.HypothesisLength;
        _referenceLength += s.ReferenceLength;
        SentenceCount++;
    }

    private string[] Prepare(string text) =>
        BleuTokenizer.Tokenize(BleuTokenizer.TrimEndWhiteSpace(Lowercase ? text.ToLowerInvariant() : text), Tokenize);

    private SegmentStatistics Segment(string hypothesis, IReadOnlyList<string> references, int index)
    {
        if (hypothesis is null) throw new ArgumentException($"Bleu: hypothesis {index} is null.", nameof(hypothesis));
        if (references is null || references.Count == 0)
            throw new ArgumentException($"Bleu: hypothesis {index} has no reference; give at least one reference per hypothesis.", nameof(references));

        // The largest count of each n-gram in any one reference, and the reference lengths.
        var referenceCounts = new Dictionary<Ngram, int>();
        var referenceLengths = new List<int>(references.Count);
        for (int r = 0; r < references.Count; r++)
        {
            if (references[r] is null) throw new ArgumentException($"Bleu: reference {r} of hypothesis {index} is null.", nameof(references));
            var tokens = Prepare(references[r]);
            referenceLengths.Add(tokens.Length);
            foreach (var (ngram, count) in CountNgrams(tokens, MaxNgramOrder))
                if (!referenceCounts.TryGetValue(ngram, out var best) || count > best) referenceCounts[ngram] = count;
        }

        var hypothesisTokens = Prepare(hypothesis);
        int length = hypothesisTokens.Length;
        int closest = referenceLengths[0];
        foreach (var r in referenceLengths)
        {
            int d = Math.Abs(r - length), best = Math.Abs(closest - length);
            if (d < best || d == best && r < closest) closest = r;
        }

        var correct = new long[MaxNgramOrder];
        var total = new long[MaxNgramOrder];
        foreach (var (ngram, count) in CountNgrams(hypothesisTokens, MaxNgramOrder))
        {
            int n = ngram.Length - 1;
            total[n] += count;
            if (referenceCounts.TryGetValue(ngram, out var available)) correct[n] += Math.Min(count, available);
        }
        return new SegmentStatistics(length, closest, correct, total);
    }

    private static Dictionary<Ngram, int> CountNgrams(string[] tokens, int maxOrder)
    {
        var counts = new Dictionary<Ngram, int>();
        for (int n = 1; n <= maxOrder; n++)
            for (int i = 0; i + n <= tokens.Length; i++)
            {
                var ngram = new Ngram(tokens, i, n);
                counts[ngram] = counts.TryGetValue(ngram, out var c) ? c + 1 : 1;
            }
        return counts;
    }

    /// <summary>A run of tokens compared by value.</summary>
    private readonly struct Ngram : IEquatable<Ngram>
    {
        private readonly string[] _tokens;
        private readonly int _start;
        private readonly int _hash;

        public Ngram(string[] tokens, int start, int length)
        {
            _tokens = tokens;
            _start = start;
            Length = length;
            var hash = new HashCode();
            for (int i = 0; i < length; i++) hash.Add(tokens[start + i], StringComparer.Ordinal);
            _hash = hash.ToHashCode();
        }

        public int Length { get; }

        public bool Equals(Ngram other)
        {
            if (Length != other.Length || _hash != other._hash) return false;
            for (int i = 0; i < Length; i++)
                if (!string.Equals(_tokens[_start + i], other._tokens[other._start + i], StringComparison.Ordinal)) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is Ngram other && Equals(other);

        public override int GetHashCode() => _hash;
    }
}
