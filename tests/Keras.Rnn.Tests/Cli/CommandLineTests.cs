using System.Text.Json;
using Keras.Rnn.Cli;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Cli;

/// <summary>The keras-rnn commands run in process: outputs, files written, exit codes and one-line errors.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"keras-rnn-cli-{Guid.NewGuid():N}");

    public CommandLineTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, true);

    private string P(string name) => Path.Combine(_folder, name);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(stdout); // Fit's progress bar writes to the console.
        try
        {
            int code = CommandLine.Run(args, stdout, stderr);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(previous);
        }
    }

    /// <summary>A compiled two-input, two-output model saved as .keras, and matching .npy data.</summary>
    private string SaveModel()
    {
        KerasApi.SetRandomSeed(3);
        var a = KerasApi.Input(shape: [4, 2], name: "a");
        var b = KerasApi.Input(shape: [3], name: "b");
        var h = new LSTM(5).Apply(a);
        var merged = new Concatenate().Apply([h, b]);
        var first = new Dense(1, name: "first").Apply(merged);
        var second = new Dense(2, activation: "softmax", name: "second").Apply(merged);
        var model = new Model([a, b], [first, second]);
        model.Compile(optimizer: "adam", loss: ["mse", "categorical_crossentropy"], metrics: [["mae"], ["accuracy"]]);
        var path = P("model.keras");
        model.Save(path);
        Npy.Write(P("a.npy"), torch.randn(10, 4, 2));
        Npy.Write(P("b.npy"), torch.randn(10, 3));
        Npy.Write(P("y1.npy"), torch.randn(10, 1));
        Npy.Write(P("y2.npy"), torch.nn.functional.one_hot(torch.randint(0, 2, [10]), 2).to_type(ScalarType.Float32));
        return path;
    }

    [Fact]
    public void SummaryPrintsTheKerasTable()
    {
        var (code, output, _) = Run("summary", SaveModel());
        Assert.Equal(0, code);
        Assert.Contains("Layer (type)", output);
        Assert.Contains("(LSTM)", output);
        Assert.Contains("Total params:", output);
    }

    [Fact]
    public void PredictWritesOneNpyPerOutputEqualToThePredictionsInProcess()
    {
        var path = SaveModel();
        var (code, _, err) = Run("predict", path, "--input", P("a.npy"), "--input", P("b.npy"), "--output", P("o1.npy"), "--output", P("o2.npy"), "--batch-size", "4");
        Assert.True(code == 0, err);
        var expected = Model.Load(path).PredictOutputs([Npy.Read(P("a.npy")), Npy.Read(P("b.npy"))], verbose: 0);
        Assert.True(Npy.Read(P("o1.npy")).allclose(expected[0], atol: 1e-6));
        Assert.True(Npy.Read(P("o2.npy")).allclose(expected[1], atol: 1e-6));
    }

    [Fact]
    public void EvaluatePrintsLossAndMetricsAsJson()
    {
        var path = SaveModel();
        var (code, output, err) = Run("evaluate", path, "--x", P("a.npy"), "--x", P("b.npy"), "--y", P("y1.npy"), "--y", P("y2.npy"), "--json");
        Assert.True(code == 0, err);
        var scores = JsonSerializer.Deserialize<Dictionary<string, double>>(output)!;
        var expected = Model.Load(path).Evaluate([Npy.Read(P("a.npy")), Npy.Read(P("b.npy"))], [Npy.Read(P("y1.npy")), Npy.Read(P("y2.npy"))], verbose: 0);
        Assert.Equal(expected.Keys.OrderBy(k => k), scores.Keys.OrderBy(k => k));
        Assert.Equal(expected["loss"], scores["loss"], 1e-6);
    }

    [Fact]
    public void FitTrainsWithTheSavedCompileConfigAndWritesModelAndHistory()
    {
        var path = SaveModel();
        var (code, output, err) = Run("fit", path, "--x", P("a.npy"), "--x", P("b.npy"), "--y", P("y1.npy"), "--y", P("y2.npy"),
            "--epochs", "3", "--batch-size", "4", "--no-shuffle", "--validation-split", "0.2", "--save", P("trained.keras"),
            "--history", P("history.json"), "--seed", "1");
        Assert.True(code == 0, err);
        Assert.Contains("Epoch 3/3", output);
        var history = JsonSerializer.Deserialize<Dictionary<string, List<double>>>(File.ReadAllText(P("history.json")))!;
        Assert.Equal(3, history["loss"].Count);
        Assert.Contains("val_loss", history.Keys);
        var trained = Model.Load(P("trained.keras"));
        Assert.Equal(Model.Load(path).Optimizer!.ClassName, trained.Optimizer!.ClassName);
        Assert.Equal(6, trained.Optimizer.Iterations); // 8 training samples, batch 4, 3 epochs
    }

    [Fact]
    public void ConvertGoesBothWaysWithIdenticalPredictions()
    {
        var path = SaveModel();
        Assert.Equal(0, Run("convert", path, P("legacy.h5")).Code);
        Assert.Equal(0, Run("convert", P("legacy.h5"), P("again.keras")).Code);
        var x = new ArrayLike[] { Npy.Read(P("a.npy")), Npy.Read(P("b.npy")) };
        var a = Model.Load(path).PredictOutputs(ArrayLike.Of(x), verbose: 0);
        var b = Model.Load(P("again.keras")).PredictOutputs(ArrayLike.Of(x), verbose: 0);
        Assert.True(a[1].allclose(b[1], rtol: 0, atol: 0));
    }

    [Theory]
    [InlineData("summary")]
    [InlineData("predict")]
    [InlineData("evaluate")]
    [InlineData("fit")]
    [InlineData("convert")]
    [InlineData("info")]
    public void EveryCommandHasHelp(string command)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.StartsWith($"Usage: keras-rnn {command}", output.TrimStart());
    }

    [Fact]
    public void ErrorsAreOneLineWithNonZeroExitCodes()
    {
        var path = SaveModel();
        var missing = Run("summary", P("nope.keras"));
        Assert.Equal(1, missing.Code);
        Assert.Single(missing.Err.Trim().Split('\n'));
        Assert.StartsWith("keras-rnn: error:", missing.Err);

        var wrongCount = Run("predict", path, "--input", P("a.npy"), "--output", P("o.npy"));
        Assert.Equal(2, wrongCount.Code);
        Assert.Contains("--input", wrongCount.Err);

        File.WriteAllText(P("bad.npy"), "not numpy");
        var badNpy = Run("predict", path, "--input", P("bad.npy"), "--input", P("b.npy"), "--output", P("o1.npy"), "--output", P("o2.npy"));
        Assert.Equal(1, badNpy.Code);
        Assert.Contains("bad.npy", badNpy.Err);

        Assert.Equal(2, Run("summary", path, "--frobnicate", "1").Code);
        Assert.Equal(2, Run("launch").Code);
        Assert.Equal(2, Run("fit", path, "--x", P("a.npy")).Code);
    }
}
