using System.IO.Compression;
using Keras.Rnn.Layers;
using Keras.Rnn.Losses;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Saving;
using Keras.Rnn.Seq2Seq;
using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Seq2Seq;

public class TranslatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("keras-rnn-translator-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static readonly (string Source, string Target)[] Pairs =
    [
        ("I am tired.", "Je suis fatigué."),
        ("I am cold.", "J'ai froid."),
        ("You are tired.", "Tu es fatigué."),
        ("Is it cold?", "Fait-il froid ?"),
        ("We are here.", "Nous sommes ici."),
        ("I am here.", "Je suis ici."),
    ];

    private static readonly Seq2SeqConfig Small = new()
    {
        Cell = "gru", EmbeddingDim = 16, Units = 24, BidirectionalEncoder = true, Attention = "luong",
    };

    internal static Translator Trained(out double firstLoss, out double lastLoss)
    {
        KerasApi.SetRandomSeed(11);
        var translator = Translator.Create(Pairs, Small, sourceMinFrequency: 1, targetMinFrequency: 1, maxSourceLength: 8, maxTargetLength: 12);
        translator.Models.Training.Compile(optimizer: new Adam(learningRate: 0.02), loss: new SparseCategoricalCrossentropy(fromLogits: true));
        var history = translator.Fit(Pairs, epochs: 60, batchSize: 6, verbose: 0);
        firstLoss = history.HistoryValues["loss"][0];
        lastLoss = history.HistoryValues["loss"][^1];
        return translator;
    }

    [Fact]
    public void LearnsTheTrainingPairsAndTranslatesInInputOrder()
    {
        var translator = Trained(out var first, out var last);
        Assert.True(last < first / 10, $"loss {first} → {last}");
        var sources = Pairs.Select(p => p.Source).Reverse().ToList();
        var greedy = translator.Translate(sources);
        var beam = translator.Translate(sources, new TranslateOptions { Search = "beam", BeamWidth = 3 });
        for (int i = 0; i < sources.Count; i++)
        {
            var expected = WordTokenizer.Normalize(Pairs.Single(p => p.Source == sources[i]).Target);
            Assert.Equal(expected, greedy[i].Text);
            Assert.Equal(expected, beam[i].Text);
            Assert.Equal(sources[i], greedy[i].Source);
            Assert.Empty(greedy[i].Warnings);
            // The attention matrix: one row per produced token, one column per source token, rows sum to 1.
            var a = greedy[i].Attention!;
            Assert.Equal(greedy[i].TargetTokens.Count, a.GetLength(0));
            Assert.Equal(greedy[i].SourceTokens.Count, a.GetLength(1));
            for (int r = 0; r < a.GetLength(0); r++)
                Assert.Equal(1.0, Enumerable.Range(0, a.GetLength(1)).Sum(c => (double)a[r, c]), 4);
        }
        var bleu = translator.EvaluateBleu(Pairs.Select(p => (p.Source, (IReadOnlyList<string>)[p.Target])).ToList()).Score;
        Assert.Equal(100.0, bleu.Score, 6);
    }

    [Fact]
    public void SavesVocabulariesInAssetsAndLoadsTheSameTranslator()
    {
        var translator = Trained(out _, out _);
        var path = Path.Combine(_dir, "t.keras");
        translator.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.NotNull(zip.GetEntry("assets/translator/source_vocabulary.txt"));
            Assert.NotNull(zip.GetEntry("assets/translator/target_vocabulary.txt"));
            Assert.NotNull(zip.GetEntry("config.json"));
            Assert.NotNull(zip.GetEntry("model.weights.h5"));
        }
        var loaded = Translator.Load(path);
        Assert.Equal(translator.SourceVocabulary, loaded.SourceVocabulary);
        Assert.Equal(translator.TargetVocabulary, loaded.TargetVocabulary);
        Assert.Equal(translator.MaxSourceLength, loaded.MaxSourceLength);
        Assert.Equal(translator.Models.Config, loaded.Models.Config);
        var sources = Pairs.Select(p => p.Source).ToList();
        var before = translator.Translate(sources);
        var after = loaded.Translate(sources);
        for (int i = 0; i < sources.Count; i++)
        {
            Assert.Equal(before[i].Text, after[i].Text);
            Assert.Equal(before[i].LogProbability, after[i].LogProbability, 4);
        }
        // The training model inside is an ordinary Keras model.
        var plain = Model.Load(path, compile: false);
        Assert.Equal(2, plain.Inputs.Count);
    }

    [Fact]
    public void BadInputGivesWarningsNotCrashes()
    {
        KerasApi.SetRandomSeed(2);
        var translator = Translator.Create(Pairs, Small, sourceMinFrequency: 1, targetMinFrequency: 1, maxSourceLength: 5, maxTargetLength: 7);
        var results = translator.Translate(["", "   ", "Zebras quantum xylophone!", string.Join(" ", Enumerable.Repeat("tired", 40)), "I am tired."]);
        Assert.Equal("", results[0].Text);
        Assert.Contains(results[0].Warnings, w => w.Contains("empty"));
        Assert.Contains(results[1].Warnings, w => w.Contains("empty"));
        Assert.Contains(results[2].Warnings, w => w.Contains("Unknown words") && w.Contains("zebras"));
        Assert.Contains(results[3].Warnings, w => w.Contains("40 tokens") && w.Contains("first 5"));
        Assert.Equal(5, results[3].SourceTokens.Count);
        // An untrained model rarely ends; its output is cut at the maximum length with a warning.
        Assert.All(results.Skip(2), r => Assert.True(r.TargetTokens.Count <= 7));
        Assert.Throws<ArgumentException>(() => translator.Translate([null!]));
        Assert.Throws<ArgumentException>(() => translator.Translate(["a"], new TranslateOptions { Search = "best" }));
        Assert.Throws<ArgumentException>(() => translator.Translate(["a"], new TranslateOptions { Temperature = 0, Search = "sample" }));
    }

    [Fact]
    public void MismatchedOrForeignFilesAreRefusedClearly()
    {
        KerasApi.SetRandomSeed(4);
        var translator = Translator.Create(Pairs, Small, sourceMinFrequency: 1, targetMinFrequency: 1);
        var path = Path.Combine(_dir, "t.keras");
        translator.Save(path);

        // A vocabulary file with a token missing no longer fits the model.
        var broken = Path.Combine(_dir, "broken.keras");
        File.Copy(path, broken);
        using (var zip = ZipFile.Open(broken, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("assets/translator/target_vocabulary.txt")!;
            string text;
            using (var reader = new StreamReader(entry.Open())) text = reader.ReadToEnd();
            entry.Delete();
            var lines = text.Split('\n').ToList();
            lines.RemoveAt(5);
            using var writer = new StreamWriter(zip.CreateEntry("assets/translator/target_vocabulary.txt").Open());
            writer.Write(string.Join("\n", lines));
        }
        var e = Assert.Throws<KerasFileException>(() => Translator.Load(broken));
        Assert.Contains("target", e.Message);
        Assert.Contains("vocabular", e.Message);

        // A plain Keras model is not a translator.
        var plainPath = Path.Combine(_dir, "plain.keras");
        new Sequential(new InputLayer([3]), new Dense(2)).Save(plainPath);
        Assert.Contains("not a Keras.Rnn translator", Assert.Throws<KerasFileException>(() => Translator.Load(plainPath)).Message);
        Assert.Throws<FileNotFoundException>(() => Translator.Load(Path.Combine(_dir, "missing.keras")));
        File.WriteAllText(Path.Combine(_dir, "junk.keras"), "not a zip");
        Assert.Throws<KerasFileException>(() => Translator.Load(Path.Combine(_dir, "junk.keras")));

        // Vocabularies that do not fit the model are refused at construction.
        var models = Seq2SeqBuilder.Build(Small with { SourceVocabularySize = 5, TargetVocabularySize = 6 });
        Assert.Contains("source vocabulary has 3 tokens", Assert.Throws<ArgumentException>(() =>
            new Translator(models, ["", "[UNK]", "a"], ["", "[UNK]", "[start]", "[end]", "x", "y"])).Message);
        Assert.Contains("[start]", Assert.Throws<ArgumentException>(() =>
            new Translator(models, ["", "[UNK]", "a", "b", "c"], ["", "[UNK]", "u", "v", "x", "y"])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() =>
            new Translator(models, ["", "[UNK]", "a", "a", "c"], ["", "[UNK]", "[start]", "[end]", "x", "y"])).Message);
    }

    [Fact]
    public void WritesAnAttentionHeatMap()
    {
        var translator = Trained(out _, out _);
        var translation = translator.Translate("I am tired.");
        var png = Path.Combine(_dir, "map.png");
        Translator.SaveAttentionMap(translation, png);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        // Width and height from the IHDR chunk (big-endian at bytes 16 and 20).
        int width = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
        Assert.True(width >= 480);
        Assert.Throws<ArgumentException>(() => AttentionHeatmap.SavePng(png, new float[2, 3], ["a", "b"], ["x", "y"]));
        Assert.Throws<ArgumentException>(() => AttentionHeatmap.SavePng(png, new float[0, 0], [], []));
        Assert.Throws<ArgumentException>(() => AttentionHeatmap.SavePng(png, new float[1, 1] { { float.NaN } }, ["a"], ["x"]));
    }

    [Fact]
    public void TrainsOnEnglishSerbianToo()
    {
        // The templates are not tied to one language pair: the first pairs of the English–Serbian corpus (Cyrillic).
        var corpus = ParallelCorpus.ReadTsv(FindData("tatoeba-srp-eng", "srp.txt"), maxPairs: 12);
        var pairs = corpus.Select(p => (p.Source, p.Target)).ToList();
        KerasApi.SetRandomSeed(7);
        var translator = Translator.Create(pairs, Small, sourceMinFrequency: 1, targetMinFrequency: 1,
            targetTokenizer: new WordTokenizer(frenchSpacing: false));
        translator.Models.Training.Compile(optimizer: new Adam(learningRate: 0.02), loss: new SparseCategoricalCrossentropy(fromLogits: true));
        translator.Fit(pairs, epochs: 80, batchSize: 12, verbose: 0);
        // Several pairs share a source; every translation must be one of that source's references.
        var grouped = corpus.GroupBySource();
        var results = translator.Translate(grouped.Select(g => g.Source).ToList());
        int correct = grouped.Zip(results).Count(x => x.First.References.Select(WordTokenizer.Normalize).Contains(x.Second.Text));
        Assert.True(correct >= grouped.Count - 1, $"{correct} of {grouped.Count}: {string.Join(" | ", results.Select(r => r.Text))}");
        Assert.Contains(results, r => r.Text.Any(c => c is >= 'Ѐ' and <= 'ӿ'));
    }

    internal static string FindData(string folder, string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "data", folder, file);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"data/{folder}/{file} not found above the test directory.");
    }
}
