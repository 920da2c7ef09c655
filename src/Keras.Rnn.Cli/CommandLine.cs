using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Keras.Rnn;
using Keras.Rnn.Models;
using Keras.Rnn.Utils;
using TorchSharp;

namespace Keras.Rnn.Cli;

/// <summary>
/// The <c>keras-rnn</c> commands. Every command has <c>--help</c>; errors print one line
/// (<c>keras-rnn: error: ...</c>) and exit with a non-zero code.
/// </summary>
public static class CommandLine
{
    private const string Usage = """
        Usage: keras-rnn <command> [options]

        Commands:
          summary   Print a model's summary table (.keras or legacy .h5).
          predict   Run a model on .npy inputs and write .npy outputs.
          evaluate  Compute a compiled model's loss and metrics on .npy data.
          fit       Train a compiled model on .npy data and save it.
          convert   Convert between .keras and legacy .h5.
          translate Translate sentences with a translator model (.keras from Translator.Save).
          bleu      Score translations against references with corpus BLEU (sacreBLEU 13a).
          info      Show the Keras.Rnn version, the libtorch in use and the devices.

        Run 'keras-rnn <command> --help' for a command's options.
        """;

    private static readonly Dictionary<string, (string Help, Func<Arguments, TextWriter, int> Run)> Commands = new()
    {
        ["summary"] = ("""
            Usage: keras-rnn summary MODEL

            Prints Keras' summary table of MODEL (a .keras archive or a legacy Keras .h5 file).
            """, Summary),
        ["predict"] = ("""
            Usage: keras-rnn predict MODEL --input X.npy [--input X2.npy ...] --output Y.npy [--output Y2.npy ...]
                                     [--weights W] [--batch-size N]

              --input X.npy     One per model input, in order (float32/float64/int32/int64/bool, C order).
              --output Y.npy    One per model output, in order (written as float32).
              --weights W       Load these weights (.weights.h5 or legacy weights .h5) into MODEL's architecture first.
              --batch-size N    Samples per batch (default 32).
            """, Predict),
        ["evaluate"] = ("""
            Usage: keras-rnn evaluate MODEL --x X.npy [--x X2.npy ...] --y Y.npy [--y Y2.npy ...] [--batch-size N] [--json]

            Uses the loss and metrics MODEL was compiled with.
              --x X.npy         One per model input, in order.
              --y Y.npy         Targets, one per model output.
              --batch-size N    Samples per batch (default 32).
              --json            Print {"loss": ..., "metric": ...} instead of lines.
            """, Evaluate),
        ["fit"] = ("""
            Usage: keras-rnn fit MODEL --x X.npy [--x ...] --y Y.npy [--y ...] --epochs N --batch-size N --save OUT
                                 [--no-shuffle] [--validation-split F] [--history H.json] [--seed S]

            Trains MODEL with the optimizer, loss and metrics it was compiled with, showing Keras' progress bar.
              --epochs N             Number of epochs.
              --batch-size N         Samples per gradient update.
              --save OUT             Where to write the trained model (.keras or legacy .h5).
              --no-shuffle           Keep the data order.
              --validation-split F   Hold out the last fraction F for validation.
              --history H.json       Write the per-epoch history as {"loss": [...], ...}.
              --seed S               Seed weight initialisation, shuffling and dropout.
            """, Fit),
        ["convert"] = ("""
            Usage: keras-rnn convert IN OUT

            Converts a model between the .keras archive format and the legacy Keras .h5 format (by extension).
            """, Convert),
        ["translate"] = ("""
            Usage: keras-rnn translate MODEL [TEXT ...] [--input FILE] [--output FILE] [--beam N] [--max-length N]
                                       [--attention-map PNG] [--sample T] [--seed S] [--batch-size N] [--reference REF ...]

            Translates each TEXT argument, or each line of FILE (one sentence per line), and writes one translation
            per line in input order. Warnings (empty lines, unknown words, truncated sentences) go to standard error.
              --input FILE          Read sentences from FILE ('-' for standard input) instead of arguments.
              --output FILE         Write the translations to FILE (default: standard output).
              --beam N              Beam search with N beams (default 1: greedy).
              --max-length N        Produce at most N tokens per sentence (default: the model's).
              --attention-map PNG   Write the attention heat map to PNG (several sentences: PNG-1.png, PNG-2.png, ...).
              --sample T            Sample with temperature T instead of searching.
              --seed S              Seed for --sample.
              --batch-size N        Sentences decoded together (default 64).
              --reference REF       A file of reference translations, line-aligned with the input (repeat for several
                                    references); prints the corpus BLEU to standard error.
            """, Translate),
        ["bleu"] = ("""
            Usage: keras-rnn bleu HYPOTHESES --reference REF [--reference REF2 ...] [--json]

            Corpus BLEU (4-gram, brevity penalty, sacreBLEU's 13a tokenization) of the lines of HYPOTHESES against one
            or more line-aligned reference files. An empty reference line means "no reference from this file" (an
            empty reference when every file's line is empty).
            """, BleuCommand),
        ["info"] = ("""
            Usage: keras-rnn info

            Shows the Keras.Rnn version, where libtorch was loaded from, whether a patched TorchSharp glue library was
            needed, and the devices.
            """, Info),
    };

    /// <summary>Runs a command line; returns the process exit code.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Normal output.</param>
    /// <param name="stderr">Error output.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        Stderr = stderr;
        if (args.Length == 0)
        {
            stderr.WriteLine(Usage);
            return 2;
        }
        if (args[0] is "-h" or "--help")
        {
            stdout.WriteLine(Usage);
            return 0;
        }
        if (args[0] == "--version") return Version(stdout);
        if (!Commands.TryGetValue(args[0], out var command))
            return Fail(stderr, $"unknown command '{args[0]}'. Run 'keras-rnn --help' for the list of commands.", 2);
        var rest = args[1..];
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            stdout.WriteLine(command.Help);
            return 0;
        }
        try
        {
            return command.Run(Arguments.Parse(rest), stdout);
        }
        catch (UsageException e)
        {
            return Fail(stderr, e.Message + $" Run 'keras-rnn {args[0]} --help'.", 2);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException
                                   or KerasNativeLibraryException or UnauthorizedAccessException or KeyNotFoundException
                                   or FormatException or JsonException or NotSupportedException or InvalidCastException)
        {
            return Fail(stderr, e.Message.Split('\n')[0].Trim(), 1);
        }
    }

    /// <summary>Where commands write warnings (the <c>stderr</c> of the running <see cref="Run"/>).</summary>
    [ThreadStatic]
    private static TextWriter? t_stderr;

    private static TextWriter Stderr
    {
        get => t_stderr ?? Console.Error;
        set => t_stderr = value;
    }

    private static int Fail(TextWriter stderr, string message, int code)
    {
        stderr.WriteLine("keras-rnn: error: " + message);
        return code;
    }

    private static int Version(TextWriter stdout)
    {
        stdout.WriteLine(typeof(KerasApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
        return 0;
    }

    // ---------------------------------------------------------------- commands

    private static int Summary(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 1, options: []);
        var model = Model.Load(a.Positional[0]);
        stdout.Write(model.SummaryText());
        return 0;
    }

    private static int Predict(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 1, options: ["--input", "--output", "--weights", "--batch-size"]);
        var inputs = a.Required("--input");
        var outputs = a.Required("--output");
        var model = Model.Load(a.Positional[0]);
        if (a.Single("--weights") is { } weights) model.LoadWeights(weights);
        CheckCount(inputs.Count, model.Inputs.Count, "--input", "input");
        CheckCount(outputs.Count, model.Outputs.Count, "--output", "output");
        int batchSize = a.Int("--batch-size") ?? 32;
        var data = inputs.Select(p => (ArrayLike)Npy.Read(p)).ToArray();
        var results = model.PredictOutputs(ArrayLike.Of(data), batchSize: batchSize, verbose: 0);
        for (int i = 0; i < results.Count; i++) Npy.Write(outputs[i], results[i]);
        stdout.WriteLine($"wrote {string.Join(", ", outputs.Select((p, i) => $"{p} {Shape.Of(results[i].shape)}"))}");
        return 0;
    }

    private static int Evaluate(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 1, options: ["--x", "--y", "--batch-size", "--json"]);
        var model = Model.Load(a.Positional[0]);
        RequireCompiled(model, a.Positional[0]);
        var (x, y) = Data(a, model);
        var scores = model.Evaluate(x, y, batchSize: a.Int("--batch-size") ?? 32, verbose: 0);
        if (a.Flag("--json")) stdout.WriteLine(JsonSerializer.Serialize(scores));
        else foreach (var (k, v) in scores) stdout.WriteLine($"{k}: {v.ToString("R", CultureInfo.InvariantCulture)}");
        return 0;
    }

    private static int Fit(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 1, options: ["--x", "--y", "--epochs", "--batch-size", "--no-shuffle", "--validation-split", "--save", "--history", "--seed"]);
        if (a.Int("--seed") is { } seed) KerasApi.SetRandomSeed(seed);
        var save = a.Single("--save") ?? throw new UsageException("--save OUT is required.");
        int epochs = a.Int("--epochs") ?? throw new UsageException("--epochs N is required.");
        int batchSize = a.Int("--batch-size") ?? throw new UsageException("--batch-size N is required.");
        var model = Model.Load(a.Positional[0]);
        RequireCompiled(model, a.Positional[0]);
        var (x, y) = Data(a, model);
        double split = a.Double("--validation-split") ?? 0.0;
        var history = model.Fit(x, y, batchSize: batchSize, epochs: epochs, shuffle: !a.Flag("--no-shuffle"), validationSplit: split);
        model.Save(save);
        if (a.Single("--history") is { } historyPath)
        {
            var json = JsonSerializer.Serialize(history.HistoryValues, new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(historyPath, json);
        }
        stdout.WriteLine($"saved {save}");
        return 0;
    }

    private static int Convert(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 2, options: []);
        var (source, target) = (a.Positional[0], a.Positional[1]);
        bool toKeras = target.EndsWith(".keras", StringComparison.OrdinalIgnoreCase);
        bool toH5 = target.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) && !target.EndsWith(".weights.h5", StringComparison.OrdinalIgnoreCase);
        if (!toKeras && !toH5)
            throw new UsageException($"OUT must end in .keras or .h5 (legacy full model), got '{target}'.");
        var model = Model.Load(source);
        model.Save(target);
        stdout.WriteLine($"converted {source} → {target}");
        return 0;
    }

    private static int Info(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 0, options: []);
        KerasConfig.InitializeNativeLibraries();
        stdout.WriteLine($"Keras.Rnn {typeof(KerasApi).Assembly.GetName().Version}");
        stdout.WriteLine($"libtorch folder: {KerasConfig.LoadedLibTorchFolder ?? "(chosen by TorchSharp)"}");
        stdout.WriteLine($"patched TorchSharp glue: {KerasConfig.PatchedNativeLibraryPath ?? "not needed"}");
        stdout.WriteLine($"threads: {torch.get_num_threads()}");
        stdout.WriteLine($"cuda: {(torch.cuda.is_available() ? $"available, {torch.cuda.device_count()} device(s)" : "not available")}");
        using var check = torch.ones(2, 2).matmul(torch.ones(2, 2));
        stdout.WriteLine($"check: {check.sum().item<float>()}");
        return 0;
    }

    private static int Translate(Arguments a, TextWriter stdout)
    {
        a.ExpectAtLeast(positional: 1, options: ["--input", "--output", "--beam", "--max-length", "--attention-map", "--sample", "--seed",
            "--batch-size", "--reference"]);
        var modelPath = a.Positional[0];
        var texts = a.Positional.Skip(1).ToList();
        var input = a.Single("--input");
        if (input is not null && texts.Count > 0) throw new UsageException("give sentences as arguments or with --input FILE, not both.");
        if (input is null && texts.Count == 0) throw new UsageException("give at least one sentence, or --input FILE.");
        var sentences = input is null ? texts : ReadLines(input);
        int beam = a.Int("--beam") ?? 1;
        var sample = a.Double("--sample");
        if (sample is not null && beam > 1) throw new UsageException("--sample and --beam cannot be combined.");
        if (sample is <= 0) throw new UsageException($"--sample expects a positive temperature, got {sample}.");
        var options = new Seq2Seq.TranslateOptions
        {
            Search = sample is not null ? "sample" : beam > 1 ? "beam" : "greedy",
            BeamWidth = beam,
            Temperature = sample ?? 1.0,
            Seed = a.Single("--seed") is { } seedText ? int.Parse(seedText, CultureInfo.InvariantCulture) : null,
            MaxLength = a.Int("--max-length"),
            BatchSize = a.Int("--batch-size") ?? 64,
        };
        var references = a.Optional("--reference").Select(ReadLines).ToList();
        foreach (var (r, i) in references.Select((r, i) => (r, i)))
            if (r.Count != sentences.Count)
                throw new UsageException($"reference file {i + 1} has {r.Count} lines but there are {sentences.Count} sentences.");
        var translator = Seq2Seq.Translator.Load(modelPath);
        var translations = translator.Translate(sentences, options);
        for (int i = 0; i < translations.Count; i++)
            foreach (var warning in translations[i].Warnings)
                Stderr.WriteLine($"keras-rnn: warning: sentence {i + 1}: {warning}");
        var lines = translations.Select(t => t.Text).ToList();
        if (a.Single("--output") is { } output) Saving.AtomicFile.Write(output, overwrite: true, s =>
        {
            var bytes = new System.Text.UTF8Encoding(false).GetBytes(string.Concat(lines.Select(l => l + "\n")));
            s.Write(bytes);
        });
        else foreach (var line in lines) stdout.WriteLine(line);
        if (a.Single("--attention-map") is { } map)
        {
            for (int i = 0; i < translations.Count; i++)
            {
                var path = translations.Count == 1 ? map
                    : Path.Combine(Path.GetDirectoryName(map) ?? "", $"{Path.GetFileNameWithoutExtension(map)}-{i + 1}{Path.GetExtension(map)}");
                if (translations[i].Attention is null || translations[i].TargetTokens.Count == 0)
                {
                    Stderr.WriteLine($"keras-rnn: warning: sentence {i + 1}: no attention map (the model has no attention, or nothing was produced).");
                    continue;
                }
                Seq2Seq.Translator.SaveAttentionMap(translations[i], path);
            }
        }
        if (references.Count > 0)
        {
            var score = Metrics.Bleu.Corpus(lines, ReferenceSets(references, lines.Count));
            Stderr.WriteLine(score.ToString());
        }
        return 0;
    }

    private static int BleuCommand(Arguments a, TextWriter stdout)
    {
        a.Expect(positional: 1, options: ["--reference", "--json"]);
        var hypotheses = ReadLines(a.Positional[0]);
        var references = a.Required("--reference").Select(ReadLines).ToList();
        foreach (var (r, i) in references.Select((r, i) => (r, i)))
            if (r.Count != hypotheses.Count)
                throw new UsageException($"reference file {i + 1} has {r.Count} lines but HYPOTHESES has {hypotheses.Count}.");
        var score = Metrics.Bleu.Corpus(hypotheses, ReferenceSets(references, hypotheses.Count));
        if (a.Flag("--json"))
            stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["score"] = score.Score, ["precisions"] = score.Precisions, ["brevity_penalty"] = score.BrevityPenalty,
                ["hypothesis_length"] = score.HypothesisLength, ["reference_length"] = score.ReferenceLength,
            }));
        else stdout.WriteLine(score.ToString());
        return 0;
    }

    /// <summary>Per sentence, the non-empty lines of the reference files (one empty reference when all are empty).</summary>
    private static List<IReadOnlyList<string>> ReferenceSets(List<List<string>> files, int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var references = files.Select(f => f[i]).Where(l => l.Length > 0).ToList();
            return (IReadOnlyList<string>)(references.Count > 0 ? references : [""]);
        }).ToList();

    /// <summary>The lines of a UTF-8 text file ('-': standard input), without line ends.</summary>
    private static List<string> ReadLines(string path)
    {
        using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path, new System.Text.UTF8Encoding(false, true));
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    // ---------------------------------------------------------------- helpers

    private static (ArrayLike X, ArrayLike Y) Data(Arguments a, Model model)
    {
        var xs = a.Required("--x");
        var ys = a.Required("--y");
        CheckCount(xs.Count, model.Inputs.Count, "--x", "input");
        CheckCount(ys.Count, model.Outputs.Count, "--y", "output");
        return (ArrayLike.Of(xs.Select(p => (ArrayLike)Npy.Read(p)).ToArray()), ArrayLike.Of(ys.Select(p => (ArrayLike)Npy.Read(p)).ToArray()));
    }

    private static void CheckCount(int given, int expected, string option, string what)
    {
        if (expected > 0 && given != expected)
            throw new UsageException($"the model has {expected} {what}(s); give {option} {expected} time(s), got {given}.");
    }

    private static void RequireCompiled(Model model, string path)
    {
        if (!model.Compiled)
            throw new InvalidOperationException($"'{path}' holds no compile configuration (loss, optimizer); save it from a compiled model.");
    }
}

/// <summary>A usage mistake: wrong or missing options.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Positional arguments and <c>--option value</c> pairs (options may repeat).</summary>
internal sealed class Arguments
{
    private static readonly HashSet<string> Flags = ["--no-shuffle", "--json"];
    private readonly Dictionary<string, List<string>> _options = new();

    public List<string> Positional { get; } = [];

    public static Arguments Parse(string[] args)
    {
        var result = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                string? value = null;
                var eq = arg.IndexOf('=');
                if (eq > 0)
                {
                    value = arg[(eq + 1)..];
                    arg = arg[..eq];
                }
                else if (!Flags.Contains(arg))
                {
                    if (i + 1 >= args.Length) throw new UsageException($"option {arg} needs a value.");
                    value = args[++i];
                }
                if (!result._options.TryGetValue(arg, out var list)) result._options[arg] = list = [];
                list.Add(value ?? "true");
            }
            else
            {
                result.Positional.Add(arg);
            }
        }
        return result;
    }

    public void Expect(int positional, IReadOnlyCollection<string> options)
    {
        if (Positional.Count != positional)
            throw new UsageException(positional switch
            {
                0 => $"unexpected argument '{Positional[0]}'.",
                1 => Positional.Count == 0 ? "MODEL is required." : $"unexpected argument '{Positional[1]}'.",
                _ => $"expected {positional} arguments, got {Positional.Count}.",
            });
        foreach (var key in _options.Keys)
            if (!options.Contains(key)) throw new UsageException($"unknown option {key}.");
    }

    public void ExpectAtLeast(int positional, IReadOnlyCollection<string> options)
    {
        if (Positional.Count < positional) throw new UsageException(positional == 1 ? "MODEL is required." : $"expected at least {positional} arguments.");
        foreach (var key in _options.Keys)
            if (!options.Contains(key)) throw new UsageException($"unknown option {key}.");
    }

    public IReadOnlyList<string> Optional(string option) => _options.TryGetValue(option, out var v) ? v : [];

    public IReadOnlyList<string> Required(string option) =>
        _options.TryGetValue(option, out var v) ? v : throw new UsageException($"{option} is required.");

    public string? Single(string option)
    {
        if (!_options.TryGetValue(option, out var v)) return null;
        if (v.Count > 1) throw new UsageException($"{option} may be given once.");
        return v[0];
    }

    public bool Flag(string option) => _options.ContainsKey(option);

    public int? Int(string option)
    {
        var s = Single(option);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n <= 0)
            throw new UsageException($"{option} expects a positive integer, got '{s}'.");
        return n;
    }

    public double? Double(string option)
    {
        var s = Single(option);
        if (s is null) return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            throw new UsageException($"{option} expects a number, got '{s}'.");
        return d;
    }
}
