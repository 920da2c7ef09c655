// Trains a word-level translator (bidirectional GRU encoder, GRU decoder with Luong attention) on a tab-separated
// parallel corpus, keeps the checkpoint with the best validation loss, and writes a report: BLEU (greedy and beam) on
// a held-out test split of source sentences never seen in training, the per-epoch history and sample translations.
//
// English → French (the shipped model, models/eng-fra):
//   dotnet run --project examples/TrainTranslator -c Release
// Any other corpus (source<TAB>target[<TAB>attribution] per line):
//   dotnet run --project examples/TrainTranslator -c Release -- --data my.tsv --output my-model/translator.keras --target-spacing english
// Options: --epochs N (8) --batch-size N (64) --units N (256) --embedding N (256) --attention luong|bahdanau|none
//   --attention-hidden N (256) --cell gru|lstm --dropout F (0.2) --source-min-frequency N (2) --target-min-frequency N (3)
//   --test-sources N (1000) --validation-sources N (500) --seed N (1) --limit N (first N pairs only) --patience N (3)
//   --resume (continue from OUTPUT.checkpoint.keras)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Keras.Rnn;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Seq2Seq;
using Keras.Rnn.Text;

var options = Options.Parse(args);
KerasApi.SetRandomSeed(options.Seed);
var clock = Stopwatch.StartNew();

// 1. Data and the grouped split: every translation of a source sentence lands on the same side.
var dataPath = options.Data ?? FindUp(Path.Combine("data", "tatoeba-fra-eng", "fra.txt"));
var corpus = ParallelCorpus.ReadTsv(dataPath, maxPairs: options.Limit);
int distinctSources = corpus.DistinctSourceCount;
var split = corpus.Split(validationFraction: Math.Min(0.5, (double)options.ValidationSources / distinctSources),
    testFraction: Math.Min(0.5, (double)options.TestSources / distinctSources), seed: options.Seed);
Console.WriteLine($"{dataPath}: {corpus.Count} pairs, {distinctSources} distinct sources → train {split.Train.Count} pairs, " +
                  $"validation {split.Validation.Count} pairs ({split.Validation.DistinctSourceCount} sources), test {split.Test.Count} pairs ({split.Test.DistinctSourceCount} sources)");

// 2. The translator: vocabularies from the training split only.
var outputPath = Path.GetFullPath(options.Output);
Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
var checkpointPath = Path.ChangeExtension(outputPath, ".checkpoint.keras");
var statePath = Path.ChangeExtension(outputPath, ".checkpoint.json");
var reportDir = Path.GetDirectoryName(outputPath)!;
var trainPairs = split.Train.Select(p => (p.Source, p.Target)).ToList();
var validationPairs = split.Validation.Select(p => (p.Source, p.Target)).ToList();
var state = TrainingState.Load(statePath);
Translator translator;
if (options.Resume && state is not null && File.Exists(checkpointPath))
{
    translator = Translator.Load(checkpointPath);
    Console.WriteLine($"resuming after epoch {state.EpochsDone} from {checkpointPath} (best val_loss {state.BestValidationLoss:F4}; Adam restarts)");
}
else
{
    var config = new Seq2SeqConfig
    {
        Cell = options.Cell, EmbeddingDim = options.Embedding, Units = options.Units, BidirectionalEncoder = true,
        Attention = options.Attention, AttentionHiddenUnits = options.AttentionHidden, Dropout = options.Dropout,
    };
    translator = Translator.Create(trainPairs, config,
        sourceTokenizer: new WordTokenizer(lowercase: true),
        targetTokenizer: new WordTokenizer(frenchSpacing: options.TargetSpacing == "french"),
        sourceMinFrequency: options.SourceMinFrequency, targetMinFrequency: options.TargetMinFrequency);
    state = new TrainingState();
}
Console.WriteLine($"vocabularies: {translator.SourceVocabulary.Count} source, {translator.TargetVocabulary.Count} target tokens");
translator.Models.Training.Summary();

// 3. Train; after each epoch, score greedy BLEU on the validation split and keep the best checkpoint by val_loss.
var validationRefs = split.Validation.GroupBySource().Select(g => (g.Source, g.References)).ToList();
var epochClock = Stopwatch.StartNew();
var onEpochEnd = new LambdaCallback(onEpochEnd: (epoch, logs) =>
{
    var (bleu, _) = translator.EvaluateBleu(validationRefs);
    var record = new EpochRecord(epoch + 1, logs["loss"], logs.TryGetValue("val_loss", out var v) ? v : double.NaN, bleu.Score,
        epochClock.Elapsed.TotalSeconds);
    epochClock.Restart();
    state.History.Add(record);
    state.EpochsDone = epoch + 1;
    Console.WriteLine($"epoch {record.Epoch}: loss {record.Loss:F4}  val_loss {record.ValidationLoss:F4}  val BLEU (greedy) {record.ValidationBleu:F2}  ({record.Seconds:F0} s)");
    translator.Save(checkpointPath);
    if (record.ValidationLoss < state.BestValidationLoss)
    {
        state.BestValidationLoss = record.ValidationLoss;
        state.BestEpoch = record.Epoch;
        translator.Save(outputPath);
        Console.WriteLine($"  saved the best model so far to {outputPath}");
    }
    state.Save(statePath);
});
if (state.EpochsDone < options.Epochs)
{
    var early = new EarlyStopping(monitor: "val_loss", patience: options.Patience);
    translator.Fit(trainPairs, validationPairs, epochs: options.Epochs, batchSize: options.BatchSize, verbose: 2,
        callbacks: [onEpochEnd, early], seed: options.Seed, initialEpoch: state.EpochsDone);
}
var trainingMinutes = clock.Elapsed.TotalMinutes;

// 4. Report: BLEU of the best checkpoint on the test split, greedy and beam, with timings and samples.
var best = Translator.Load(outputPath);
var testRefs = split.Test.GroupBySource().Select(g => (g.Source, g.References)).ToList();
var greedyClock = Stopwatch.StartNew();
var (greedyBleu, greedyTranslations) = best.EvaluateBleu(testRefs);
double greedySeconds = greedyClock.Elapsed.TotalSeconds;
var beamClock = Stopwatch.StartNew();
var (beamBleu, beamTranslations) = best.EvaluateBleu(testRefs, new TranslateOptions { Search = "beam", BeamWidth = 5 });
double beamSeconds = beamClock.Elapsed.TotalSeconds;
Console.WriteLine($"test ({testRefs.Count} sources, {split.Test.Count} references): greedy {greedyBleu}  ({greedySeconds:F1} s)");
Console.WriteLine($"test: beam 5 {beamBleu}  ({beamSeconds:F1} s)");

var report = new Dictionary<string, object?>
{
    ["data"] = Path.GetFileName(dataPath),
    ["pairs"] = corpus.Count,
    ["train_pairs"] = split.Train.Count,
    ["validation_sources"] = split.Validation.DistinctSourceCount,
    ["test_sources"] = split.Test.DistinctSourceCount,
    ["test_references"] = split.Test.Count,
    ["source_vocabulary"] = best.SourceVocabulary.Count,
    ["target_vocabulary"] = best.TargetVocabulary.Count,
    ["parameters"] = best.Models.Training.CountParams(),
    ["best_epoch"] = state.BestEpoch,
    ["epochs_run"] = state.EpochsDone,
    ["bleu_greedy"] = greedyBleu.Score,
    ["bleu_greedy_detail"] = greedyBleu.ToString(),
    ["bleu_beam5"] = beamBleu.Score,
    ["bleu_beam5_detail"] = beamBleu.ToString(),
    ["test_greedy_seconds"] = greedySeconds,
    ["test_beam5_seconds"] = beamSeconds,
    ["this_run_minutes"] = trainingMinutes,
    ["history"] = state.History,
    ["settings"] = options,
    ["threads"] = TorchSharp.torch.get_num_threads(),
    ["processor_count"] = Environment.ProcessorCount,
};
File.WriteAllText(Path.Combine(reportDir, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
using (var samples = new StreamWriter(Path.Combine(reportDir, "test-translations.tsv")))
{
    samples.WriteLine("source\tgreedy\tbeam5\treferences");
    for (int i = 0; i < testRefs.Count; i++)
        samples.WriteLine($"{testRefs[i].Source}\t{greedyTranslations[i].Text}\t{beamTranslations[i].Text}\t{string.Join(" | ", testRefs[i].Item2)}");
}
SaveCurves(Path.Combine(reportDir, "training-curves.png"), state.History);
Console.WriteLine($"wrote {Path.Combine(reportDir, "report.json")}, test-translations.tsv and training-curves.png; total {clock.Elapsed.TotalMinutes:F1} min");
return 0;

// Training and validation loss (left axis) and validation BLEU (right axis) per epoch, as a PNG.
static void SaveCurves(string path, IReadOnlyList<EpochRecord> history)
{
    if (history.Count == 0) return;
    double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
    var plot = new ScottPlot.Plot();
    var loss = plot.Add.Scatter(epochs, history.Select(h => h.Loss).ToArray());
    loss.LegendText = "training loss";
    var validation = plot.Add.Scatter(epochs, history.Select(h => h.ValidationLoss).ToArray());
    validation.LegendText = "validation loss";
    var bleu = plot.Add.Scatter(epochs, history.Select(h => h.ValidationBleu).ToArray());
    bleu.LegendText = "validation BLEU (greedy, right axis)";
    bleu.Axes.YAxis = plot.Axes.Right;
    plot.XLabel("epoch");
    plot.YLabel("cross-entropy");
    plot.Axes.Right.Label.Text = "BLEU";
    plot.ShowLegend(ScottPlot.Alignment.UpperCenter);
    plot.SavePng(path, 800, 450);
}

static string FindUp(string relative)
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    throw new FileNotFoundException($"Cannot find {relative}; run from the repository or pass --data.");
}

/// <summary>One epoch of the training history.</summary>
internal sealed record EpochRecord(int Epoch, double Loss, double ValidationLoss, double ValidationBleu, double Seconds);

/// <summary>What survives between runs: epochs done, the best validation loss and the history.</summary>
internal sealed class TrainingState
{
    public int EpochsDone { get; set; }
    public int BestEpoch { get; set; }
    public double BestValidationLoss { get; set; } = double.PositiveInfinity;
    public List<EpochRecord> History { get; set; } = [];

    public static TrainingState? Load(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path), Json) : null;

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>Command-line settings.</summary>
internal sealed record Options
{
    public string? Data { get; init; }
    public string Output { get; init; } = Path.Combine("models", "eng-fra", "translator.keras");
    public int Epochs { get; init; } = 8;
    public int BatchSize { get; init; } = 64;
    public string Cell { get; init; } = "gru";
    public int Units { get; init; } = 256;
    public int Embedding { get; init; } = 256;
    public string Attention { get; init; } = "luong";
    public int? AttentionHidden { get; init; } = 256;
    public double Dropout { get; init; } = 0.2;
    public int SourceMinFrequency { get; init; } = 2;
    public int TargetMinFrequency { get; init; } = 3;
    public int TestSources { get; init; } = 1000;
    public int ValidationSources { get; init; } = 500;
    public int Seed { get; init; } = 1;
    public int? Limit { get; init; }
    public int Patience { get; init; } = 3;
    public string TargetSpacing { get; init; } = "french";
    public bool Resume { get; init; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--data" => o with { Data = Next() },
                "--output" => o with { Output = Next() },
                "--epochs" => o with { Epochs = NextInt() },
                "--batch-size" => o with { BatchSize = NextInt() },
                "--cell" => o with { Cell = Next() },
                "--units" => o with { Units = NextInt() },
                "--embedding" => o with { Embedding = NextInt() },
                "--attention" => o with { Attention = Next() },
                "--attention-hidden" => o with { AttentionHidden = NextInt() },
                "--dropout" => o with { Dropout = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--source-min-frequency" => o with { SourceMinFrequency = NextInt() },
                "--target-min-frequency" => o with { TargetMinFrequency = NextInt() },
                "--test-sources" => o with { TestSources = NextInt() },
                "--validation-sources" => o with { ValidationSources = NextInt() },
                "--seed" => o with { Seed = NextInt() },
                "--limit" => o with { Limit = NextInt() },
                "--patience" => o with { Patience = NextInt() },
                "--target-spacing" => o with { TargetSpacing = Next() },
                "--resume" => o with { Resume = true },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return o;
    }
}
