using System.Collections;
using System.Text;

namespace Keras.Rnn.Text;

/// <summary>One sentence and its translation, with the optional attribution column of manythings.org files.</summary>
/// <param name="Source">The sentence to translate.</param>
/// <param name="Target">Its translation.</param>
/// <param name="Attribution">The third column, if any (e.g. <c>CC-BY 2.0 (France) Attribution: tatoeba.org #...</c>).</param>
public sealed record SentencePair(string Source, string Target, string? Attribution = null);

/// <summary>A source sentence with every reference translation the corpus gives it (for multi-reference BLEU).</summary>
/// <param name="Source">The source sentence.</param>
/// <param name="References">Its translations, in corpus order.</param>
public sealed record SourceReferences(string Source, IReadOnlyList<string> References);

/// <summary>A train/validation/test split of a corpus; no source sentence occurs in two parts.</summary>
/// <param name="Train">The training pairs.</param>
/// <param name="Validation">The validation pairs.</param>
/// <param name="Test">The test pairs.</param>
public sealed record CorpusSplit(ParallelCorpus Train, ParallelCorpus Validation, ParallelCorpus Test);

/// <summary>
/// Sentence pairs for translation, read from tab-separated files (<c>source&lt;TAB&gt;target[&lt;TAB&gt;attribution]</c>,
/// the format of manythings.org's Tatoeba files and Keras' <c>lstm_seq2seq</c> example), with deterministic
/// train/validation/test splits that keep all translations of one source sentence on the same side.
/// </summary>
/// <example>
/// <code>
/// var corpus = ParallelCorpus.ReadTsv("data/tatoeba-fra-eng/fra.txt");          // 73,725 pairs
/// var (train, validation, test) = corpus.Split(validationFraction: 0.1, testFraction: 0.1, seed: 42);
/// foreach (var item in test.GroupBySource())                                    // each English sentence once,
///     Score(Translate(item.Source), item.References);                           // with all its French translations
/// </code>
/// </example>
public sealed class ParallelCorpus : IReadOnlyList<SentencePair>
{
    private readonly List<SentencePair> _pairs;
    private IReadOnlyList<string>? _sources;
    private IReadOnlyList<string>? _targets;

    /// <summary>Creates a corpus from pairs.</summary>
    /// <param name="pairs">The pairs, in order.</param>
    /// <exception cref="ArgumentException">A pair or one of its texts is <c>null</c>.</exception>
    public ParallelCorpus(IEnumerable<SentencePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        _pairs = pairs.ToList();
        for (int i = 0; i < _pairs.Count; i++)
            if (_pairs[i] is null || _pairs[i].Source is null || _pairs[i].Target is null)
                throw new ArgumentException($"ParallelCorpus: pair {i} (or its source or target) is null.", nameof(pairs));
    }

    /// <summary>
    /// Reads a tab-separated file: one pair per line, <c>source&lt;TAB&gt;target</c> with an optional third
    /// attribution column; UTF-8 (a byte-order mark is accepted), LF or CRLF line ends; blank lines are skipped.
    /// Texts are kept exactly as written.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxPairs">Read at most this many pairs, from the top (default <c>null</c>: all; Keras' example's <c>num_samples</c>).</param>
    /// <returns>The corpus.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line has fewer than 2 or more than 3 columns, or an empty source or target,
    /// or the file is not UTF-8; the message names the file and line.</exception>
    public static ParallelCorpus ReadTsv(string path, int? maxPairs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The corpus file '{path}' does not exist.", path);
        using var reader = new StreamReader(path, new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: true);
        return ReadTsv(reader, maxPairs, path);
    }

    /// <summary>Reads tab-separated pairs from a reader (see <see cref="ReadTsv(string, int?)"/>).</summary>
    /// <param name="reader">The text.</param>
    /// <param name="maxPairs">Read at most this many pairs (default <c>null</c>: all).</param>
    /// <param name="sourceName">How messages name the source (default <c>"the corpus"</c>).</param>
    /// <returns>The corpus.</returns>
    /// <exception cref="FormatException">A malformed line; the message names the source and line.</exception>
    public static ParallelCorpus ReadTsv(TextReader reader, int? maxPairs = null, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (maxPairs is < 0) throw new ArgumentOutOfRangeException(nameof(maxPairs), maxPairs, "maxPairs must be null or non-negative.");
        var where = sourceName ?? "the corpus";
        var pairs = new List<SentencePair>();
        int lineNumber = 0;
        try
        {
            string? line;
            while ((maxPairs is null || pairs.Count < maxPairs) && (line = reader.ReadLine()) is not null)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var columns = line.Split('\t');
                if (columns.Length is < 2 or > 3)
                    throw new FormatException(
                        $"{where}, line {lineNumber}: expected 'source<TAB>target' or 'source<TAB>target<TAB>attribution', found {columns.Length} column(s): \"{TextStandardization.Shorten(line)}\".");
                if (string.IsNullOrWhiteSpace(columns[0]) || string.IsNullOrWhiteSpace(columns[1]))
                    throw new FormatException($"{where}, line {lineNumber}: the {(string.IsNullOrWhiteSpace(columns[0]) ? "source" : "target")} text is empty: \"{TextStandardization.Shorten(line)}\".");
                pairs.Add(new SentencePair(columns[0], columns[1], columns.Length == 3 ? columns[2] : null));
            }
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"{where} is not UTF-8 text (after line {lineNumber}): {e.Message}", e);
        }
        return new ParallelCorpus(pairs);
    }

    /// <summary>The number of pairs.</summary>
    public int Count => _pairs.Count;

    /// <summary>The pair at <paramref name="index"/>.</summary>
    /// <param name="index">The position.</param>
    public SentencePair this[int index] => _pairs[index];

    /// <inheritdoc />
    public IEnumerator<SentencePair> GetEnumerator() => _pairs.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The source sentences, in order (repeated for each of their translations).</summary>
    public IReadOnlyList<string> Sources => _sources ??= _pairs.Select(p => p.Source).ToList();

    /// <summary>The target sentences, in order.</summary>
    public IReadOnlyList<string> Targets => _targets ??= _pairs.Select(p => p.Target).ToList();

    /// <summary>How many distinct source sentences the corpus holds.</summary>
    public int DistinctSourceCount => _pairs.Select(p => p.Source).Distinct(StringComparer.Ordinal).Count();

    /// <summary>The same pairs with source and target exchanged (e.g. French → English from an English–French file).</summary>
    public ParallelCorpus Swap() => new(_pairs.Select(p => new SentencePair(p.Target, p.Source, p.Attribution)));

    /// <summary>The first <paramref name="count"/> pairs.</summary>
    /// <param name="count">How many (at most <see cref="Count"/>).</param>
    public ParallelCorpus Take(int count) => new(_pairs.Take(count));

    /// <summary>
    /// Each distinct source sentence once, in order of first appearance, with all its translations in the corpus —
    /// the references of multi-reference BLEU. On a part of <see cref="Split"/>, these are all the translations the
    /// whole corpus has for the sentence.
    /// </summary>
    public IReadOnlyList<SourceReferences> GroupBySource()
    {
        var order = new List<string>();
        var references = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var p in _pairs)
        {
            if (!references.TryGetValue(p.Source, out var list))
            {
                references[p.Source] = list = [];
                order.Add(p.Source);
            }
            list.Add(p.Target);
        }
        return order.Select(s => new SourceReferences(s, references[s])).ToList();
    }

    /// <summary>
    /// Splits the corpus into train, validation and test parts by source sentence, so that all translations of a
    /// sentence land in the same part (no test sentence is seen in training, even with another translation). The
    /// distinct source sentences (exact text) are shuffled with a seeded generator (SplitMix64 and Fisher–Yates,
    /// identical on every platform and .NET version); the first <c>round(testFraction × sentences)</c> go to test,
    /// the next <c>round(validationFraction × sentences)</c> to validation, the rest to training. Each part keeps the
    /// corpus order of its pairs. The same corpus, fractions and seed always give the same split.
    /// </summary>
    /// <param name="validationFraction">Share of source sentences for validation (default 0.1), in [0, 1).</param>
    /// <param name="testFraction">Share of source sentences for testing (default 0.1), in [0, 1).</param>
    /// <param name="seed">The shuffle seed (default 1337).</param>
    /// <returns>The three parts.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A fraction outside [0, 1), or fractions summing to 1 or more.</exception>
    public CorpusSplit Split(double validationFraction = 0.1, double testFraction = 0.1, int seed = 1337)
    {
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in [0, 1).");
        if (!(testFraction >= 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "testFraction must be in [0, 1).");
        if (validationFraction + testFraction >= 1)
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction,
                $"validationFraction + testFraction must be below 1 so that something is left for training; received {validationFraction} + {testFraction}.");

        var sources = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _pairs)
            if (seen.Add(p.Source)) sources.Add(p.Source);

        var rng = new SplitMix64(unchecked((ulong)seed));
        for (int i = sources.Count - 1; i > 0; i--)
        {
            int j = (int)rng.NextBelow((ulong)(i + 1));
            (sources[i], sources[j]) = (sources[j], sources[i]);
        }
        int nTest = (int)Math.Round(testFraction * sources.Count, MidpointRounding.AwayFromZero);
        int nValidation = Math.Min((int)Math.Round(validationFraction * sources.Count, MidpointRounding.AwayFromZero), sources.Count - nTest);
        var part = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < sources.Count; i++) part[sources[i]] = i < nTest ? 2 : i < nTest + nValidation ? 1 : 0;

        var parts = new[] { new List<SentencePair>(), new List<SentencePair>(), new List<SentencePair>() };
        foreach (var p in _pairs) parts[part[p.Source]].Add(p);
        return new CorpusSplit(new ParallelCorpus(parts[0]), new ParallelCorpus(parts[1]), new ParallelCorpus(parts[2]));
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a small generator whose output is fixed by its seed.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, bound) without modulo bias (rejection sampling).</summary>
        public ulong NextBelow(ulong bound)
        {
            ulong limit = ulong.MaxValue - ulong.MaxValue % bound;
            ulong x;
            do x = Next();
            while (x >= limit);
            return x % bound;
        }
    }
}
