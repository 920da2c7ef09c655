using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Models;

public class WeightsTests
{
    [Fact]
    public void GetWeightsFollowsKerasOrderAndShapes()
    {
        var model = new Sequential(new InputLayer([7, 3]), new LSTM(4, returnSequences: true), new GRU(5, returnSequences: true), new GRU(2, resetAfter: false), new Dense(1));
        var shapes = model.GetWeights().Select(w => string.Join("x", Enumerable.Range(0, w.Rank).Select(w.GetLength))).ToArray();
        Assert.Equal(["3x16", "4x16", "16", "4x15", "5x15", "2x15", "5x6", "2x6", "6", "2x1", "1"], shapes);
        Assert.Equal(["lstm_cell/kernel", "lstm_cell/recurrent_kernel", "lstm_cell/bias"],
            model.Layers[0].Weights.Select(v => v.Path[(v.Path.IndexOf('/') + 1)..]));
        Assert.StartsWith(model.Layers[0].Name + "/lstm_cell/", model.Layers[0].Weights[0].Path);
    }

    [Fact]
    public void UnitForgetBiasInitialisesOnlyTheForgetGate()
    {
        var lstm = new LSTM(3);
        lstm.Build(new Shape(null, 2, 4));
        var bias = (float[])lstm.GetWeights()[2];
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0 }, bias);
        var plain = new LSTM(3, unitForgetBias: false);
        plain.Build(new Shape(null, 2, 4));
        Assert.All((float[])plain.GetWeights()[2], b => Assert.Equal(0f, b));
    }

    [Fact]
    public void SetWeightsRoundTripsAndChecksCountsAndShapes()
    {
        var dense = new Dense(2, name: "head");
        dense.Build(new Shape(null, 3));
        var kernel = new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } };
        dense.SetWeights([kernel, new float[] { 0.5f, -0.5f }]);
        var y = dense.Apply(torch.tensor(new float[] { 1, 1, 1 }).reshape(1, 3));
        Assert.Equal(new float[] { 9.5f, 11.5f }, y.data<float>().ToArray());
        Assert.Equal(kernel, (float[,])dense.GetWeights()[0]);

        var count = Assert.Throws<ArgumentException>(() => dense.SetWeights([kernel]));
        Assert.Contains("expects 2 weights", count.Message);
        var shape = Assert.Throws<ArgumentException>(() => dense.SetWeights([new float[2, 3], new float[2]]));
        Assert.Contains("head", shape.Message);
        Assert.Contains("(3, 2)", shape.Message);
        Assert.Contains("(2, 3)", shape.Message);
    }
}
