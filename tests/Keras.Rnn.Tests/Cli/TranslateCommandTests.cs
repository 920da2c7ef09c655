using System.Text.Json;
using Keras.Rnn.Cli;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Seq2Seq;
using Keras.Rnn.Tests.Seq2Seq;
using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Cli;

/// <summary><c>keras-rnn translate</c> and <c>keras-rnn bleu</c> on a small trained translator.</summary>
public sealed class TranslateCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("keras-rnn-translate-").FullName;
    private static readonly Lazy<string> SavedModel = new(() =>
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("keras-rnn-translate-model-").FullName, "t.keras");
        TranslatorTests.Trained(out _, out _).Save(path);
        return path;
    });

    public void Dispose() => Directory.Delete(_folder, true);

    private string P(string name) => Path.Combine(_folder, name);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Expected(string source) => WordTokenizer.Normalize(TranslatorTests.Pairs.Single(p => p.Source == source).Target);

    [Fact]
    public void TranslatesArgumentsInOrder()
    {
        var (code, output, error) = Run("translate", SavedModel.Value, "We are here.", "I am tired.", "--beam", "3");
        Assert.True(code == 0, error);
        Assert.Equal([Expected("We are here."), Expected("I am tired.")], output.TrimEnd('\n').Split('\n'));
        Assert.Equal("", error);
    }

    [Fact]
    public void TranslatesAFileLineByLineWithWarningsBleuAndAttentionMaps()
    {
        File.WriteAllLines(P("in.txt"), ["I am cold.", "", "Is it cold?", "I am zebra."]);
        File.WriteAllLines(P("ref.txt"), [Expected("I am cold."), "", Expected("Is it cold?"), "Je suis zèbre."]);
        var (code, output, error) = Run("translate", SavedModel.Value, "--input", P("in.txt"), "--output", P("out.txt"),
            "--attention-map", P("map.png"), "--reference", P("ref.txt"));
        Assert.True(code == 0, error);
        Assert.Equal("", output);
        var lines = File.ReadAllLines(P("out.txt"));
        Assert.Equal(4, lines.Length);
        Assert.Equal(Expected("I am cold."), lines[0]);
        Assert.Equal("", lines[1]);
        Assert.Equal(Expected("Is it cold?"), lines[2]);
        Assert.Contains("sentence 2: The sentence is empty.", error);
        Assert.Contains("sentence 4: Unknown words: zebra.", error);
        Assert.Contains("BLEU = ", error);
        Assert.True(File.Exists(P("map-1.png")));
        Assert.False(File.Exists(P("map-2.png")));
        Assert.True(File.Exists(P("map-3.png")));
        Assert.Contains("sentence 2: no attention map", error);
    }

    [Fact]
    public void BleuScoresFilesAgainstSeveralReferences()
    {
        // sacreBLEU's README example: 48.530827 with the default 13a tokenizer.
        File.WriteAllLines(P("hyp.txt"), ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]);
        File.WriteAllLines(P("ref1.txt"), ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]);
        File.WriteAllLines(P("ref2.txt"), ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]);
        var (code, output, error) = Run("bleu", P("hyp.txt"), "--reference", P("ref1.txt"), "--reference", P("ref2.txt"), "--json");
        Assert.True(code == 0, error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(48.530827, json.GetProperty("score").GetDouble(), 5);
        var text = Run("bleu", P("hyp.txt"), "--reference", P("ref1.txt"), "--reference", P("ref2.txt"));
        Assert.StartsWith("BLEU = 48.53", text.Out);
    }

    [Fact]
    public void MistakesGetOneLineErrors()
    {
        Assert.Equal(2, Run("translate", SavedModel.Value).Code);
        File.WriteAllLines(P("two.txt"), ["a", "b"]);
        File.WriteAllLines(P("one.txt"), ["a"]);
        var mismatch = Run("translate", SavedModel.Value, "--input", P("two.txt"), "--reference", P("one.txt"));
        Assert.Equal(2, mismatch.Code);
        Assert.Contains("reference file 1 has 1 lines but there are 2 sentences", mismatch.Err);
        Assert.Equal(2, Run("translate", SavedModel.Value, "x", "--input", P("two.txt")).Code);
        Assert.Equal(2, Run("translate", SavedModel.Value, "x", "--beam", "2", "--sample", "0.5").Code);
        var missing = Run("translate", P("missing.keras"), "hello");
        Assert.Equal(1, missing.Code);
        Assert.Contains("missing.keras", missing.Err);
        var plain = P("plain.keras");
        new Sequential(new InputLayer([2]), new Dense(1)).Save(plain);
        var notTranslator = Run("translate", plain, "hello");
        Assert.Equal(1, notTranslator.Code);
        Assert.Contains("not a Keras.Rnn translator", notTranslator.Err);
        Assert.Single(notTranslator.Err.Trim().Split('\n'));
    }
}
