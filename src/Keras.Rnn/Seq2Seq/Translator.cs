using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Losses;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Saving;
using Keras.Rnn.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Seq2Seq;

/// <summary>
/// A word-level translator: tokenizers and vocabularies for both languages around a <see cref="Seq2SeqModels"/>
/// encoder–decoder. It trains on sentence pairs (<see cref="Fit(IReadOnlyList{SentencePair}, IReadOnlyList{SentencePair}?, int, int, int, IEnumerable{Callbacks.Callback}?, int, int)"/>), translates batches of sentences with greedy,
/// beam or sampled decoding (<see cref="Translate(IReadOnlyList{string}, TranslateOptions?)"/>), scores itself with
/// BLEU (<see cref="EvaluateBleu(ParallelCorpus, TranslateOptions?)"/>), and saves to one <c>.keras</c> file whose <c>assets/</c> hold the vocabularies
/// (<see cref="Save"/>, <see cref="Load"/>).
/// </summary>
/// <example>
/// <code>
/// var translator = Translator.Load("models/eng-fra/translator.keras");
/// Console.WriteLine(translator.Translate("I am very tired.").Text);   // « Je suis très fatigué. »
/// </code>
/// </example>
public sealed class Translator
{
    /// <summary>The token that starts every decoder input.</summary>
    public const string StartToken = "[start]";

    /// <summary>The token the decoder produces to end a translation.</summary>
    public const string EndToken = "[end]";

    /// <summary>The out-of-vocabulary token (index 1 of both vocabularies).</summary>
    public const string UnknownToken = "[UNK]";

    /// <summary>Directory of the translator's entries inside the <c>.keras</c> archive.</summary>
    internal const string AssetsDirectory = "assets/translator/";

    private const string SettingsEntry = AssetsDirectory + "translator.json";
    private const string SourceVocabularyEntry = AssetsDirectory + "source_vocabulary.txt";
    private const string TargetVocabularyEntry = AssetsDirectory + "target_vocabulary.txt";
    private const int FormatVersion = 1;

    private readonly Dictionary<string, int> _sourceIndex;
    private readonly Dictionary<string, int> _targetIndex;
    private readonly string[] _sourceVocabulary;
    private readonly string[] _targetVocabulary;

    /// <summary>Creates a translator from built models and vocabularies.</summary>
    /// <param name="models">Word-level encoder–decoder models (<see cref="Seq2SeqConfig.OneHotInputs"/> false).</param>
    /// <param name="sourceVocabulary">Source tokens by id: <c>""</c> (padding) at 0, <c>[UNK]</c> at 1, then tokens.</param>
    /// <param name="targetVocabulary">Target tokens by id, the same way, including <c>[start]</c> and <c>[end]</c>.</param>
    /// <param name="sourceTokenizer">Splits source sentences (default: lower-casing <see cref="WordTokenizer"/>).</param>
    /// <param name="targetTokenizer">Splits and joins target sentences (default: case-keeping <see cref="WordTokenizer"/> with French spacing).</param>
    /// <param name="maxSourceLength">Source tokens read per sentence; longer sentences are truncated with a warning (default 50).</param>
    /// <param name="maxTargetLength">Default largest number of produced tokens (default 50).</param>
    /// <exception cref="ArgumentException">The vocabularies do not fit the models or each other.</exception>
    public Translator(Seq2SeqModels models, IReadOnlyList<string> sourceVocabulary, IReadOnlyList<string> targetVocabulary,
        WordTokenizer? sourceTokenizer = null, WordTokenizer? targetTokenizer = null, int maxSourceLength = 50, int maxTargetLength = 50)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(sourceVocabulary);
        ArgumentNullException.ThrowIfNull(targetVocabulary);
        if (models.Config.OneHotInputs)
            throw new ArgumentException("Translator: the models read one-hot characters (OneHotInputs); a Translator needs the word-level (token id) variant.", nameof(models));
        if (maxSourceLength < 1) throw new ArgumentException($"Translator: maxSourceLength must be at least 1, got {maxSourceLength}.", nameof(maxSourceLength));
        if (maxTargetLength < 1) throw new ArgumentException($"Translator: maxTargetLength must be at least 1, got {maxTargetLength}.", nameof(maxTargetLength));
        _sourceVocabulary = [.. sourceVocabulary];
        _targetVocabulary = [.. targetVocabulary];
        _sourceIndex = Index(_sourceVocabulary, "source", models.Config.SourceVocabularySize, requireMarkers: false);
        _targetIndex = Index(_targetVocabulary, "target", models.Config.TargetVocabularySize, requireMarkers: true);
        Models = models;
        SourceTokenizer = sourceTokenizer ?? new WordTokenizer(lowercase: true);
        TargetTokenizer = targetTokenizer ?? new WordTokenizer(frenchSpacing: true);
        MaxSourceLength = maxSourceLength;
        MaxTargetLength = maxTargetLength;
    }

    /// <summary>The encoder–decoder models.</summary>
    public Seq2SeqModels Models { get; }

    /// <summary>Source tokens by id.</summary>
    public IReadOnlyList<string> SourceVocabulary => _sourceVocabulary;

    /// <summary>Target tokens by id.</summary>
    public IReadOnlyList<string> TargetVocabulary => _targetVocabulary;

    /// <summary>The source tokenizer.</summary>
    public WordTokenizer SourceTokenizer { get; }

    /// <summary>The target tokenizer (also joins translations back into text).</summary>
    public WordTokenizer TargetTokenizer { get; }

    /// <summary>Source tokens read per sentence.</summary>
    public int MaxSourceLength { get; }

    /// <summary>Default largest number of produced tokens.</summary>
    public int MaxTargetLength { get; }

    /// <summary>
    /// Builds a translator for a corpus: tokenizes it, builds both vocabularies (tokens seen at least
    /// <paramref name="sourceMinFrequency"/> / <paramref name="targetMinFrequency"/> times, most frequent first) and
    /// the models of <paramref name="model"/> with those vocabulary sizes. The weights are untrained: call
    /// <see cref="Fit(IReadOnlyList{SentencePair}, IReadOnlyList{SentencePair}?, int, int, int, IEnumerable{Callbacks.Callback}?, int, int)"/>.
    /// </summary>
    /// <param name="pairs">Training pairs (source, target).</param>
    /// <param name="model">The architecture; its vocabulary sizes are replaced by those found here.</param>
    /// <param name="sourceTokenizer">Source tokenizer (default: lower-casing <see cref="WordTokenizer"/>).</param>
    /// <param name="targetTokenizer">Target tokenizer (default: case-keeping, French spacing).</param>
    /// <param name="sourceMinFrequency">Smallest count of a source token in the vocabulary (default 2).</param>
    /// <param name="targetMinFrequency">Smallest count of a target token in the vocabulary (default 2).</param>
    /// <param name="maxSourceTokens">Largest source vocabulary, padding and OOV included (default unlimited).</param>
    /// <param name="maxTargetTokens">Largest target vocabulary, padding, OOV, start and end included (default unlimited).</param>
    /// <param name="maxSourceLength">Source tokens read per sentence (default 50).</param>
    /// <param name="maxTargetLength">Largest number of produced tokens (default 50).</param>
    /// <returns>The untrained translator.</returns>
    /// <exception cref="ArgumentException">There are no pairs, or a setting is out of range.</exception>
    public static Translator Create(IEnumerable<(string Source, string Target)> pairs, Seq2SeqConfig model,
        WordTokenizer? sourceTokenizer = null, WordTokenizer? targetTokenizer = null, int sourceMinFrequency = 2, int targetMinFrequency = 2,
        int? maxSourceTokens = null, int? maxTargetTokens = null, int maxSourceLength = 50, int maxTargetLength = 50)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(model);
        sourceTokenizer ??= new WordTokenizer(lowercase: true);
        targetTokenizer ??= new WordTokenizer(frenchSpacing: true);
        var sourceCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        var targetCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        long count = 0;
        foreach (var (source, target) in pairs)
        {
            count++;
            foreach (var t in sourceTokenizer.Tokenize(source ?? "")) sourceCounts[t] = sourceCounts.GetValueOrDefault(t) + 1;
            foreach (var t in targetTokenizer.Tokenize(target ?? "")) targetCounts[t] = targetCounts.GetValueOrDefault(t) + 1;
        }
        if (count == 0) throw new ArgumentException("Translator.Create: the corpus has no sentence pairs.", nameof(pairs));
        var sourceVocabulary = BuildVocabulary(sourceCounts, sourceMinFrequency, maxSourceTokens, [], nameof(sourceMinFrequency));
        var targetVocabulary = BuildVocabulary(targetCounts, targetMinFrequency, maxTargetTokens, [StartToken, EndToken], nameof(targetMinFrequency));
        var config = model with { SourceVocabularySize = sourceVocabulary.Count, TargetVocabularySize = targetVocabulary.Count, OneHotInputs = false };
        return new Translator(Seq2SeqBuilder.Build(config), sourceVocabulary, targetVocabulary, sourceTokenizer, targetTokenizer, maxSourceLength, maxTargetLength);
    }

    /// <summary>Builds an untrained translator for a corpus (see the tuple overload for details).</summary>
    /// <param name="pairs">Training pairs, e.g. <c>split.Train</c> of a <see cref="ParallelCorpus"/>.</param>
    /// <param name="model">The architecture; its vocabulary sizes are replaced by those found here.</param>
    /// <param name="sourceTokenizer">Source tokenizer (default: lower-casing <see cref="WordTokenizer"/>).</param>
    /// <param name="targetTokenizer">Target tokenizer (default: case-keeping, French spacing).</param>
    /// <param name="sourceMinFrequency">Smallest count of a source token in the vocabulary (default 2).</param>
    /// <param name="targetMinFrequency">Smallest count of a target token in the vocabulary (default 2).</param>
    /// <param name="maxSourceTokens">Largest source vocabulary (default unlimited).</param>
    /// <param name="maxTargetTokens">Largest target vocabulary (default unlimited).</param>
    /// <param name="maxSourceLength">Source tokens read per sentence (default 50).</param>
    /// <param name="maxTargetLength">Largest number of produced tokens (default 50).</param>
    /// <returns>The untrained translator.</returns>
    public static Translator Create(IEnumerable<SentencePair> pairs, Seq2SeqConfig model,
        WordTokenizer? sourceTokenizer = null, WordTokenizer? targetTokenizer = null, int sourceMinFrequency = 2, int targetMinFrequency = 2,
        int? maxSourceTokens = null, int? maxTargetTokens = null, int maxSourceLength = 50, int maxTargetLength = 50)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return Create(pairs.Select(p => (p.Source, p.Target)), model, sourceTokenizer, targetTokenizer, sourceMinFrequency, targetMinFrequency,
            maxSourceTokens, maxTargetTokens, maxSourceLength, maxTargetLength);
    }

    /// <summary>
    /// A vocabulary in <c>TextVectorization</c>'s order: padding <c>""</c>, <c>[UNK]</c>, the reserved tokens, then
    /// tokens by decreasing count (ties in ordinal order), keeping those seen at least <paramref name="minFrequency"/> times.
    /// </summary>
    private static List<string> BuildVocabulary(Dictionary<string, long> counts, int minFrequency, int? maxTokens, string[] reserved, string argument)
    {
        if (minFrequency < 1) throw new ArgumentException($"Translator.Create: {argument} must be at least 1, got {minFrequency}.", argument);
        var vocabulary = new List<string> { "", UnknownToken };
        vocabulary.AddRange(reserved);
        if (maxTokens is { } max && max < vocabulary.Count + 1)
            throw new ArgumentException($"Translator.Create: a vocabulary needs room for padding, [UNK], the reserved tokens and at least one word ({vocabulary.Count + 1}); got {max}.");
        var reservedSet = new HashSet<string>(vocabulary, StringComparer.Ordinal);
        var words = counts.Where(kv => kv.Value >= minFrequency && !reservedSet.Contains(kv.Key))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        if (maxTokens is { } limit) words = words.Take(limit - vocabulary.Count);
        vocabulary.AddRange(words);
        return vocabulary;
    }

    private static Dictionary<string, int> Index(string[] vocabulary, string side, int expectedSize, bool requireMarkers)
    {
        if (vocabulary.Length != expectedSize)
            throw new ArgumentException($"Translator: the {side} vocabulary has {vocabulary.Length} tokens but the model's {side} vocabulary size is {expectedSize}.");
        if (vocabulary.Length < 2 || vocabulary[0] != "" || vocabulary[1] != UnknownToken)
            throw new ArgumentException($"Translator: the {side} vocabulary must start with the padding token \"\" and \"{UnknownToken}\"; it starts with [{string.Join(", ", vocabulary.Take(3).Select(t => $"\"{t}\""))}].");
        var index = new Dictionary<string, int>(vocabulary.Length, StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Length; i++)
        {
            var token = vocabulary[i] ?? throw new ArgumentException($"Translator: the {side} vocabulary has a null token at index {i}.");
            if (i > 0 && (token.Length == 0 || token.Any(char.IsWhiteSpace)))
                throw new ArgumentException($"Translator: the {side} vocabulary token at index {i} (\"{token}\") is empty or contains white space.");
            if (!index.TryAdd(token, i))
                throw new ArgumentException($"Translator: the {side} vocabulary lists \"{token}\" twice (indices {index[token]} and {i}).");
        }
        if (requireMarkers && (!index.ContainsKey(StartToken) || !index.ContainsKey(EndToken)))
            throw new ArgumentException($"Translator: the {side} vocabulary must contain \"{StartToken}\" and \"{EndToken}\".");
        return index;
    }

    /// <summary>Id of the target start token.</summary>
    public int StartId => _targetIndex[StartToken];

    /// <summary>Id of the target end token.</summary>
    public int EndId => _targetIndex[EndToken];

    /// <summary>
    /// Tokenizes and looks up a source sentence: unknown tokens become <c>[UNK]</c> (1), sentences longer than
    /// <see cref="MaxSourceLength"/> are truncated. What was changed is added to <paramref name="warnings"/>.
    /// </summary>
    /// <param name="sentence">The source sentence.</param>
    /// <param name="warnings">Receives warnings (default: discarded).</param>
    /// <returns>The token ids and the tokens read.</returns>
    public (int[] Ids, IReadOnlyList<string> Tokens) EncodeSource(string sentence, ICollection<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var tokens = SourceTokenizer.Tokenize(sentence);
        if (tokens.Count == 0) warnings?.Add("The sentence is empty.");
        if (tokens.Count > MaxSourceLength)
        {
            warnings?.Add($"The sentence has {tokens.Count} tokens; only the first {MaxSourceLength} were translated (MaxSourceLength).");
            tokens = tokens.Take(MaxSourceLength).ToList();
        }
        var ids = new int[tokens.Count];
        List<string>? unknown = null;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (_sourceIndex.TryGetValue(tokens[i], out var id)) ids[i] = id;
            else
            {
                ids[i] = 1;
                (unknown ??= []).Add(tokens[i]);
            }
        }
        if (unknown is not null) warnings?.Add($"Unknown words: {string.Join(", ", unknown.Distinct())}.");
        return (ids, tokens);
    }

    /// <summary>
    /// Tokenizes and looks up a target sentence for training: the decoder input <c>[start] w1 … wn</c> and the
    /// expected output <c>w1 … wn [end]</c> (unknown tokens are <c>[UNK]</c>; at most <see cref="MaxTargetLength"/>
    /// tokens, the end token included).
    /// </summary>
    /// <param name="sentence">The target sentence.</param>
    /// <returns>Decoder input and expected output, of equal length.</returns>
    public (int[] DecoderInput, int[] Expected) EncodeTarget(string sentence)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var tokens = TargetTokenizer.Tokenize(sentence);
        int n = Math.Min(tokens.Count, MaxTargetLength - 1);
        var input = new int[n + 1];
        var expected = new int[n + 1];
        input[0] = StartId;
        for (int i = 0; i < n; i++)
        {
            int id = _targetIndex.TryGetValue(tokens[i], out var v) ? v : 1;
            input[i + 1] = id;
            expected[i] = id;
        }
        expected[n] = EndId;
        return (input, expected);
    }

    /// <summary>
    /// Trains the teacher-forced model on sentence pairs. Batches hold sentences of similar length (less padding);
    /// their order is shuffled every epoch with <paramref name="seed"/>. Compiles the model first when it is not yet
    /// compiled: Adam (learning rate 1e-3) and sparse categorical cross-entropy on logits, masked over padding.
    /// </summary>
    /// <param name="training">Training pairs (source, target).</param>
    /// <param name="validation">Validation pairs (default none).</param>
    /// <param name="epochs">Index of the last epoch (default 10).</param>
    /// <param name="batchSize">Pairs per batch (default 64).</param>
    /// <param name="verbose">0 silent, 1 progress bar, 2 one line per epoch (default 1).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <param name="seed">Seed of the batch order (default 0).</param>
    /// <param name="initialEpoch">Epoch to resume from (default 0).</param>
    /// <returns>The training history (loss, and val_loss with validation data).</returns>
    /// <exception cref="ArgumentException">There are no training pairs, or a setting is out of range.</exception>
    public History Fit(IReadOnlyList<(string Source, string Target)> training, IReadOnlyList<(string Source, string Target)>? validation = null,
        int epochs = 10, int batchSize = 64, int verbose = 1, IEnumerable<Callback>? callbacks = null, int seed = 0, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (training.Count == 0) throw new ArgumentException("Translator.Fit: there are no training pairs.", nameof(training));
        if (batchSize < 1) throw new ArgumentException($"Translator.Fit: batchSize must be at least 1, got {batchSize}.", nameof(batchSize));
        EnsureCompiled();
        var trainBatches = new BucketedBatches(this, training, batchSize, shuffle: true, seed);
        var validationBatches = validation is { Count: > 0 } ? new BucketedBatches(this, validation, batchSize, shuffle: false, seed) : null;
        return Models.Training.Fit(trainBatches, epochs: epochs, verbose: verbose, callbacks: callbacks,
            validationData: validationBatches, initialEpoch: initialEpoch);
    }

    /// <summary>Trains on corpus pairs, e.g. the parts of a <see cref="ParallelCorpus.Split"/> (see the tuple overload).</summary>
    /// <param name="training">Training pairs.</param>
    /// <param name="validation">Validation pairs (default none).</param>
    /// <param name="epochs">Index of the last epoch (default 10).</param>
    /// <param name="batchSize">Pairs per batch (default 64).</param>
    /// <param name="verbose">0 silent, 1 progress bar, 2 one line per epoch (default 1).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <param name="seed">Seed of the batch order (default 0).</param>
    /// <param name="initialEpoch">Epoch to resume from (default 0).</param>
    /// <returns>The training history.</returns>
    public History Fit(IReadOnlyList<SentencePair> training, IReadOnlyList<SentencePair>? validation = null,
        int epochs = 10, int batchSize = 64, int verbose = 1, IEnumerable<Callback>? callbacks = null, int seed = 0, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(training);
        return Fit(training.Select(p => (p.Source, p.Target)).ToList(), validation?.Select(p => (p.Source, p.Target)).ToList(),
            epochs, batchSize, verbose, callbacks, seed, initialEpoch);
    }

    /// <summary>Teacher-forced loss of the model on sentence pairs (the compiled loss, masked over padding).</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="batchSize">Pairs per batch (default 64).</param>
    /// <returns>The mean loss.</returns>
    public double EvaluateLoss(IReadOnlyList<(string Source, string Target)> pairs, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        EnsureCompiled();
        return Models.Training.Evaluate(new BucketedBatches(this, pairs, batchSize, shuffle: false, 0), verbose: 0)["loss"];
    }

    /// <summary>Compiles the training model with the translator's defaults (Adam 1e-3, sparse categorical cross-entropy on
    /// logits) unless the caller compiled it already.</summary>
    private void EnsureCompiled()
    {
        if (!Models.Training.Compiled)
            Models.Training.Compile(optimizer: new Adam(learningRate: 1e-3), loss: new SparseCategoricalCrossentropy(fromLogits: true));
    }

    /// <summary>Batches of similar-length pairs as (inputs [source, decoder input], expected output) tensors.</summary>
    private sealed class BucketedBatches : IEnumerable<(ArrayLike X, ArrayLike Y)>
    {
        private readonly List<(int[] Source, int[] Input, int[] Expected)> _encoded;
        private readonly List<int[]> _batches;
        private readonly bool _shuffle;
        private readonly Random _random;

        public BucketedBatches(Translator translator, IReadOnlyList<(string Source, string Target)> pairs, int batchSize, bool shuffle, int seed)
        {
            _encoded = new List<(int[], int[], int[])>(pairs.Count);
            foreach (var (source, target) in pairs)
            {
                var ids = translator.EncodeSource(source ?? "").Ids;
                if (ids.Length == 0) ids = [1];
                var (input, expected) = translator.EncodeTarget(target ?? "");
                _encoded.Add((ids, input, expected));
            }
            // Sort by (target length, source length) with a random tie-break, then cut into batches.
            var random = new Random(seed);
            var order = Enumerable.Range(0, _encoded.Count)
                .Select(i => (i, key: (_encoded[i].Input.Length, _encoded[i].Source.Length, random.Next())))
                .OrderBy(p => p.key).Select(p => p.i).ToArray();
            _batches = order.Chunk(batchSize).ToList();
            _shuffle = shuffle;
            _random = new Random(seed + 1);
        }

        public IEnumerator<(ArrayLike X, ArrayLike Y)> GetEnumerator()
        {
            var batches = _batches.ToArray();
            if (_shuffle) _random.Shuffle(batches);
            foreach (var batch in batches)
            {
                int sourceLength = batch.Max(i => _encoded[i].Source.Length);
                int targetLength = batch.Max(i => _encoded[i].Input.Length);
                var source = new long[batch.Length, sourceLength];
                var input = new long[batch.Length, targetLength];
                var expected = new long[batch.Length, targetLength];
                for (int r = 0; r < batch.Length; r++)
                {
                    var (s, d, e) = _encoded[batch[r]];
                    for (int t = 0; t < s.Length; t++) source[r, t] = s[t];
                    for (int t = 0; t < d.Length; t++)
                    {
                        input[r, t] = d[t];
                        expected[r, t] = e[t];
                    }
                }
                yield return (ArrayLike.Of(source, input), expected);
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Translates one sentence.</summary>
    /// <param name="sentence">The source sentence.</param>
    /// <param name="options">Decoding settings (default greedy).</param>
    /// <returns>The translation.</returns>
    public Translation Translate(string sentence, TranslateOptions? options = null) => Translate([sentence], options)[0];

    /// <summary>
    /// Translates sentences in batches of similar length and returns one <see cref="Translation"/> per sentence, in
    /// input order. An empty sentence gives an empty translation with a warning; unknown words are read as
    /// <c>[UNK]</c>; sentences longer than <see cref="MaxSourceLength"/> tokens are truncated with a warning.
    /// </summary>
    /// <param name="sentences">The source sentences.</param>
    /// <param name="options">Decoding settings (default greedy).</param>
    /// <returns>The translations.</returns>
    /// <exception cref="ArgumentException">An option is out of range, or a sentence is null.</exception>
    public IReadOnlyList<Translation> Translate(IReadOnlyList<string> sentences, TranslateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        options ??= TranslateOptions.Greedy;
        options.Validate();
        int maxLength = options.MaxLength ?? MaxTargetLength;
        var encoded = new (int[] Ids, IReadOnlyList<string> Tokens, List<string> Warnings)[sentences.Count];
        for (int i = 0; i < sentences.Count; i++)
        {
            var s = sentences[i] ?? throw new ArgumentException($"Translator.Translate: sentence {i} is null.", nameof(sentences));
            var warnings = new List<string>();
            var (ids, tokens) = EncodeSource(s, warnings);
            encoded[i] = (ids, tokens, warnings);
        }
        var results = new Translation?[sentences.Count];
        var banned = new List<long> { 0, StartId };
        if (options.BanUnknown) banned.Add(1);
        var pending = Enumerable.Range(0, sentences.Count).Where(i => encoded[i].Ids.Length > 0)
            .OrderBy(i => encoded[i].Ids.Length).ToArray();
        foreach (var i in Enumerable.Range(0, sentences.Count).Where(i => encoded[i].Ids.Length == 0))
            results[i] = new Translation(sentences[i], "", [], [], 0, null, encoded[i].Warnings);
        using (torch.no_grad())
        {
            foreach (var batch in pending.Chunk(options.BatchSize))
            {
                using var scope = torch.NewDisposeScope();
                int length = batch.Max(i => encoded[i].Ids.Length);
                var source = new long[batch.Length, length];
                for (int r = 0; r < batch.Length; r++)
                    for (int t = 0; t < encoded[batch[r]].Ids.Length; t++) source[r, t] = encoded[batch[r]].Ids[t];
                var states = Models.Encode(torch.tensor(source));
                var decoded = options.Search switch
                {
                    "beam" => SequenceSearch.Beam(Models.Step, states, batch.Length, StartId, EndId, maxLength, options.BeamWidth, options.LengthPenalty, banned),
                    "sample" => SequenceSearch.Sample(Models.Step, states, batch.Length, StartId, EndId, maxLength, options.Temperature, options.Seed, banned),
                    _ => SequenceSearch.Greedy(Models.Step, states, batch.Length, StartId, EndId, maxLength, banned),
                };
                for (int r = 0; r < batch.Length; r++)
                {
                    int i = batch[r];
                    results[i] = ToTranslation(sentences[i], encoded[i].Tokens, encoded[i].Ids.Length, encoded[i].Warnings, decoded[r], maxLength);
                }
            }
        }
        return results.Select(r => r!).ToList();
    }

    private Translation ToTranslation(string sentence, IReadOnlyList<string> sourceTokens, int sourceLength, List<string> warnings,
        DecodedSequence decoded, int maxLength)
    {
        var ids = decoded.Tokens;
        int produced = ids.Length > 0 && ids[^1] == EndId ? ids.Length - 1 : ids.Length;
        if (produced == ids.Length) warnings.Add($"The translation was cut at {maxLength} tokens (no end token was produced).");
        var tokens = ids.Take(produced).Select(id => id >= 0 && id < _targetVocabulary.Length ? _targetVocabulary[id] : UnknownToken).ToList();
        float[,]? attention = null;
        if (decoded.Attention is { } a)
        {
            // Keep the rows of the produced tokens and the columns of this sentence's source (the batch is padded).
            attention = new float[produced, sourceLength];
            for (int t = 0; t < produced; t++)
                for (int s = 0; s < sourceLength; s++) attention[t, s] = a[t, s];
        }
        return new Translation(sentence, TargetTokenizer.Detokenize(tokens.Where(t => t != UnknownToken)), sourceTokens, tokens,
            decoded.LogProbability, attention, warnings);
    }

    /// <summary>
    /// Translates the sources and scores the translations with corpus BLEU against their references (several per
    /// source allowed), with the standard brevity penalty and sacreBLEU's 13a tokenization.
    /// </summary>
    /// <param name="test">Each source sentence with its reference translations.</param>
    /// <param name="options">Decoding settings (default greedy).</param>
    /// <returns>The BLEU score and the translations.</returns>
    public (Metrics.BleuScore Score, IReadOnlyList<Translation> Translations) EvaluateBleu(
        IReadOnlyList<(string Source, IReadOnlyList<string> References)> test, TranslateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        if (test.Count == 0) throw new ArgumentException("Translator.EvaluateBleu: there are no test sentences.", nameof(test));
        var translations = Translate(test.Select(t => t.Source).ToList(), options);
        var score = Metrics.Bleu.Corpus(translations.Select(t => t.Text).ToList(), test.Select(t => t.References).ToList());
        return (score, translations);
    }

    /// <summary>
    /// Translates each distinct source sentence of a corpus once and scores the translations with corpus BLEU against
    /// all of that sentence's targets as references.
    /// </summary>
    /// <param name="test">Test pairs, e.g. <c>split.Test</c>.</param>
    /// <param name="options">Decoding settings (default greedy).</param>
    /// <returns>The BLEU score and the translations (one per distinct source, in first-appearance order).</returns>
    public (Metrics.BleuScore Score, IReadOnlyList<Translation> Translations) EvaluateBleu(ParallelCorpus test, TranslateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        return EvaluateBleu(test.GroupBySource().Select(g => (g.Source, g.References)).ToList(), options);
    }

    /// <summary>Writes the attention heat map of a translation (source tokens × produced tokens) to a PNG file.</summary>
    /// <param name="translation">A translation from this translator's attention model.</param>
    /// <param name="path">The PNG file.</param>
    /// <exception cref="ArgumentException">The translation has no attention weights (the model has no attention, or nothing was produced).</exception>
    public static void SaveAttentionMap(Translation translation, string path)
    {
        ArgumentNullException.ThrowIfNull(translation);
        if (translation.Attention is null)
            throw new ArgumentException("Translator.SaveAttentionMap: the translation has no attention weights (the model was built without attention, or the sentence was empty).", nameof(translation));
        if (translation.TargetTokens.Count == 0)
            throw new ArgumentException($"Translator.SaveAttentionMap: nothing was produced for \"{translation.Source}\"; there is no attention to draw.", nameof(translation));
        AttentionHeatmap.SavePng(path, translation.Attention, translation.SourceTokens, translation.TargetTokens, title: translation.Text);
    }

    /// <summary>
    /// Saves the translator to one <c>.keras</c> file: the teacher-forced training model (config and weights, as
    /// Keras writes them) plus <c>assets/translator/</c> with both vocabularies (one token per line) and the
    /// tokenizer and model settings. A failed save leaves an existing file untouched.
    /// </summary>
    /// <param name="path">The file to write (<c>.keras</c>).</param>
    /// <param name="overwrite">Replace an existing file (default <c>true</c>).</param>
    /// <exception cref="ArgumentException">The path does not end in <c>.keras</c>.</exception>
    public void Save(string path, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"Translator.Save: the file name must end in .keras, got '{path}'.", nameof(path));
        using var buffer = new MemoryStream();
        // Weights only: the optimizer's moments would triple the file and Load does not restore them.
        KerasArchive.Write(Models.Training, buffer, includeOptimizer: false);
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            WriteText(zip, SettingsEntry, SettingsJson());
            WriteText(zip, SourceVocabularyEntry, VocabularyText(_sourceVocabulary));
            WriteText(zip, TargetVocabularyEntry, VocabularyText(_targetVocabulary));
        }
        AtomicFile.Write(path, overwrite, stream => stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteText(ZipArchive zip, string name, string text)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var s = entry.Open();
        s.Write(new UTF8Encoding(false).GetBytes(text));
    }

    // The padding token is the empty first line; every other token is one line.
    private static string VocabularyText(string[] vocabulary) => string.Join("\n", vocabulary) + "\n";

    private string SettingsJson()
    {
        var c = Models.Config;
        var root = new JsonObject
        {
            ["format"] = "keras_rnn.translator",
            ["version"] = FormatVersion,
            ["model"] = new JsonObject
            {
                ["source_vocabulary_size"] = c.SourceVocabularySize,
                ["target_vocabulary_size"] = c.TargetVocabularySize,
                ["cell"] = c.Cell,
                ["embedding_dim"] = c.EmbeddingDim,
                ["units"] = c.Units,
                ["layers"] = c.Layers,
                ["bidirectional_encoder"] = c.BidirectionalEncoder,
                ["attention"] = c.Attention,
                ["attention_hidden_units"] = c.AttentionHiddenUnits,
                ["dropout"] = c.Dropout,
            },
            ["source_tokenizer"] = TokenizerJson(SourceTokenizer),
            ["target_tokenizer"] = TokenizerJson(TargetTokenizer),
            ["max_source_length"] = MaxSourceLength,
            ["max_target_length"] = MaxTargetLength,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static JsonObject TokenizerJson(WordTokenizer t) => new()
    {
        ["lowercase"] = t.Lowercase,
        ["split_elisions"] = t.SplitElisions,
        ["split_hyphens"] = t.SplitHyphens,
        ["french_spacing"] = t.FrenchSpacing,
        ["punctuation"] = t.Punctuation,
    };

    /// <summary>
    /// Loads a translator saved by <see cref="Save"/>: rebuilds the encoder and step decoder from the saved settings,
    /// loads the weights and the vocabularies.
    /// </summary>
    /// <param name="path">The <c>.keras</c> file.</param>
    /// <returns>The translator.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="KerasFileException">The file is not a translator, or its parts do not fit together.</exception>
    public static Translator Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Translator.Load: no file at '{path}'.", path);
        string settingsText, sourceText, targetText;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            settingsText = ReadEntry(zip, SettingsEntry, path);
            sourceText = ReadEntry(zip, SourceVocabularyEntry, path);
            targetText = ReadEntry(zip, TargetVocabularyEntry, path);
        }
        catch (InvalidDataException e)
        {
            throw new KerasFileException(path, $"'{path}' is not a readable .keras archive (zip): {e.Message}", e);
        }
        JsonObject settings;
        try
        {
            settings = JsonNode.Parse(settingsText) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new KerasFileException(path, $"'{path}': {SettingsEntry} is not valid JSON: {e.Message}", e);
        }
        try
        {
            if ((string?)settings["format"] != "keras_rnn.translator" || (int?)settings["version"] is not FormatVersion)
                throw new KerasFileException(path, $"'{path}': {SettingsEntry} is not a version-{FormatVersion} Keras.Rnn translator description.");
            var m = settings["model"] as JsonObject ?? throw new KerasFileException(path, $"'{path}': {SettingsEntry} has no \"model\".");
            var config = new Seq2SeqConfig
            {
                SourceVocabularySize = (int)m["source_vocabulary_size"]!,
                TargetVocabularySize = (int)m["target_vocabulary_size"]!,
                Cell = (string)m["cell"]!,
                EmbeddingDim = (int)m["embedding_dim"]!,
                Units = (int)m["units"]!,
                Layers = (int)m["layers"]!,
                BidirectionalEncoder = (bool)m["bidirectional_encoder"]!,
                Attention = (string)m["attention"]!,
                AttentionHiddenUnits = (int?)m["attention_hidden_units"],
                Dropout = (double)m["dropout"]!,
            };
            config.Validate();
            var sourceVocabulary = ParseVocabulary(sourceText);
            var targetVocabulary = ParseVocabulary(targetText);
            if (sourceVocabulary.Count != config.SourceVocabularySize || targetVocabulary.Count != config.TargetVocabularySize)
                throw new KerasFileException(path,
                    $"'{path}': the vocabularies have {sourceVocabulary.Count} source and {targetVocabulary.Count} target tokens, but the model was built for {config.SourceVocabularySize} and {config.TargetVocabularySize}.");
            var models = Seq2SeqBuilder.Build(config);
            var saved = Model.Load(path, compile: false);
            // Match weights by path (layer/weight): the saved config may list layers in another order.
            var savedWeights = saved.Weights.ToDictionary(w => w.Path, StringComparer.Ordinal);
            var weights = models.Training.Weights;
            if (savedWeights.Count != weights.Count)
                throw new KerasFileException(path, $"'{path}': the saved model has {savedWeights.Count} weights; a model built from its settings has {weights.Count}.");
            foreach (var weight in weights)
            {
                if (!savedWeights.TryGetValue(weight.Path, out var savedWeight))
                    throw new KerasFileException(path, $"'{path}': the saved model has no weight '{weight.Path}' (it has {string.Join(", ", savedWeights.Keys.Take(8))}, ...).");
                if (!savedWeight.Shape.SequenceEqual(weight.Shape))
                    throw new KerasFileException(path,
                        $"'{path}': weight '{weight.Path}' has shape ({string.Join(", ", savedWeight.Shape)}); the settings give ({string.Join(", ", weight.Shape)}).");
                weight.Assign(savedWeight.Value);
            }
            return new Translator(models, sourceVocabulary, targetVocabulary, Tokenizer(settings["source_tokenizer"], path),
                Tokenizer(settings["target_tokenizer"], path), (int)settings["max_source_length"]!, (int)settings["max_target_length"]!);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or NullReferenceException or JsonException
                                      && e is not KerasFileException)
        {
            throw new KerasFileException(path, $"'{path}' is not a consistent Keras.Rnn translator: {e.Message}", e);
        }
    }

    private static WordTokenizer Tokenizer(JsonNode? node, string path)
    {
        if (node is not JsonObject t) throw new KerasFileException(path, $"'{path}': {SettingsEntry} lacks a tokenizer description.");
        return new WordTokenizer((bool)t["lowercase"]!, (bool)t["split_elisions"]!, (bool)t["split_hyphens"]!, (bool)t["french_spacing"]!,
            (string)t["punctuation"]!);
    }

    private static List<string> ParseVocabulary(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private static string ReadEntry(ZipArchive zip, string name, string path)
    {
        var entry = zip.GetEntry(name)
                    ?? throw new KerasFileException(path,
                        $"'{path}' is not a Keras.Rnn translator: it has no '{name}' entry (a plain Keras model? load it with Model.Load).");
        if (entry.Length > 64L << 20) throw new KerasFileException(path, $"'{path}': the entry '{name}' is {entry.Length} bytes; at most 64 MiB are accepted.");
        using var reader = new StreamReader(entry.Open(), new UTF8Encoding(false, true));
        return reader.ReadToEnd();
    }
}
