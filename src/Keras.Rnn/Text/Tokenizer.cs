using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Saving;

namespace Keras.Rnn.Text;

/// <summary>
/// A word- or character-level tokenizer outside any model (Keras' legacy <c>keras.preprocessing.text.Tokenizer</c>,
/// kept in Keras 3 as <c>keras._legacy.preprocessing.text.Tokenizer</c>), for users who want ids without the
/// <see cref="TextVectorization"/> layer. Same behaviour as Keras: <see cref="FitOnTexts"/> counts words (after
/// lower-casing, replacing every <see cref="Filters"/> character by <see cref="Split"/> and splitting on it) and
/// numbers them from 1 by decreasing count, ties in order of first appearance, the <see cref="OovToken"/> (if any)
/// first; id 0 is never assigned (padding). <see cref="NumWords"/> limits <see cref="TextsToSequences"/> to ids below
/// it, the others becoming the OOV id or being dropped.
/// </summary>
/// <remarks>
/// Lower-casing is .NET's invariant Unicode lower-casing (Python's <c>str.lower</c> differs only for a few letters
/// such as <c>İ</c>). Characters are Unicode code points, as Python's. No Unicode normalisation is applied (Keras
/// applies none); pass <see cref="TextStandardization.Normalize"/>d texts if they mix spellings of spaces.
/// </remarks>
/// <example>
/// <code>
/// var tokenizer = new Tokenizer(numWords: 10000, oovToken: "&lt;OOV&gt;");
/// tokenizer.FitOnTexts(texts);
/// List&lt;int[]&gt; ids = tokenizer.TextsToSequences(["Hello world"]);
/// var padded = Sequences.PadSequences(ids, maxlen: 20, padding: "post");
/// </code>
/// </example>
public sealed class Tokenizer
{
    /// <summary>Keras' default <c>filters</c>: ASCII punctuation (except <c>'</c>), tab and newline.</summary>
    public const string DefaultFilters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

    private readonly List<string> _wordOrder = [];
    private readonly Dictionary<string, int> _wordCounts = new(StringComparer.Ordinal);
    private readonly List<string> _docOrder = [];
    private readonly Dictionary<string, int> _wordDocs = new(StringComparer.Ordinal);
    private Dictionary<int, int> _indexDocs = [];
    private Dictionary<string, int> _wordIndex = new(StringComparer.Ordinal);
    private Dictionary<int, string> _indexWord = [];
    private readonly HashSet<int> _filterSet;

    /// <summary>Creates the tokenizer.</summary>
    /// <param name="numWords">Keep only ids below this in <see cref="TextsToSequences"/> (the <c>numWords - 1</c> most
    /// frequent words; default <c>null</c>: all).</param>
    /// <param name="filters">Characters replaced by <paramref name="split"/> before splitting (default <see cref="DefaultFilters"/>).</param>
    /// <param name="lower">Whether to lower-case texts (default <c>true</c>).</param>
    /// <param name="split">The word separator (default a space).</param>
    /// <param name="charLevel">Whether every character is a token (default <c>false</c>; filters are then not applied, as in Keras).</param>
    /// <param name="oovToken">The token for unknown words, given id 1 (default <c>null</c>: unknown words are dropped).</param>
    /// <param name="analyzer">A custom function from text to words, replacing filtering and splitting (default <c>null</c>).</param>
    /// <exception cref="ArgumentException"><paramref name="numWords"/> is negative, or <paramref name="split"/> is empty for word-level tokenizing.</exception>
    public Tokenizer(int? numWords = null, string filters = DefaultFilters, bool lower = true, string split = " ", bool charLevel = false,
        string? oovToken = null, Func<string, IEnumerable<string>>? analyzer = null)
    {
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(split);
        if (numWords is < 0) throw new ArgumentException($"Tokenizer: num_words must be null or non-negative. Received: {numWords}", nameof(numWords));
        if (split.Length == 0 && !charLevel && analyzer is null) throw new ArgumentException("Tokenizer: `split` must not be empty (Python: empty separator).", nameof(split));
        NumWords = numWords;
        Filters = filters;
        Lower = lower;
        Split = split;
        CharLevel = charLevel;
        OovToken = oovToken;
        Analyzer = analyzer;
        _filterSet = filters.EnumerateRunes().Select(r => r.Value).ToHashSet();
    }

    /// <summary>Ids at or above this are not emitted (0 or <c>null</c>: no limit, as Python's falsy <c>num_words</c>).</summary>
    public int? NumWords { get; }

    /// <summary>Characters replaced by <see cref="Split"/>.</summary>
    public string Filters { get; }

    /// <summary>Whether texts are lower-cased.</summary>
    public bool Lower { get; }

    /// <summary>The word separator.</summary>
    public string Split { get; }

    /// <summary>Whether every character is a token.</summary>
    public bool CharLevel { get; }

    /// <summary>The OOV token (id 1), or <c>null</c>.</summary>
    public string? OovToken { get; }

    /// <summary>The custom text-to-words function, or <c>null</c>.</summary>
    public Func<string, IEnumerable<string>>? Analyzer { get; }

    /// <summary>How many texts (or sequences) were fitted.</summary>
    public int DocumentCount { get; private set; }

    /// <summary>Word → id (from 1), as built by the last <see cref="FitOnTexts"/>.</summary>
    public IReadOnlyDictionary<string, int> WordIndex => _wordIndex;

    /// <summary>Id → word.</summary>
    public IReadOnlyDictionary<int, string> IndexWord => _indexWord;

    /// <summary>Word → number of occurrences, in order of first appearance (<see cref="WordCountsInOrder"/>).</summary>
    public IReadOnlyDictionary<string, int> WordCounts => _wordCounts;

    /// <summary>The word counts in order of first appearance (Keras' <c>OrderedDict</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> WordCountsInOrder => _wordOrder.Select(w => new KeyValuePair<string, int>(w, _wordCounts[w])).ToList();

    /// <summary>Word → number of texts containing it.</summary>
    public IReadOnlyDictionary<string, int> WordDocs => _wordDocs;

    /// <summary>Id → number of texts containing it.</summary>
    public IReadOnlyDictionary<int, int> IndexDocs => _indexDocs;

    /// <summary>Keras' <c>text_to_word_sequence</c>: lower-case, replace every filter character by <paramref name="split"/>, split on it, drop empty words.</summary>
    /// <param name="text">The text.</param>
    /// <param name="filters">Characters to replace (default <see cref="DefaultFilters"/>).</param>
    /// <param name="lower">Whether to lower-case (default <c>true</c>).</param>
    /// <param name="split">The separator (default a space).</param>
    /// <returns>The words.</returns>
    public static IReadOnlyList<string> TextToWordSequence(string text, string filters = DefaultFilters, bool lower = true, string split = " ")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentException.ThrowIfNullOrEmpty(split);
        return WordSequence(text, filters.EnumerateRunes().Select(r => r.Value).ToHashSet(), lower, split);
    }

    private static List<string> WordSequence(string text, HashSet<int> filters, bool lower, string split)
    {
        if (lower) text = text.ToLowerInvariant();
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (filters.Contains(rune.Value)) sb.Append(split);
            else sb.Append(rune.ToString());
        }
        return sb.ToString().Split(split).Where(w => w.Length > 0).ToList();
    }

    /// <summary>The tokens of one text as this tokenizer sees them.</summary>
    private List<string> Words(string text)
    {
        if (CharLevel)
        {
            if (Lower) text = text.ToLowerInvariant();
            return text.EnumerateRunes().Select(r => r.ToString()).ToList();
        }
        if (Analyzer is not null)
            return Analyzer(text)?.ToList() ?? throw new InvalidOperationException("Tokenizer: the analyzer returned null.");
        return WordSequence(text, _filterSet, Lower, Split);
    }

    /// <summary>
    /// Counts the words of <paramref name="texts"/> (added to earlier fits) and rebuilds <see cref="WordIndex"/>:
    /// the OOV token first (id 1) if set, then words by decreasing count, ties in order of first appearance.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <exception cref="ArgumentException">A text is <c>null</c>.</exception>
    public void FitOnTexts(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int i = 0;
        foreach (var text in texts)
        {
            if (text is null) throw new ArgumentException($"Tokenizer: text {i} is null.", nameof(texts));
            i++;
            DocumentCount++;
            var words = Words(text);
            foreach (var w in words)
            {
                if (_wordCounts.TryGetValue(w, out var c)) _wordCounts[w] = c + 1;
                else
                {
                    _wordCounts[w] = 1;
                    _wordOrder.Add(w);
                }
            }
            foreach (var w in words.Distinct(StringComparer.Ordinal))
            {
                if (_wordDocs.TryGetValue(w, out var d)) _wordDocs[w] = d + 1;
                else
                {
                    _wordDocs[w] = 1;
                    _docOrder.Add(w);
                }
            }
        }

        // A stable sort by decreasing count: ties keep their order of first appearance (Python's sort(reverse=True)).
        var sorted = _wordOrder.Select((w, k) => (Word: w, Count: _wordCounts[w], Order: k))
            .OrderByDescending(x => x.Count).ThenBy(x => x.Order).Select(x => x.Word);
        var vocabulary = new List<string>();
        if (OovToken is not null) vocabulary.Add(OovToken);
        vocabulary.AddRange(sorted);
        // dict(zip(...)): a repeated word (the OOV token found in the texts) keeps its last id.
        var wordIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int k = 0; k < vocabulary.Count; k++)
        {
            if (!wordIndex.ContainsKey(vocabulary[k])) order.Add(vocabulary[k]);
            wordIndex[vocabulary[k]] = k + 1;
        }
        _wordIndex = order.ToDictionary(w => w, w => wordIndex[w], StringComparer.Ordinal);
        _indexWord = order.ToDictionary(w => _wordIndex[w], w => w);
        foreach (var w in _docOrder) _indexDocs[_wordIndex[w]] = _wordDocs[w];
    }

    /// <summary>Counts, for <c>tfidf</c> matrices, in how many sequences each id occurs (Keras' <c>fit_on_sequences</c>).</summary>
    /// <param name="sequences">Id sequences.</param>
    public void FitOnSequences(IEnumerable<IReadOnlyList<int>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        foreach (var seq in sequences)
        {
            ArgumentNullException.ThrowIfNull(seq, nameof(sequences));
            DocumentCount++;
            foreach (var id in seq.Distinct()) _indexDocs[id] = _indexDocs.TryGetValue(id, out var c) ? c + 1 : 1;
        }
    }

    private bool Limited(int id) => NumWords is > 0 && id >= NumWords;

    /// <summary>
    /// The ids of each text's words (Keras' <c>texts_to_sequences</c>): unknown words and ids at or above
    /// <see cref="NumWords"/> become the OOV id when there is an OOV token, else are dropped.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <returns>One id array per text.</returns>
    /// <exception cref="ArgumentException">A text is <c>null</c>.</exception>
    public List<int[]> TextsToSequences(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int? oov = OovToken is not null && _wordIndex.TryGetValue(OovToken, out var o) ? o : null;
        var result = new List<int[]>();
        foreach (var text in texts)
        {
            if (text is null) throw new ArgumentException($"Tokenizer: text {result.Count} is null.", nameof(texts));
            var ids = new List<int>();
            foreach (var w in Words(text))
            {
                if (_wordIndex.TryGetValue(w, out var id))
                {
                    if (Limited(id))
                    {
                        if (oov is { } oi) ids.Add(oi);
                    }
                    else
                    {
                        ids.Add(id);
                    }
                }
                else if (OovToken is not null && oov is { } oi)
                {
                    ids.Add(oi);
                }
            }
            result.Add(ids.ToArray());
        }
        return result;
    }

    /// <summary>
    /// Words back from ids, joined by spaces (Keras' <c>sequences_to_texts</c>, also for character level): unknown
    /// ids and ids at or above <see cref="NumWords"/> become the OOV token when there is one, else are dropped.
    /// </summary>
    /// <param name="sequences">Id sequences (0 is unknown, so padding is dropped).</param>
    /// <returns>One text per sequence.</returns>
    public List<string> SequencesToTexts(IEnumerable<IReadOnlyList<int>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int? oov = OovToken is not null && _wordIndex.TryGetValue(OovToken, out var o) ? o : null;
        var result = new List<string>();
        foreach (var seq in sequences)
        {
            ArgumentNullException.ThrowIfNull(seq, nameof(sequences));
            var words = new List<string>();
            foreach (var id in seq)
            {
                if (_indexWord.TryGetValue(id, out var word))
                {
                    if (Limited(id))
                    {
                        if (oov is { } oi) words.Add(_indexWord[oi]);
                    }
                    else
                    {
                        words.Add(word);
                    }
                }
                else if (OovToken is not null && oov is { } oi)
                {
                    words.Add(_indexWord[oi]);
                }
            }
            result.Add(string.Join(" ", words));
        }
        return result;
    }

    /// <summary>Keras' <c>texts_to_matrix</c>: <see cref="TextsToSequences"/> then <see cref="SequencesToMatrix"/>.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="mode"><c>"binary"</c> (default), <c>"count"</c>, <c>"freq"</c> or <c>"tfidf"</c>.</param>
    public double[,] TextsToMatrix(IEnumerable<string> texts, string mode = "binary") =>
        SequencesToMatrix(TextsToSequences(texts), mode);

    /// <summary>
    /// Keras' <c>sequences_to_matrix</c>: a <c>(sequences, numWords)</c> matrix (width <see cref="NumWords"/>, or the
    /// vocabulary size + 1) of <c>"binary"</c> presence, <c>"count"</c>, <c>"freq"</c> (count / length) or
    /// <c>"tfidf"</c> ((1 + ln count) · ln(1 + documents / (1 + documents containing the id))).
    /// </summary>
    /// <param name="sequences">Id sequences; ids at or beyond the width are ignored.</param>
    /// <param name="mode">The mode (default <c>"binary"</c>).</param>
    /// <exception cref="InvalidOperationException">No width is known (no <see cref="NumWords"/> and nothing fitted), or tfidf before fitting.</exception>
    /// <exception cref="ArgumentException">Unknown mode.</exception>
    public double[,] SequencesToMatrix(IReadOnlyList<IReadOnlyList<int>> sequences, string mode = "binary")
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (mode is not ("binary" or "count" or "freq" or "tfidf"))
            throw new ArgumentException($"Unknown vectorization mode: {mode}; expected binary, count, freq or tfidf.", nameof(mode));
        int width;
        if (NumWords is > 0 and var n) width = n;
        else if (_wordIndex.Count > 0) width = _wordIndex.Count + 1;
        else throw new InvalidOperationException("Specify a dimension (`numWords` argument), or fit on some text data first.");
        if (mode == "tfidf" && DocumentCount == 0)
            throw new InvalidOperationException("Fit the Tokenizer on some data before using tfidf mode.");
        var x = new double[sequences.Count, width];
        for (int i = 0; i < sequences.Count; i++)
        {
            var seq = sequences[i];
            if (seq is null || seq.Count == 0) continue;
            var counts = new Dictionary<int, int>();
            foreach (var j in seq)
                if (j < width && j >= 0) counts[j] = counts.TryGetValue(j, out var c) ? c + 1 : 1;
            foreach (var (j, c) in counts)
            {
                x[i, j] = mode switch
                {
                    "count" => c,
                    "freq" => (double)c / seq.Count,
                    "binary" => 1,
                    _ => (1 + Math.Log(c)) * Math.Log(1 + DocumentCount / (1.0 + _indexDocs.GetValueOrDefault(j))),
                };
            }
        }
        return x;
    }

    /// <summary>
    /// The tokenizer as Keras' <c>Tokenizer.to_json()</c> writes it (<c>{"class_name": "Tokenizer", "config": {...}}</c>
    /// with the word tables as JSON strings), readable by Keras' <c>tokenizer_from_json</c> and <see cref="FromJson"/>.
    /// A custom <see cref="Analyzer"/> is not saved.
    /// </summary>
    public string ToJson()
    {
        static string Dump(JsonObject o) => PythonJson.Serialize(o);
        var wordCounts = new JsonObject();
        foreach (var w in _wordOrder) wordCounts[w] = _wordCounts[w];
        var wordDocs = new JsonObject();
        foreach (var w in _docOrder) wordDocs[w] = _wordDocs[w];
        var indexDocs = new JsonObject();
        foreach (var (k, v) in _indexDocs) indexDocs[k.ToString(CultureInfo.InvariantCulture)] = v;
        var wordIndex = new JsonObject();
        foreach (var (k, v) in _wordIndex) wordIndex[k] = v;
        var indexWord = new JsonObject();
        foreach (var (k, v) in _indexWord) indexWord[k.ToString(CultureInfo.InvariantCulture)] = v;
        var config = new JsonObject
        {
            ["num_words"] = NumWords,
            ["filters"] = Filters,
            ["lower"] = Lower,
            ["split"] = Split,
            ["char_level"] = CharLevel,
            ["oov_token"] = OovToken,
            ["document_count"] = DocumentCount,
            ["word_counts"] = Dump(wordCounts),
            ["word_docs"] = Dump(wordDocs),
            ["index_docs"] = Dump(indexDocs),
            ["index_word"] = Dump(indexWord),
            ["word_index"] = Dump(wordIndex),
        };
        return PythonJson.Serialize(new JsonObject { ["class_name"] = "Tokenizer", ["config"] = config });
    }

    /// <summary>Rebuilds a tokenizer from <see cref="ToJson"/> or Keras' <c>Tokenizer.to_json()</c> (Keras' <c>tokenizer_from_json</c>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="FormatException">The text is not a tokenizer's JSON; the message says what is wrong.</exception>
    public static Tokenizer FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16 }) as JsonObject
                       ?? throw new FormatException("expected a JSON object");
            var config = root["config"] as JsonObject ?? throw new FormatException("missing 'config' object");
            JsonObject Table(string key) =>
                config[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? JsonNode.Parse(v.GetValue<string>()) as JsonObject ?? throw new FormatException($"'{key}' is not a JSON object string")
                    : config[key] as JsonObject ?? new JsonObject();
            int? numWords = config["num_words"] is JsonValue nw ? nw.GetValue<int>() : null;
            var tokenizer = new Tokenizer(numWords, config["filters"]?.GetValue<string>() ?? DefaultFilters, config["lower"]?.GetValue<bool>() ?? true,
                config["split"]?.GetValue<string>() ?? " ", config["char_level"]?.GetValue<bool>() ?? false, config["oov_token"]?.GetValue<string>())
            {
                DocumentCount = config["document_count"]?.GetValue<int>() ?? 0,
            };
            foreach (var (w, c) in Table("word_counts"))
            {
                tokenizer._wordOrder.Add(w);
                tokenizer._wordCounts[w] = c!.GetValue<int>();
            }
            foreach (var (w, c) in Table("word_docs"))
            {
                tokenizer._docOrder.Add(w);
                tokenizer._wordDocs[w] = c!.GetValue<int>();
            }
            foreach (var (k, c) in Table("index_docs")) tokenizer._indexDocs[int.Parse(k, CultureInfo.InvariantCulture)] = c!.GetValue<int>();
            foreach (var (w, i) in Table("word_index")) tokenizer._wordIndex[w] = i!.GetValue<int>();
            foreach (var (k, w) in Table("index_word")) tokenizer._indexWord[int.Parse(k, CultureInfo.InvariantCulture)] = w!.GetValue<string>();
            return tokenizer;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new FormatException($"Not a Keras Tokenizer JSON: {e.Message}", e);
        }
    }
}
