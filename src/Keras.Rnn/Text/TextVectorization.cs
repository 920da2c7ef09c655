using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Saving;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Text;

/// <summary>
/// Maps texts to sequences of token ids (Keras' <c>keras.layers.TextVectorization</c>): each text is standardised
/// (<see cref="TextStandardization"/>), split into tokens (<see cref="TextSplitting"/>), and every token is looked up
/// in a vocabulary learned by <see cref="Adapt"/> or given with <c>vocabulary</c> / <see cref="SetVocabulary"/>.
/// In <c>"int"</c> mode, id 0 is padding (the empty token <c>""</c>), id 1 stands for every token outside the
/// vocabulary (<c>"[UNK]"</c>), and the learned tokens follow from id 2, most frequent first.
/// </summary>
/// <remarks>
/// <para><b>Strings, not tensors.</b> Our tensors hold numbers, so the layer works on .NET strings: call
/// <see cref="Vectorize"/> (a padded int64 tensor), <see cref="VectorizeRagged"/> or <see cref="Encode"/> and feed
/// the ids to the model (an <see cref="Embedding"/> with <c>maskZero: true</c>). Calling the layer on tensors, or
/// on symbolic tensors in a functional graph, raises an error saying so.</para>
/// <para><b>Vocabulary order</b> (Keras' <c>IndexLookup.finalize_state</c>): tokens sorted by decreasing count,
/// ties broken by the tokens themselves in decreasing order of their Unicode code points (Keras sorts the UTF-8
/// bytes and reverses); <c>maxTokens</c> keeps the first <c>maxTokens - 2</c> (<c>"int"</c> mode). Extensions:
/// <c>minFrequency</c> drops tokens seen fewer times before the cut, and <c>specialTokens</c> (such as
/// <c>[start]</c> and <c>[end]</c>) are protected from standardisation and splitting — wherever they occur in a
/// text they become exactly one token — and always occupy the ids right after <c>[UNK]</c>, in the order given.</para>
/// <para><b>Saving.</b> The layer is part of a model when the model tracks it: it has no weights, and its config
/// (Keras' keys) plus its vocabulary go into <c>.keras</c> archives. A vocabulary passed to the constructor is part
/// of the config, as in Keras; an adapted one is written as the asset <c>assets/&lt;key&gt;/vocabulary.txt</c> (one
/// token per line, padding and OOV tokens first; also under <c>_lookup_layer/</c>, where Keras' inner
/// <c>StringLookup</c> keeps its copy) and read back by <see cref="Models.Model.Load"/> (see
/// <see cref="IHasAssets"/>). Since the layer is not called inside a graph, keep it in a subclassed
/// <see cref="Models.Model"/> that tracks it (<c>TrackLayer</c>) and lists it in its config, for example a model
/// holding the training model and the source and target vectorisers; register that class's factory
/// (<see cref="KerasObjects.RegisterLayer{T}(string, Func{IReadOnlyDictionary{string, object?}, T})"/>) and rebuild
/// the layers with <see cref="KerasObjects.DeserializeLayer"/>.</para>
/// <para>Output modes <c>"int"</c>, <c>"multi_hot"</c> and <c>"count"</c> are supported (the latter two give
/// float32 <c>(batch, vocabulary)</c> counts with the OOV token at index 0 and no padding index, as in Keras);
/// <c>"one_hot"</c>, <c>"tf_idf"</c>, n-grams, sparse and ragged tensor outputs are not.</para>
/// </remarks>
/// <example>
/// <code>
/// var source = new TextVectorization(maxTokens: 15000, outputSequenceLength: 20);
/// source.Adapt(pairs.Select(p =&gt; p.Source));
/// var target = new TextVectorization(maxTokens: 15000, outputSequenceLength: 21, specialTokens: ["[start]", "[end]"]);
/// target.Adapt(pairs.Select(p =&gt; "[start] " + p.Target + " [end]"));
/// Tensor ids = source.Vectorize(["Hello!", "How are you?"]);   // int64 (2, 20), zero-padded
/// long start = target.TokenToId("[start]");                     // 2
/// </code>
/// </example>
public sealed class TextVectorization : Layer, IHasAssets
{
    /// <summary>The padding (mask) token, id 0 in <c>"int"</c> mode.</summary>
    public const string PaddingToken = "";

    /// <summary>The out-of-vocabulary token.</summary>
    public const string OovToken = "[UNK]";

    /// <summary>The asset file holding an adapted vocabulary, one token per line (Keras' name).</summary>
    public const string VocabularyFileName = "vocabulary.txt";

    /// <summary>Largest vocabulary file <see cref="LoadAssets"/> reads.</summary>
    internal const long MaxVocabularyFileBytes = 256L << 20;

    // Python's str.splitlines() boundaries: tokens containing them cannot be stored one per line.
    private static readonly char[] LineBoundaries = ['\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029'];

    private readonly Func<string, string> _standardize;
    private readonly Func<string, IReadOnlyList<string>> _split;
    private readonly string[] _specialTokensByLength;
    private readonly char[] _specialFirstChars;
    private List<string>? _inputVocabulary;
    private List<string> _tokens = [];
    private Dictionary<string, long> _index = new(StringComparer.Ordinal);

    /// <summary>Creates the layer.</summary>
    /// <param name="maxTokens">Largest vocabulary size, padding and OOV tokens included (default <c>null</c>: no limit); more than 1.</param>
    /// <param name="standardize">A name from <see cref="TextStandardization"/> (default Keras'
    /// <c>"lower_and_strip_punctuation"</c>; also <c>"lower"</c>, <c>"strip_punctuation"</c>, the two ready-made
    /// translation ones, or a registered custom function), or <c>null</c> for none.</param>
    /// <param name="split">A name from <see cref="TextSplitting"/> (default <c>"whitespace"</c>; also
    /// <c>"character"</c> or a registered function), or <c>null</c> to keep each text as one token.</param>
    /// <param name="outputMode"><c>"int"</c> (default), <c>"multi_hot"</c> (Keras' old name <c>"binary"</c>) or <c>"count"</c>.</param>
    /// <param name="outputSequenceLength">In <c>"int"</c> mode, pad (with 0, at the end) or truncate (keeping the
    /// first tokens) every sequence to this length (default <c>null</c>: pad to the longest text of the batch).</param>
    /// <param name="padToMaxTokens">In <c>"multi_hot"</c>/<c>"count"</c> mode, make the output <c>maxTokens</c> wide (default <c>false</c>).</param>
    /// <param name="vocabulary">A fixed vocabulary (default <c>null</c>: call <see cref="Adapt"/>); it may start with
    /// the padding and OOV tokens. Stored in the config; the layer cannot be adapted then.</param>
    /// <param name="minFrequency">Extension: <see cref="Adapt"/> keeps only tokens seen at least this many times (default 1).</param>
    /// <param name="specialTokens">Extension: tokens kept intact by standardisation and splitting and reserved at
    /// the ids after <c>[UNK]</c> (default none), e.g. <c>["[start]", "[end]"]</c>.</param>
    /// <param name="name">Layer name (default <c>text_vectorization</c>, made unique).</param>
    /// <exception cref="ArgumentException">An unknown standardize/split/output mode, <c>maxTokens</c> ≤ 1 or too small
    /// for the reserved tokens, a negative sequence length, a sequence length outside <c>"int"</c> mode,
    /// <c>padToMaxTokens</c> without <c>maxTokens</c>, <c>minFrequency</c> &lt; 1, empty or repeated special tokens, or an
    /// invalid vocabulary (see <see cref="SetVocabulary"/>).</exception>
    public TextVectorization(int? maxTokens = null, string? standardize = TextStandardization.LowerAndStripPunctuation,
        string? split = TextSplitting.Whitespace, string outputMode = "int", int? outputSequenceLength = null, bool padToMaxTokens = false,
        IEnumerable<string>? vocabulary = null, int minFrequency = 1, IEnumerable<string>? specialTokens = null, string? name = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(outputMode);
        outputMode = outputMode switch
        {
            "binary" => "multi_hot",
            "tf-idf" => "tf_idf",
            _ => outputMode,
        };
        if (outputMode is "one_hot" or "tf_idf")
            throw new ArgumentException($"TextVectorization: output_mode '{outputMode}' is not supported; use \"int\", \"multi_hot\" or \"count\".", nameof(outputMode));
        if (outputMode is not ("int" or "multi_hot" or "count"))
            throw new ArgumentException($"TextVectorization: invalid value for argument `output_mode`. Expected one of \"int\", \"multi_hot\", \"count\". Received: output_mode={outputMode}", nameof(outputMode));
        if (maxTokens is <= 1)
            throw new ArgumentException($"TextVectorization: if set, `max_tokens` must be greater than 1. Received: max_tokens={maxTokens}", nameof(maxTokens));
        if (outputSequenceLength is < 0)
            throw new ArgumentException($"TextVectorization: `output_sequence_length` must be null or a non-negative integer. Received: output_sequence_length={outputSequenceLength}", nameof(outputSequenceLength));
        if (outputMode != "int" && outputSequenceLength is not null)
            throw new ArgumentException($"TextVectorization: `output_sequence_length` must not be set if `output_mode` is not 'int'. Received output_sequence_length={outputSequenceLength}.", nameof(outputSequenceLength));
        if (padToMaxTokens && maxTokens is null)
            throw new ArgumentException("TextVectorization: if pad_to_max_tokens is true, max_tokens must be set.", nameof(padToMaxTokens));
        if (minFrequency < 1)
            throw new ArgumentException($"TextVectorization: `min_frequency` must be at least 1. Received: min_frequency={minFrequency}", nameof(minFrequency));
        if (standardize is not null && !TextStandardization.IsKnown(standardize))
            TextStandardization.Resolve(standardize); // throws the descriptive error
        if (split is not null && !TextSplitting.IsKnown(split))
            TextSplitting.Resolve(split);

        var specials = specialTokens?.ToList() ?? [];
        foreach (var t in specials)
        {
            if (string.IsNullOrEmpty(t))
                throw new ArgumentException("TextVectorization: special tokens must be non-empty strings.", nameof(specialTokens));
            if (t == OovToken)
                throw new ArgumentException($"TextVectorization: '{OovToken}' is the OOV token already; do not list it in special tokens.", nameof(specialTokens));
            if (t.IndexOfAny(LineBoundaries) >= 0)
                throw new ArgumentException($"TextVectorization: special token \"{t}\" contains a line break.", nameof(specialTokens));
        }
        if (specials.Distinct(StringComparer.Ordinal).Count() != specials.Count)
            throw new ArgumentException($"TextVectorization: special tokens repeat: [{string.Join(", ", specials)}].", nameof(specialTokens));

        MaxTokens = maxTokens;
        Standardize = standardize;
        Split = split;
        OutputMode = outputMode;
        OutputSequenceLength = outputSequenceLength;
        PadToMaxTokens = padToMaxTokens;
        MinFrequency = minFrequency;
        SpecialTokens = specials;
        if (maxTokens is { } m && TokenStart + specials.Count > m)
            throw new ArgumentException(
                $"TextVectorization: max_tokens={m} leaves no room for the {TokenStart} padding/OOV token(s) and the {specials.Count} special token(s).", nameof(maxTokens));
        _standardize = TextStandardization.Resolve(standardize);
        _split = TextSplitting.Resolve(split);
        _specialTokensByLength = specials.OrderByDescending(t => t.Length).ToArray();
        _specialFirstChars = specials.Select(t => t[0]).Distinct().ToArray();

        if (vocabulary is not null)
        {
            var given = vocabulary.ToList();
            SetVocabularyCore(given, nameof(vocabulary));
            _inputVocabulary = given;
        }
    }

    /// <summary>Largest vocabulary size (padding and OOV included), or <c>null</c>.</summary>
    public int? MaxTokens { get; }

    /// <summary>The standardisation's name (<see cref="TextStandardization"/>), or <c>null</c> for none.</summary>
    public string? Standardize { get; }

    /// <summary>The split's name (<see cref="TextSplitting"/>), or <c>null</c> for none.</summary>
    public string? Split { get; }

    /// <summary><c>"int"</c>, <c>"multi_hot"</c> or <c>"count"</c>.</summary>
    public string OutputMode { get; }

    /// <summary>Fixed output length in <c>"int"</c> mode, or <c>null</c>.</summary>
    public int? OutputSequenceLength { get; }

    /// <summary>Whether <c>"multi_hot"</c>/<c>"count"</c> outputs are <see cref="MaxTokens"/> wide.</summary>
    public bool PadToMaxTokens { get; }

    /// <summary>Smallest count for a token to enter the vocabulary in <see cref="Adapt"/>.</summary>
    public int MinFrequency { get; }

    /// <summary>Tokens protected from standardisation and splitting, at ids <see cref="TokenStart"/>, <see cref="TokenStart"/> + 1, ...</summary>
    public IReadOnlyList<string> SpecialTokens { get; }

    /// <summary>The padding id: 0 in <c>"int"</c> mode (no padding id in the other modes, where 0 is the OOV index).</summary>
    public long PaddingId => 0;

    /// <summary>The id of out-of-vocabulary tokens: 1 in <c>"int"</c> mode, 0 otherwise.</summary>
    public long OovId => OutputMode == "int" ? 1 : 0;

    /// <summary>The id of the first vocabulary token: 2 in <c>"int"</c> mode, 1 otherwise.</summary>
    public int TokenStart => OutputMode == "int" ? 2 : 1;

    /// <summary>Whether the layer has a vocabulary (adapted on some tokens, or set).</summary>
    public bool HasVocabulary => _tokens.Count > 0;

    /// <summary>The vocabulary size, padding and OOV tokens included (Keras' <c>vocabulary_size()</c>): the output
    /// dimension an <see cref="Embedding"/> of the ids needs.</summary>
    public int VocabularySize => TokenStart + _tokens.Count;

    /// <summary>The config's <c>vocabulary_size</c> when loaded from a file: checked against the vocabulary asset.</summary>
    internal int? ExpectedVocabularySize { get; set; }

    /// <summary>
    /// The vocabulary, in id order (Keras' <c>get_vocabulary</c>): <c>["", "[UNK]", tokens...]</c> in <c>"int"</c>
    /// mode, <c>["[UNK]", tokens...]</c> otherwise.
    /// </summary>
    /// <param name="includeSpecialTokens">Whether to include the padding and OOV tokens (default <c>true</c>); without
    /// them, a token's position is its id minus <see cref="TokenStart"/>. Special tokens are vocabulary tokens and
    /// always included.</param>
    public IReadOnlyList<string> GetVocabulary(bool includeSpecialTokens = true)
    {
        var result = new List<string>(_tokens.Count + 2);
        if (includeSpecialTokens)
        {
            if (OutputMode == "int") result.Add(PaddingToken);
            result.Add(OovToken);
        }
        result.AddRange(_tokens);
        return result;
    }

    /// <summary>
    /// Learns the vocabulary from <paramref name="texts"/> (Keras' <c>adapt</c>), replacing any previous one: every
    /// text is standardised and split, tokens are counted, and the vocabulary is ordered as described in the remarks
    /// of <see cref="TextVectorization"/>.
    /// </summary>
    /// <param name="texts">The texts (streamed once).</param>
    /// <exception cref="InvalidOperationException">The layer was created with a fixed <c>vocabulary</c> (as in Keras).</exception>
    /// <exception cref="ArgumentException">A text is <c>null</c>.</exception>
    public void Adapt(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (_inputVocabulary is not null)
            throw new InvalidOperationException(
                $"Cannot adapt layer '{Name}' after setting a static vocabulary via the `vocabulary` argument. Create the layer without one, or call SetVocabulary.");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long index = 0;
        foreach (var text in texts)
        {
            if (text is null) throw new ArgumentException($"TextVectorization '{Name}': text {index} passed to Adapt is null.", nameof(texts));
            foreach (var token in Tokenize(text))
                CollectionsMarshal.GetValueRefOrAddDefault(counts, token, out _)++;
            index++;
        }
        counts.Remove(PaddingToken);
        counts.Remove(OovToken);
        foreach (var special in SpecialTokens) counts.Remove(special);

        var learned = counts.Where(kv => kv.Value >= MinFrequency).ToList();
        learned.Sort((a, b) =>
        {
            int byCount = b.Value.CompareTo(a.Value);
            return byCount != 0 ? byCount : TextSplitting.CompareCodePoints(b.Key, a.Key);
        });
        int room = MaxTokens is { } m ? m - TokenStart - SpecialTokens.Count : int.MaxValue;
        var tokens = new List<string>(SpecialTokens);
        tokens.AddRange(learned.Take(room).Select(kv => kv.Key));
        Install(tokens);
    }

    /// <summary>
    /// Sets the vocabulary directly (Keras' <c>set_vocabulary</c>), replacing any previous one. The list may start
    /// with the padding and OOV tokens (<c>"", "[UNK]"</c> in <c>"int"</c> mode, <c>"[UNK]"</c> otherwise), as
    /// <see cref="GetVocabulary"/> returns it, or hold the tokens only. Special tokens missing from it are inserted
    /// after the OOV token.
    /// </summary>
    /// <param name="vocabulary">The tokens in id order.</param>
    /// <exception cref="ArgumentException">The list is empty, repeats a token, holds the padding token <c>""</c>
    /// elsewhere than first, holds a <c>null</c>, or exceeds <see cref="MaxTokens"/>.</exception>
    public void SetVocabulary(IEnumerable<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        SetVocabularyCore(vocabulary.ToList(), nameof(vocabulary));
        _inputVocabulary = null; // from now on the vocabulary is saved as an asset
    }

    /// <summary>Reads a vocabulary file — one token per line, as <see cref="SaveAssets"/> and Keras write it — and sets it.</summary>
    /// <param name="path">The file (UTF-8).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not UTF-8 text or is too large.</exception>
    /// <exception cref="ArgumentException">The vocabulary is invalid (see <see cref="SetVocabulary"/>).</exception>
    public void SetVocabularyFromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SetVocabulary(ReadVocabularyFile(path));
    }

    private void SetVocabularyCore(List<string> vocabulary, string argument)
    {
        if (vocabulary.Count == 0)
            throw new ArgumentException($"TextVectorization '{Name}': cannot set an empty vocabulary.", argument);
        for (int i = 0; i < vocabulary.Count; i++)
            if (vocabulary[i] is null)
                throw new ArgumentException($"TextVectorization '{Name}': vocabulary entry {i} is null.", argument);
        string[] reserved = OutputMode == "int" ? [PaddingToken, OovToken] : [OovToken];
        bool hasReserved = vocabulary.Count >= reserved.Length && reserved.Select((t, i) => vocabulary[i] == t).All(b => b);
        var tokens = hasReserved ? vocabulary.Skip(reserved.Length).ToList() : vocabulary;

        var repeated = tokens.GroupBy(t => t, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"\"{g.Key}\"").ToList();
        if (repeated.Count > 0)
            throw new ArgumentException(
                $"TextVectorization '{Name}': the vocabulary has at least one repeated term. Please uniquify it. The repeated terms are: [{string.Join(", ", repeated.Take(20))}].", argument);
        int mask = tokens.IndexOf(PaddingToken);
        if (mask >= 0)
            throw new ArgumentException(
                $"TextVectorization '{Name}': found the reserved padding token \"\" at vocabulary index {mask + (hasReserved ? reserved.Length : 0)}. " +
                $"The vocabulary need not include the padding and OOV tokens; include them only at its start, in this order: [{string.Join(", ", reserved.Select(r => $"\"{r}\""))}].", argument);

        var missing = SpecialTokens.Where(s => !tokens.Contains(s, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0) tokens = [.. missing, .. tokens];
        if (MaxTokens is { } m && TokenStart + tokens.Count > m)
            throw new ArgumentException(
                $"TextVectorization '{Name}': attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary size is {TokenStart + tokens.Count}; `max_tokens` is {m}.", argument);
        Install(tokens);
    }

    private void Install(List<string> tokens)
    {
        var index = new Dictionary<string, long>(tokens.Count, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++) index.TryAdd(tokens[i], TokenStart + i);
        _tokens = tokens;
        _index = index;
    }

    /// <summary>The tokens of one text after standardisation and splitting (special tokens kept whole), before lookup.</summary>
    /// <param name="text">The text.</param>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_specialTokensByLength.Length == 0) return _split(_standardize(text));

        var parts = new List<(string Text, bool Special)>();
        int start = 0;
        for (int i = text.IndexOfAny(_specialFirstChars); i >= 0 && i < text.Length;)
        {
            string? found = null;
            foreach (var s in _specialTokensByLength)
            {
                if (s.Length <= text.Length - i && text.AsSpan(i, s.Length).SequenceEqual(s))
                {
                    found = s;
                    break;
                }
            }
            if (found is null)
            {
                i = i + 1 < text.Length ? text.IndexOfAny(_specialFirstChars, i + 1) : -1;
                continue;
            }
            if (i > start) parts.Add((text[start..i], false));
            parts.Add((found, true));
            i += found.Length;
            start = i;
            if (i < text.Length) i = text.IndexOfAny(_specialFirstChars, i);
        }
        if (start < text.Length || parts.Count == 0) parts.Add((text[start..], false));

        if (Split is null)
            return [string.Concat(parts.Select(p => p.Special ? p.Text : _standardize(p.Text)))];
        var tokens = new List<string>();
        foreach (var (part, special) in parts)
        {
            if (special) tokens.Add(part);
            else tokens.AddRange(_split(_standardize(part)));
        }
        return tokens;
    }

    /// <summary>The id of a vocabulary token (no standardisation): <c>""</c> → 0, unknown tokens → <see cref="OovId"/>.</summary>
    /// <param name="token">The token.</param>
    public long TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0) return 0;
        return _index.TryGetValue(token, out var id) ? id : OovId;
    }

    /// <summary>The token of an id (<see cref="GetVocabulary"/>[id]).</summary>
    /// <param name="id">The id, from 0 to <see cref="VocabularySize"/> - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside the vocabulary.</exception>
    public string IdToToken(long id)
    {
        if (id < 0 || id >= VocabularySize)
            throw new ArgumentOutOfRangeException(nameof(id), id,
                $"TextVectorization '{Name}': id {id} is outside the vocabulary (ids 0 to {VocabularySize - 1}).");
        if (OutputMode == "int")
            return id switch { 0 => PaddingToken, 1 => OovToken, _ => _tokens[(int)id - 2] };
        return id == 0 ? OovToken : _tokens[(int)id - 1];
    }

    /// <summary>
    /// Turns ids back into text: tokens joined by <paramref name="separator"/>, padding ids (0 in <c>"int"</c>
    /// mode) skipped, OOV ids written as <c>[UNK]</c>.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <param name="separator">Between tokens (default: <c>""</c> for <c>"character"</c> splitting, else a space).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<long> ids, string? separator = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        separator ??= Split == TextSplitting.Character ? "" : " ";
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (OutputMode == "int" && id == 0) continue;
            tokens.Add(IdToToken(id));
        }
        return string.Join(separator, tokens);
    }

    private void EnsureVocabulary()
    {
        if (!HasVocabulary)
            throw new InvalidOperationException(
                $"TextVectorization '{Name}' has no vocabulary yet: call Adapt(texts) on training texts, or SetVocabulary(tokens), before vectorizing. " +
                "(A vocabulary adapted on texts without any token is empty too.)");
    }

    private long[] Lookup(string text)
    {
        var tokens = Tokenize(text);
        var ids = new long[tokens.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = TokenToId(tokens[i]);
        return ids;
    }

    private static void CheckTexts(IReadOnlyList<string> texts, string layer)
    {
        ArgumentNullException.ThrowIfNull(texts);
        for (int i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"TextVectorization '{layer}': text {i} is null.", nameof(texts));
    }

    /// <summary>The ids of one text (<c>"int"</c> mode), truncated to <see cref="OutputSequenceLength"/> when set but not padded.</summary>
    /// <param name="text">The text.</param>
    /// <exception cref="InvalidOperationException">No vocabulary yet, or not <c>"int"</c> mode.</exception>
    public long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        EnsureIntMode(nameof(Encode));
        EnsureVocabulary();
        var ids = Lookup(text);
        return OutputSequenceLength is { } n && ids.Length > n ? ids[..n] : ids;
    }

    /// <summary>
    /// The ids of each text without padding (Keras' <c>ragged=True</c>, <c>"int"</c> mode): one array per text,
    /// truncated to <see cref="OutputSequenceLength"/> when set.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <exception cref="InvalidOperationException">No vocabulary yet, or not <c>"int"</c> mode.</exception>
    /// <exception cref="ArgumentException">A text is <c>null</c>.</exception>
    public IReadOnlyList<long[]> VectorizeRagged(IReadOnlyList<string> texts)
    {
        CheckTexts(texts, Name);
        EnsureIntMode(nameof(VectorizeRagged));
        EnsureVocabulary();
        return texts.Select(Encode).ToList();
    }

    /// <summary>
    /// Vectorises a batch of texts (Keras' <c>layer(texts)</c>). In <c>"int"</c> mode: an int64 CPU tensor
    /// <c>(batch, length)</c> of ids, padded with 0 at the end; <c>length</c> is <see cref="OutputSequenceLength"/>
    /// (longer texts keep their first tokens) or, when that is <c>null</c>, the longest text's token count. In
    /// <c>"multi_hot"</c>/<c>"count"</c> mode: a float32 tensor <c>(batch, vocabulary size or maxTokens)</c>.
    /// </summary>
    /// <param name="texts">The texts; empty strings give all-padding rows.</param>
    /// <returns>A new tensor (the caller disposes it).</returns>
    /// <exception cref="InvalidOperationException">No vocabulary yet (call <see cref="Adapt"/> or <see cref="SetVocabulary"/>).</exception>
    /// <exception cref="ArgumentException">A text is <c>null</c>.</exception>
    public Tensor Vectorize(IReadOnlyList<string> texts)
    {
        CheckTexts(texts, Name);
        EnsureVocabulary();
        if (OutputMode != "int") return VectorizeCounts(texts);
        var rows = texts.Select(Lookup).ToList();
        int length = OutputSequenceLength ?? (rows.Count == 0 ? 0 : rows.Max(r => r.Length));
        var data = new long[(long)rows.Count * length];
        for (int b = 0; b < rows.Count; b++)
        {
            var row = rows[b];
            Array.Copy(row, 0, data, (long)b * length, Math.Min(row.Length, length));
        }
        return torch.tensor(data, [rows.Count, length], ScalarType.Int64);
    }

    private Tensor VectorizeCounts(IReadOnlyList<string> texts)
    {
        int depth = PadToMaxTokens ? MaxTokens!.Value : VocabularySize;
        var data = new float[(long)texts.Count * depth];
        for (int b = 0; b < texts.Count; b++)
        {
            foreach (var token in Tokenize(texts[b]))
            {
                if (token.Length == 0) continue; // the mask token is dropped from counts
                long id = TokenToId(token);
                long at = (long)b * depth + id;
                data[at] = OutputMode == "count" ? data[at] + 1 : 1;
            }
        }
        return torch.tensor(data, [texts.Count, depth], ScalarType.Float32);
    }

    private void EnsureIntMode(string method)
    {
        if (OutputMode != "int")
            throw new InvalidOperationException($"TextVectorization '{Name}': {method} needs output_mode \"int\"; this layer's is \"{OutputMode}\". Use Vectorize.");
    }

    private string StringsOnlyMessage() =>
        $"TextVectorization '{Name}' works on strings, and tensors hold numbers: call Vectorize(texts) (or VectorizeRagged/Encode) " +
        "on your strings and feed the resulting int64 token ids to the model (e.g. an Embedding with maskZero: true). " +
        "It cannot be called on tensors or inside a functional graph; to save it with a model, track it in a model that holds it (see the TextVectorization docs).";

    /// <summary>Always fails: the layer works on strings (<see cref="Vectorize"/>), not on tensors.</summary>
    /// <param name="inputs">Ignored.</param>
    /// <param name="context">Ignored.</param>
    /// <exception cref="InvalidOperationException">Always, with the explanation.</exception>
    protected override Tensor Call(Tensor inputs, CallContext context) => throw new InvalidOperationException(StringsOnlyMessage());

    /// <summary>Always fails: the layer cannot be part of a graph of numeric tensors; use <see cref="Vectorize"/> outside the model.</summary>
    /// <param name="inputs">Ignored.</param>
    /// <param name="initialState">Ignored.</param>
    /// <param name="mask">Ignored.</param>
    /// <param name="training">Ignored.</param>
    /// <param name="arguments">Ignored.</param>
    /// <exception cref="InvalidOperationException">Always, with the explanation.</exception>
    public override KerasTensors Apply(KerasTensors inputs, KerasTensors? initialState = null, KerasTensors? mask = null,
        bool? training = null, IReadOnlyDictionary<string, object?>? arguments = null) =>
        throw new InvalidOperationException(StringsOnlyMessage());

    /// <summary>Keras' <c>compute_output_shape</c>: <c>(batch, outputSequenceLength)</c> in <c>"int"</c> mode, <c>(batch, depth)</c> otherwise.</summary>
    /// <param name="inputShapes">The input shape (a batch of strings).</param>
    /// <param name="arguments">Ignored.</param>
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        int? batch = inputShapes.Count > 0 && inputShapes[0].Rank > 0 ? inputShapes[0][0] : null;
        int? width = OutputMode == "int" ? OutputSequenceLength : PadToMaxTokens ? MaxTokens : HasVocabulary ? VocabularySize : null;
        return [new Shape([batch, width])];
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<string> ComputeOutputDTypes(IReadOnlyList<string> inputDTypes, int outputCount) =>
        Enumerable.Repeat(OutputMode == "int" ? "int64" : "float32", outputCount).ToList();

    /// <summary>
    /// Keras' config keys (<c>max_tokens</c>, <c>standardize</c>, <c>split</c>, <c>ngrams</c>, <c>output_mode</c>,
    /// <c>output_sequence_length</c>, <c>pad_to_max_tokens</c>, <c>sparse</c>, <c>ragged</c>, <c>vocabulary</c>,
    /// <c>idf_weights</c>, <c>encoding</c>, <c>vocabulary_size</c>), plus <c>min_frequency</c> and
    /// <c>special_tokens</c> when they differ from their defaults (Keras cannot read those). A registered custom
    /// standardisation or split is written as Keras writes a registered function:
    /// <c>{"module", "class_name": "function", "config": name, "registered_name": name}</c>.
    /// </summary>
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["max_tokens"] = MaxTokens;
        config["standardize"] = FunctionConfig(Standardize, TextStandardization.BuiltInNames);
        config["split"] = FunctionConfig(Split, TextSplitting.BuiltInNames);
        config["ngrams"] = null;
        config["output_mode"] = OutputMode;
        config["output_sequence_length"] = OutputSequenceLength;
        config["pad_to_max_tokens"] = PadToMaxTokens;
        config["sparse"] = false;
        config["ragged"] = false;
        config["vocabulary"] = _inputVocabulary?.ToList();
        config["idf_weights"] = null;
        config["encoding"] = "utf-8";
        config["vocabulary_size"] = VocabularySize;
        if (MinFrequency != 1) config["min_frequency"] = MinFrequency;
        if (SpecialTokens.Count > 0) config["special_tokens"] = SpecialTokens.ToList();
        return config;
    }

    private static object? FunctionConfig(string? name, IReadOnlyList<string> builtIns)
    {
        if (name is null || builtIns.Contains(name)) return name;
        return new JsonObject
        {
            ["module"] = "keras_rnn.text",
            ["class_name"] = "function",
            ["config"] = name,
            ["registered_name"] = name,
        };
    }

    // ------------------------------------------------------------------ assets

    /// <summary>
    /// Writes the vocabulary to <c>vocabulary.txt</c> in <paramref name="directory"/> (Keras' <c>save_assets</c>):
    /// the tokens of <see cref="GetVocabulary"/> joined by <c>"\n"</c>, UTF-8, and the same file under
    /// <c>_lookup_layer/</c> for Keras' inner <c>StringLookup</c>. Nothing is written when the vocabulary was passed
    /// to the constructor (it is in the config).
    /// </summary>
    /// <param name="directory">An existing folder.</param>
    /// <exception cref="InvalidOperationException">A token contains a line break, which a one-token-per-line file cannot hold.</exception>
    public void SaveAssets(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (_inputVocabulary is not null) return;
        var vocabulary = GetVocabulary();
        foreach (var token in vocabulary)
            if (token.IndexOfAny(LineBoundaries) >= 0)
                throw new InvalidOperationException(
                    $"TextVectorization '{Name}': the token \"{TextStandardization.Shorten(token)}\" contains a line break, so the vocabulary cannot be saved one token per line. Use a split that never yields line breaks.");
        var text = string.Join("\n", vocabulary);
        var utf8 = new UTF8Encoding(false);
        File.WriteAllText(Path.Combine(directory, VocabularyFileName), text, utf8);
        var inner = Path.Combine(directory, "_lookup_layer");
        Directory.CreateDirectory(inner);
        File.WriteAllText(Path.Combine(inner, VocabularyFileName), text, utf8);
    }

    /// <summary>
    /// Restores the vocabulary from <c>vocabulary.txt</c> in <paramref name="directory"/> (Keras' <c>load_assets</c>;
    /// lines split as Python's <c>splitlines</c> does, trailing empty lines dropped). Nothing is read when the
    /// config carried the vocabulary.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <exception cref="InvalidDataException">The file is missing, not UTF-8, too large, or its size disagrees with the config's <c>vocabulary_size</c>.</exception>
    /// <exception cref="ArgumentException">The vocabulary is invalid (repeated tokens, larger than <c>max_tokens</c>, ...).</exception>
    public void LoadAssets(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (_inputVocabulary is not null) return;
        var file = Path.Combine(directory, VocabularyFileName);
        if (!File.Exists(file))
            throw new InvalidDataException(
                $"TextVectorization '{Name}': the vocabulary file '{VocabularyFileName}' is missing. The layer was saved without a vocabulary in its config, so its adapted vocabulary must come with it as an asset.");
        var lines = ReadVocabularyFile(file);
        SetVocabularyCore(lines, "vocabulary");
        if (ExpectedVocabularySize is { } expected && expected != VocabularySize)
            throw new InvalidDataException(
                $"TextVectorization '{Name}': the vocabulary file has {VocabularySize} tokens (padding and OOV included), but the layer's config says vocabulary_size={expected}: the file does not belong to this model.");
    }

    private static List<string> ReadVocabularyFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"The vocabulary file '{path}' does not exist.", path);
        if (info.Length > MaxVocabularyFileBytes)
            throw new InvalidDataException($"The vocabulary file '{path}' has {info.Length} bytes; at most {MaxVocabularyFileBytes} are read.");
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(File.ReadAllBytes(path));
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"The vocabulary file '{path}' is not UTF-8 text: {e.Message}", e);
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var lines = SplitLines(text);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>Python's <c>str.splitlines()</c>.</summary>
    internal static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (Array.IndexOf(LineBoundaries, text[i]) < 0) continue;
            lines.Add(text[start..i]);
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < text.Length) lines.Add(text[start..]);
        return lines;
    }
}
