// Keras' character-level sequence-to-sequence example (keras.io/examples/nlp/lstm_seq2seq), in C#:
// English → French, character by character, with an LSTM encoder whose final states start an LSTM decoder.
// Train, save, reload, decode.
//
// Run: dotnet run --project examples/CharSeq2Seq -c Release -- [--samples 10000] [--epochs 30] [--batch-size 64]
// (Keras' example trains 100 epochs of 10,000 pairs; the defaults here are 30 epochs, see README for timings.)
using System.Diagnostics;
using Keras.Rnn;
using Keras.Rnn.Seq2Seq;
using TorchSharp;
using static TorchSharp.torch;

int samples = Option(args, "--samples", 10000), epochs = Option(args, "--epochs", 30), batchSize = Option(args, "--batch-size", 64);
const int latentDim = 256;
KerasApi.SetRandomSeed(1);

// 1. Data: the first pairs of the Tatoeba English–French corpus; "\t" starts and "\n" ends each target.
var corpus = FindUp(Path.Combine("data", "tatoeba-fra-eng", "fra.txt"));
var pairs = File.ReadLines(corpus).Take(samples).Select(l => l.Split('\t')).Where(p => p.Length >= 2)
    .Select(p => (Source: p[0], Target: "\t" + p[1] + "\n")).ToList();
var sourceChars = pairs.SelectMany(p => p.Source).Distinct().Order().ToList();
var targetChars = pairs.SelectMany(p => p.Target).Distinct().Order().ToList();
var sourceIndex = sourceChars.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
var targetIndex = targetChars.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
int maxSource = pairs.Max(p => p.Source.Length), maxTarget = pairs.Max(p => p.Target.Length);
Console.WriteLine($"{pairs.Count} pairs; {sourceChars.Count} input and {targetChars.Count} output characters; " +
                  $"longest input {maxSource}, longest output {maxTarget}");

var encoderInput = new float[pairs.Count, maxSource, sourceChars.Count];
var decoderInput = new float[pairs.Count, maxTarget, targetChars.Count];
var decoderTarget = new float[pairs.Count, maxTarget, targetChars.Count];
// As in Keras' example, sequences are padded with the space character (one-hot), not with zero vectors.
int sourceSpace = sourceIndex[' '], targetSpace = targetIndex[' '];
for (int i = 0; i < pairs.Count; i++)
{
    var (source, target) = pairs[i];
    for (int t = 0; t < maxSource; t++) encoderInput[i, t, t < source.Length ? sourceIndex[source[t]] : sourceSpace] = 1;
    for (int t = 0; t < maxTarget; t++)
    {
        decoderInput[i, t, t < target.Length ? targetIndex[target[t]] : targetSpace] = 1;
        // The target is the decoder input one step ahead (without the start character).
        decoderTarget[i, t, t + 1 < target.Length ? targetIndex[target[t + 1]] : targetSpace] = 1;
    }
}

// 2. The models: Keras' example is exactly this configuration of the seq2seq builder.
var config = new Seq2SeqConfig
{
    SourceVocabularySize = sourceChars.Count, TargetVocabularySize = targetChars.Count,
    Cell = "lstm", Units = latentDim, OneHotInputs = true,
};
var models = Seq2SeqBuilder.Build(config);
models.Training.Summary();
models.Training.Compile(optimizer: "rmsprop", loss: "categorical_crossentropy", metrics: ["accuracy"]);

// 3. Train, then save.
var clock = Stopwatch.StartNew();
models.Training.Fit([encoderInput, decoderInput], decoderTarget, batchSize: batchSize, epochs: epochs, validationSplit: 0.2);
Console.WriteLine($"trained in {clock.Elapsed.TotalMinutes:F1} min");
var path = Path.Combine(Path.GetTempPath(), "s2s_model.keras");
models.Training.Save(path);

// 4. Reload into fresh inference models that share the loaded weights, and decode greedily.
var reloaded = Seq2SeqBuilder.Build(config);
reloaded.Training.LoadWeights(path);
Console.WriteLine($"reloaded {path}");
for (int i = 0; i < 20; i++)
{
    int index = i * (pairs.Count / 20);
    using var scope = torch.NewDisposeScope();
    using var noGrad = torch.no_grad();
    var source = torch.tensor(Slice(encoderInput, index), [1, maxSource, sourceChars.Count]);
    var states = reloaded.Encode(source);
    var decoded = SequenceSearch.Greedy(reloaded.Step, states, 1, targetIndex['\t'], targetIndex['\n'], maxTarget)[0];
    var text = new string(decoded.Tokens.Where(t => t != targetIndex['\n']).Select(t => targetChars[(int)t]).ToArray());
    Console.WriteLine($"-\nInput sentence: {pairs[index].Source}\nDecoded sentence: {text}");
}
return 0;

static float[] Slice(float[,,] data, int i)
{
    int a = data.GetLength(1), b = data.GetLength(2);
    var result = new float[a * b];
    for (int t = 0; t < a; t++) for (int c = 0; c < b; c++) result[t * b + c] = data[i, t, c];
    return result;
}

static int Option(string[] args, string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}

static string FindUp(string relative)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    throw new FileNotFoundException($"Cannot find {relative} above {AppContext.BaseDirectory}; run from the repository.");
}
