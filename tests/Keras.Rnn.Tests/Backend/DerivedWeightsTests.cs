using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

/// <summary>
/// Recurrent layers keep their weights in torch's layout between inference calls (<see cref="DerivedWeights"/>). These
/// tests change the weights in every way the library offers (SetWeights, Variable.Assign, Fit, LoadWeights, freezing
/// and unfreezing) between two predictions and check that the second prediction equals that of a freshly built model
/// holding the same weights, which has no cache yet (so a stale cache would show).
/// </summary>
public class DerivedWeightsTests
{
    private const int Steps = 5, Features = 4, Units = 6;

    private static readonly Tensor X = torch.randn(new long[] { 3, Steps, Features }, generator: new Generator(7));
    private static readonly Tensor Y = torch.randn(new long[] { 3, 2 }, generator: new Generator(8));

    public enum Kind { Lstm, Gru, SimpleRnn }

    /// <summary>A model whose recurrent layer runs torch's fused kernel in inference (the path with the cache).</summary>
    private static Sequential Build(Kind kind, int seed)
    {
        KerasApi.SetRandomSeed(seed);
        // LSTM: torch's kernel is the CPU default for inference; GRU: useCudnn demands it; SimpleRNN: see UsingTorchKernels.
        Layer rnn = kind switch
        {
            Kind.Lstm => new LSTM(Units),
            Kind.Gru => new GRU(Units, useCudnn: true),
            _ => new SimpleRNN(Units),
        };
        var model = new Sequential(new InputLayer([Steps, Features]), rnn, new Dense(2));
        model.Compile(optimizer: new SGD(learningRate: 0.5), loss: "mse");
        return model;
    }

    private static DerivedWeights CacheOf(Model model) => model.Layers.Single(l => l is RNN) switch
    {
        LSTM l => l.TorchLayoutWeights,
        GRU g => g.TorchLayoutWeights,
        SimpleRNN s => s.TorchLayoutWeights,
        var other => throw new InvalidOperationException(other.GetType().Name),
    };

    /// <summary>The prediction of a new model (same architecture, no cache) holding <paramref name="weights"/>.</summary>
    private static Tensor FreshPrediction(Kind kind, Array[] weights)
    {
        var fresh = Build(kind, 99);
        fresh.SetWeights(weights);
        return fresh.Predict(X, verbose: 0);
    }

    /// <summary>SimpleRNN (and any layer on CPU) runs torch's fused kernel in inference only with the Aten mode.</summary>
    private static void UsingTorchKernels(Kind kind, Action body)
    {
        var saved = RecurrentKernels.Mode;
        if (kind == Kind.SimpleRnn) RecurrentKernels.Mode = RecurrentKernelMode.Aten;
        try
        {
            body();
        }
        finally
        {
            RecurrentKernels.Mode = saved;
        }
    }

    private static void AssertChangedAndFresh(Kind kind, Model model, Tensor before)
    {
        var after = model.Predict(X, verbose: 0);
        Assert.False(after.allclose(before, rtol: 0, atol: 1e-6), "the weights change should change the prediction");
        var expected = FreshPrediction(kind, model.GetWeights());
        Assert.True(after.EqualsExactly(expected), $"prediction after the change differs from a fresh model's by {after.sub(expected).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.SimpleRnn)]
    public void InferenceReusesTheTorchLayoutWeightsWhileTheyAreUnchanged(Kind kind) => UsingTorchKernels(kind, () =>
    {
        var model = Build(kind, 1);
        var first = model.Predict(X, verbose: 0);
        var second = model.Predict(X, verbose: 0);
        Assert.Equal(1, CacheOf(model).Refreshes);
        Assert.True(first.EqualsExactly(second));
        Assert.True(first.EqualsExactly(FreshPrediction(kind, model.GetWeights())));
        // Gradient-recording calls derive afresh (the derived tensors are part of the graph) and leave the cache alone.
        model.TrainOnBatch(X, Y);
        Assert.Equal(1, CacheOf(model).Refreshes);
    });

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.SimpleRnn)]
    public void SetWeightsInvalidatesTheCache(Kind kind) => UsingTorchKernels(kind, () =>
    {
        var model = Build(kind, 1);
        var before = model.Predict(X, verbose: 0);
        model.SetWeights(Build(kind, 2).GetWeights());
        AssertChangedAndFresh(kind, model, before);
    });

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.SimpleRnn)]
    public void AssigningOneVariableInvalidatesTheCache(Kind kind) => UsingTorchKernels(kind, () =>
    {
        var model = Build(kind, 1);
        var before = model.Predict(X, verbose: 0);
        var recurrentKernel = model.Layers.Single(l => l is RNN).Weights.Single(v => v.Name == "recurrent_kernel");
        recurrentKernel.Assign(recurrentKernel.Value.detach().mul(-1.5));
        AssertChangedAndFresh(kind, model, before);
    });

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.SimpleRnn)]
    public void FitInvalidatesTheCache(Kind kind) => UsingTorchKernels(kind, () =>
    {
        var model = Build(kind, 1);
        var before = model.Predict(X, verbose: 0);
        model.Fit(X, Y, batchSize: 3, epochs: 2, verbose: 0);
        AssertChangedAndFresh(kind, model, before);
        // Training resumes after a prediction: the next prediction sees the newest weights again.
        var middle = model.Predict(X, verbose: 0);
        model.Fit(X, Y, batchSize: 1, epochs: 1, verbose: 0);
        AssertChangedAndFresh(kind, model, middle);
    });

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.SimpleRnn)]
    public void LoadWeightsInvalidatesTheCache(Kind kind) => UsingTorchKernels(kind, () =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"keras-rnn-derived-{Guid.NewGuid():N}.weights.h5");
        try
        {
            Build(kind, 2).SaveWeights(path);
            var model = Build(kind, 1);
            var before = model.Predict(X, verbose: 0);
            model.LoadWeights(path);
            AssertChangedAndFresh(kind, model, before);
        }
        finally
        {
            File.Delete(path);
        }
    });

    [Fact]
    public void FrozenLayerTrainsThroughCachedWeightsAndUnfreezingUpdatesThem()
    {
        var model = Build(Kind.Lstm, 1);
        var lstm = model.Layers.OfType<LSTM>().Single();
        lstm.Trainable = false;
        model.Compile(optimizer: new SGD(learningRate: 0.5), loss: "mse");
        var lstmBefore = lstm.GetWeights();
        var before = model.Predict(X, verbose: 0);
        // The frozen LSTM needs no gradient for its weights, so training may use (and keep) the cached weights.
        model.Fit(X, Y, batchSize: 3, epochs: 2, verbose: 0);
        Assert.All(lstm.GetWeights().Zip(lstmBefore), p => Assert.Equal(p.Second.Cast<float>(), p.First.Cast<float>()));
        Assert.Equal(1, CacheOf(model).Refreshes);
        AssertChangedAndFresh(Kind.Lstm, model, before);
        lstm.Trainable = true;
        model.Compile(optimizer: new SGD(learningRate: 0.5), loss: "mse");
        var middle = model.Predict(X, verbose: 0);
        model.Fit(X, Y, batchSize: 3, epochs: 2, verbose: 0);
        Assert.NotEqual(lstmBefore[1].Cast<float>(), lstm.GetWeights()[1].Cast<float>());
        AssertChangedAndFresh(Kind.Lstm, model, middle);
    }
}
