using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>TimeDistributed applies the same layer to every time step independently (checked in double precision).</summary>
public class TimeDistributedTests
{
    [Fact]
    public void DenseEqualsPerStepDense()
    {
        var rng = new Random(1);
        const int batch = 2, steps = 4, features = 3, units = 5;
        var kernel = T.Rand(rng, features, units);
        var bias = T.Rand(rng, units);
        var x = T.Rand(rng, batch, steps, features);
        var layer = new TimeDistributed(new Dense(units, activation: "tanh"));
        layer.Build(new Shape(null, steps, features));
        Assert.Equal(2, layer.Weights.Count);
        layer.SetWeights([kernel, bias]);
        var y = layer.Apply(T.ToTensor(x));
        var expected = new double[batch, steps, units];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                for (int u = 0; u < units; u++)
                {
                    double z = bias[u];
                    for (int k = 0; k < features; k++) z += x[b, t, k] * kernel[k, u];
                    expected[b, t, u] = Math.Tanh(z);
                }
        T.Close(expected, y, 1e-6);
    }

    [Fact]
    public void Shapes()
    {
        var layer = new TimeDistributed(new Dense(7));
        var shapes = layer.ComputeOutputShapes([new Shape(null, null, 3)], new Dictionary<string, object?>());
        Assert.Equal(new Shape(null, null, 7), shapes[0]);
        Assert.Equal(new long[] { 2, 5, 7 }, layer.Apply(torch.ones(2, 5, 3)).shape);
        // Higher rank: Dense acts on the last axis of each step.
        var four = new TimeDistributed(new Dense(2));
        Assert.Equal(new long[] { 2, 3, 4, 2 }, four.Apply(torch.ones(2, 3, 4, 6)).shape);
        Assert.Equal(new Shape(null, 3, 4, 2), four.ComputeOutputShapes([new Shape(null, 3, 4, 6)], new Dictionary<string, object?>())[0]);
        // Symbolic.
        KerasTensor symbolic = new TimeDistributed(new Dense(4)).Apply(KerasApi.Input(shape: [null, 3]));
        Assert.Equal(new Shape(null, null, 4), symbolic.Shape);
    }

    [Fact]
    public void WrappedLstmRunsPerOuterStep()
    {
        // (batch, outer, inner, features): the LSTM runs over `inner` for each outer step independently.
        var rng = new Random(2);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 3, 2);
        var x = new double[2, 3, 4, 3];
        var flat = T.Flat(x);
        for (int i = 0; i < flat.Length; i++) flat[i] = (float)(rng.NextDouble() * 2 - 1);
        var lstm = new LSTM(2);
        var layer = new TimeDistributed(lstm);
        layer.Build(new Shape(null, 3, 4, 3));
        layer.SetWeights(w.ToKerasList());
        var y = layer.Apply(T.ToTensor(x));
        Assert.Equal(new long[] { 2, 3, 2 }, y.shape);
        // Reference: each (b, outer) sequence separately.
        var seqs = new double[6, 4, 3];
        for (int b = 0; b < 2; b++)
            for (int o = 0; o < 3; o++)
                for (int t = 0; t < 4; t++)
                    for (int k = 0; k < 3; k++) seqs[b * 3 + o, t, k] = x[b, o, t, k];
        var last = RnnReference.Last(RnnReference.Run(CellKind.Lstm, w, seqs).Outputs);
        T.Close(T.Flat(last).ToArray(), T.Values(y), 1e-5);
    }

    [Fact]
    public void RejectsLowRankAndMultiOutputLayers()
    {
        var ex = Assert.ThrowsAny<Exception>(() => new TimeDistributed(new Dense(2), name: "td_rank").Apply(torch.ones(2, 3)));
        Assert.Contains("td_rank", ex.Message);
        var multi = new TimeDistributed(new LSTM(2, returnState: true), name: "td_multi");
        var m = Assert.Throws<KerasLayerException>(() => multi.Apply(torch.ones(2, 3, 4, 5)));
        Assert.Contains("td_multi", m.Message);
    }
}
