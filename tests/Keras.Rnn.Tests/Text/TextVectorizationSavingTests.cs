using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Keras.Rnn.Tests.Saving;
using Keras.Rnn.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Text;

/// <summary>
/// Vocabularies in <c>.keras</c> archives: the <c>assets/&lt;key&gt;/vocabulary.txt</c> files Keras 3 writes
/// (index_lookup.py <c>save_assets</c>/<c>load_assets</c>, saving_lib.py <c>DiskIOStore</c>), restored by
/// <see cref="Model.Load"/> for layers in a model's graph or tracked by a subclassed model.
/// </summary>
public class TextVectorizationSavingTests : SavingTestBase
{
    /// <summary>
    /// The container design for translators: a subclassed model that tracks its trained model and its vectorizers
    /// and lists them in its config; its factory rebuilds them with <see cref="KerasObjects.DeserializeLayer"/>.
    /// </summary>
    private sealed class TranslatorBundle : Model
    {
        public TranslatorBundle(Model core, TextVectorization source, TextVectorization target, string? name = null) : base(name)
        {
            Core = TrackLayer(core);
            Source = TrackLayer(source);
            Target = TrackLayer(target);
            Built = core.Built;
        }

        public Model Core { get; }
        public TextVectorization Source { get; }
        public TextVectorization Target { get; }

        protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context) =>
            Core.CallAll(inputs, context);

        public override Dictionary<string, object?> GetConfig()
        {
            var c = base.GetConfig();
            c["core"] = Core;
            c["source_vectorizer"] = Source;
            c["target_vectorizer"] = Target;
            return c;
        }

        public static TranslatorBundle FromConfig(IReadOnlyDictionary<string, object?> c) =>
            new((Model)KerasObjects.DeserializeLayer(c["core"]), (TextVectorization)KerasObjects.DeserializeLayer(c["source_vectorizer"]),
                (TextVectorization)KerasObjects.DeserializeLayer(c["target_vectorizer"]));
    }

    private static readonly Dictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>> BundleFactory = new()
    {
        ["TranslatorBundle"] = TranslatorBundle.FromConfig,
    };

    private static Dictionary<string, byte[]> Entries(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.ToDictionary(e =>
        {
            return e.FullName;
        }, e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        });
    }

    private static long[] Ids(Tensor t) => t.data<long>().ToArray();

    [Fact]
    public void BundleOfModelAndVectorizersRoundTripsVocabulariesAndWeights()
    {
        var source = new TextVectorization(maxTokens: 20, outputSequenceLength: 6);
        source.Adapt(["Go.", "Hi.", "Run!", "Who are you?", "I am here.", "You are here."]);
        var target = new TextVectorization(outputSequenceLength: 7, specialTokens: ["[start]", "[end]"],
            standardize: TextStandardization.LowerAndSeparatePunctuation);
        target.Adapt(["[start] Va\u202F! [end]", "[start] Salut. [end]", "[start] Qui êtes-vous\u202F? [end]"]);

        var input = KerasApi.Input(new Shape(6), dtype: "int64");
        var hidden = new Embedding(source.VocabularySize, 4, maskZero: true).Apply(input);
        var output = new Dense(target.VocabularySize).Apply(new GRU(3).Apply(hidden));
        var core = new Model(input, output, name: "core");
        var bundle = new TranslatorBundle(core, source, target, name: "translator");

        var path = PathOf("translator.keras");
        bundle.Save(path);

        var entries = Entries(path);
        var expected = string.Join("\n", source.GetVocabulary());
        Assert.Equal(expected, Encoding.UTF8.GetString(entries["assets/layers/text_vectorization/vocabulary.txt"]));
        Assert.Equal(expected, Encoding.UTF8.GetString(entries["assets/layers/text_vectorization/_lookup_layer/vocabulary.txt"]));
        Assert.StartsWith("\n[UNK]\n[start]\n[end]\n", Encoding.UTF8.GetString(entries["assets/layers/text_vectorization_1/vocabulary.txt"]));
        Assert.Equal(new[] { "metadata.json", "config.json", "model.weights.h5" }, entries.Keys.Take(3));

        var loaded = Assert.IsType<TranslatorBundle>(Model.Load(path, BundleFactory));
        Assert.Equal(source.GetVocabulary(), loaded.Source.GetVocabulary());
        Assert.Equal(target.GetVocabulary(), loaded.Target.GetVocabulary());
        Assert.Equal(target.SpecialTokens, loaded.Target.SpecialTokens);
        Assert.Equal(TextStandardization.LowerAndSeparatePunctuation, loaded.Target.Standardize);
        Assert.Equal(6, loaded.Source.OutputSequenceLength);
        string[] texts = ["Who are you?", "Go away!"];
        using (var a = source.Vectorize(texts))
        using (var b = loaded.Source.Vectorize(texts))
            Assert.Equal(Ids(a), Ids(b));
        Assert.Equal(target.Encode("[start] Qui êtes-vous ? [end]"), loaded.Target.Encode("[start] Qui êtes-vous ? [end]"));

        using var x = source.Vectorize(texts);
        using var _ = torch.no_grad();
        using var y1 = core.Apply(x);
        using var y2 = loaded.Core.Apply(x);
        Assert.Equal(y1.data<float>().ToArray(), y2.data<float>().ToArray());
    }

    [Fact]
    public void SequentialHoldingVectorizerRoundTripsItsVocabularyEvenUnbuilt()
    {
        // Keras' text_vectorization_test.py test_save_load_with_ngrams_flow saves Sequential([Input(string), TextVectorization]);
        // without string tensors, the Sequential only holds the layer (and is not built).
        var layer = new TextVectorization(outputSequenceLength: 4);
        layer.Adapt(["foo bar", "bar baz", "baz bada boom"]);
        var model = new Sequential(layer);
        var log = CaptureLog();
        var path = PathOf("vectorizer.keras");
        model.Save(path);
        var loaded = (TextVectorization)((Sequential)Model.Load(path)).Layers[0];
        Assert.Equal(new[] { "", "[UNK]", "baz", "bar", "foo", "boom", "bada" }, loaded.GetVocabulary());
        using var t = loaded.Vectorize(["foo qux bar", "qux baz"]);
        Assert.Equal(new long[] { 4, 1, 3, 0, 1, 2, 0, 0 }, Ids(t));
        Assert.Contains(log, m => m.Contains("not built"));
    }

    [Fact]
    public void ConstructorVocabularyLivesInTheConfigAndWritesNoAsset()
    {
        var model = new Sequential(new TextVectorization(vocabulary: ["earth", "wind", "and", "fire"], outputSequenceLength: 4, name: "tv"));
        var path = PathOf("fixed.keras");
        model.Save(path);
        Assert.DoesNotContain(Entries(path).Keys, k => k.StartsWith("assets/", StringComparison.Ordinal));
        var loaded = (TextVectorization)((Sequential)Model.Load(path)).Layers[0];
        // Keras' docstring example: ['', '[UNK]', 'earth', 'wind', 'and', 'fire'].
        Assert.Equal(new[] { "", "[UNK]", "earth", "wind", "and", "fire" }, loaded.GetVocabulary());
    }

    [Fact]
    public void ConfigHasKerasKeys()
    {
        var layer = new TextVectorization(maxTokens: 100, outputSequenceLength: 5, name: "tv");
        layer.Adapt(["one two"]);
        var model = new Sequential(layer);
        using var doc = JsonDocument.Parse(model.ToJson());
        var serialized = doc.RootElement.GetProperty("config").GetProperty("layers")[0];
        Assert.Equal("keras.layers", serialized.GetProperty("module").GetString());
        Assert.Equal("TextVectorization", serialized.GetProperty("class_name").GetString());
        var config = serialized.GetProperty("config");
        // TextVectorization.get_config in keras/src/layers/preprocessing/text_vectorization.py, after Layer's base keys.
        Assert.Equal(new[]
            {
                "name", "trainable", "dtype", "max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
                "pad_to_max_tokens", "sparse", "ragged", "vocabulary", "idf_weights", "encoding", "vocabulary_size",
            },
            config.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("lower_and_strip_punctuation", config.GetProperty("standardize").GetString());
        Assert.Equal(JsonValueKind.Null, config.GetProperty("vocabulary").ValueKind);
        Assert.Equal(4, config.GetProperty("vocabulary_size").GetInt32());
    }

    /// <summary>An archive as Keras 3 writes it for Sequential([TextVectorization(...)]) after adapt: the config and the vocabulary assets.</summary>
    private string KerasStyleArchive(string name, string? vocabularyFile, int vocabularySize, string standardize = "\"lower_and_strip_punctuation\"")
    {
        var config = "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"trainable\": true, " +
                     "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, " +
                     "\"layers\": [{\"module\": \"keras.layers\", \"class_name\": \"TextVectorization\", \"config\": {\"name\": \"text_vectorization\", " +
                     "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, " +
                     $"\"max_tokens\": null, \"standardize\": {standardize}, \"split\": \"whitespace\", \"ngrams\": null, \"output_mode\": \"int\", " +
                     "\"output_sequence_length\": 3, \"pad_to_max_tokens\": false, \"sparse\": false, \"ragged\": false, \"vocabulary\": null, " +
                     $"\"idf_weights\": null, \"encoding\": \"utf-8\", \"vocabulary_size\": {vocabularySize}}}, \"registered_name\": null}}]}}, " +
                     "\"registered_name\": null, \"compile_config\": null}";
        var path = PathOf(name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string entry, string text)
        {
            using var w = new StreamWriter(zip.CreateEntry(entry).Open(), new UTF8Encoding(false));
            w.Write(text);
        }
        Add("metadata.json", "{\"keras_version\": \"3.15.0\", \"date_saved\": \"2025-01-01@00:00:00\"}");
        Add("config.json", config);
        if (vocabularyFile is not null)
        {
            Add("assets/layers/text_vectorization/vocabulary.txt", vocabularyFile);
            Add("assets/layers/text_vectorization/_lookup_layer/vocabulary.txt", vocabularyFile);
        }
        return path;
    }

    [Fact]
    public void ReadsKerasWrittenVocabularyAssetsWithTrailingNewline()
    {
        // index_lookup_test.py test_load_assets_handles_trailing_newlines: a final "\n" adds no token.
        var path = KerasStyleArchive("keras.keras", "\n[UNK]\nthe\ncat\n", 4);
        var layer = (TextVectorization)((Sequential)Model.Load(path)).Layers[0];
        Assert.Equal(new[] { "", "[UNK]", "the", "cat" }, layer.GetVocabulary());
        using var t = layer.Vectorize(["The dog."]);
        Assert.Equal(new long[] { 2, 1, 0 }, Ids(t));
    }

    [Fact]
    public void MissingOrMismatchedVocabularyAssetsFailClearly()
    {
        var missing = Assert.Throws<KerasFileException>(() => Model.Load(KerasStyleArchive("missing.keras", null, 4)));
        Assert.Contains("vocabulary.txt", missing.Message);
        Assert.Contains("text_vectorization", missing.Message);

        var mismatch = Assert.Throws<KerasFileException>(() => Model.Load(KerasStyleArchive("mismatch.keras", "\n[UNK]\nthe\ncat", 9000)));
        Assert.Contains("vocabulary_size=9000", mismatch.Message);

        var repeated = Assert.Throws<KerasFileException>(() => Model.Load(KerasStyleArchive("repeated.keras", "\n[UNK]\nthe\nthe", 4)));
        Assert.Contains("repeated", repeated.Message);

        var unregistered = Assert.Throws<KerasFileException>(() => Model.Load(KerasStyleArchive("custom.keras", "\n[UNK]\nthe", 3,
            "{\"module\": \"__main__\", \"class_name\": \"function\", \"config\": \"Custom>not_registered_std\", \"registered_name\": \"Custom>not_registered_std\"}")));
        Assert.Contains("TextStandardization.Register(\"Custom>not_registered_std\"", unregistered.Message);
    }

    [Fact]
    public void RegisteredCustomStandardizationIsSavedByNameAndResolvedOnLoad()
    {
        var name = TextStandardization.Register("tests>keep_case_std", s => s.Replace(",", ""));
        try
        {
            var layer = new TextVectorization(standardize: name);
            layer.Adapt(["Hello, World"]);
            var path = PathOf("custom.keras");
            new Sequential(layer).Save(path);
            var loaded = (TextVectorization)((Sequential)Model.Load(path)).Layers[0];
            Assert.Equal(name, loaded.Standardize);
            Assert.Equal(layer.Encode("Hello World, hello"), loaded.Encode("Hello World, hello"));
        }
        finally
        {
            TextStandardization.Unregister(name);
        }
    }

    [Fact]
    public void AssetEntriesThatLeaveTheirFolderAreRefused()
    {
        var path = KerasStyleArchive("evil.keras", "\n[UNK]\nthe", 3);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            using var w = new StreamWriter(zip.CreateEntry("assets/layers/text_vectorization/../../../evil.txt").Open());
            w.Write("x");
        }
        var e = Assert.Throws<KerasFileException>(() => Model.Load(path));
        Assert.Contains("evil.txt", e.Message);
    }

    [Fact]
    public void TokensWithLineBreaksCannotBeSavedOnePerLine()
    {
        var layer = new TextVectorization(split: null, standardize: null);
        layer.Adapt(["two\nlines"]);
        var e = Assert.Throws<InvalidOperationException>(() => new Sequential(layer).Save(PathOf("lines.keras")));
        Assert.Contains("line break", e.Message);
        Assert.False(File.Exists(PathOf("lines.keras")));
    }

    [Fact]
    public void SaveAndLoadAssetsDirectly()
    {
        // index_lookup_test.py test_save_and_load_assets_string_vocab: save_assets into a folder, load_assets into a fresh layer.
        var layer = new TextVectorization();
        layer.SetVocabulary(["apple", "banana", "cherry"]);
        var dir = Directory.CreateDirectory(PathOf("assets")).FullName;
        layer.SaveAssets(dir);
        var fresh = new TextVectorization();
        fresh.LoadAssets(dir);
        Assert.Equal(layer.GetVocabulary(), fresh.GetVocabulary());
        Assert.Equal(layer.GetVocabulary(false), fresh.GetVocabulary(false));
        var other = new TextVectorization();
        other.SetVocabularyFromFile(Path.Combine(dir, "vocabulary.txt"));
        Assert.Equal(layer.GetVocabulary(), other.GetVocabulary());
    }
}
