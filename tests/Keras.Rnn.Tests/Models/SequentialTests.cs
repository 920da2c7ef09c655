using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Models;

public class SequentialTests
{
    [Fact]
    public void BuiltAtOnceWhenTheInputShapeIsKnown()
    {
        var model = new Sequential(new InputLayer([20, 1]), new LSTM(32), new Dense(1));
        Assert.True(model.Built);
        Assert.Equal(2, model.Layers.Count);
        Assert.Equal(new Shape(null, 1), model.Outputs[0].Shape);
        // Keras: LSTM(32) on 1 feature has 4·(32·(1+32)+32) = 4352 parameters, Dense(1) 33.
        Assert.Equal(4352, model.Layers[0].CountParams());
        Assert.Equal(4385, model.CountParams());

        var fromInputShape = new Sequential(new GRU(8) { InputShape = [null, 3] }, new Dense(2));
        Assert.True(fromInputShape.Built);
        Assert.Equal(new Shape(null, null, 3), fromInputShape.Inputs[0].Shape);
    }

    [Fact]
    public void DeferredBuildFromTheFirstData()
    {
        var model = new Sequential(new SimpleRNN(4, returnSequences: true), new Dense(2));
        Assert.False(model.Built);
        Assert.Throws<InvalidOperationException>(() => model.Summary());
        var y = model.ApplyAll([torch.randn(3, 5, 7)])[0];
        Assert.Equal(new long[] { 3, 5, 2 }, y.shape);
        Assert.True(model.Built);
        // Later batches may have another length.
        Assert.Equal(new long[] { 1, 9, 2 }, model.ApplyAll([torch.randn(1, 9, 7)])[0].shape);
    }

    [Fact]
    public void AddAndPop()
    {
        var model = new Sequential(new InputLayer([6, 2]));
        model.Add(new LSTM(4, returnSequences: true));
        model.Add(new LSTM(3));
        model.Add(new Dense(1, name: "out"));
        Assert.Equal(3, model.Layers.Count);
        Assert.Equal("out", model.OutputNames[0]);
        var popped = model.Pop();
        Assert.Equal("out", popped.Name);
        Assert.Equal(new Shape(null, 3), model.Outputs[0].Shape);
        Assert.Equal(6, model.Weights.Count);
        var e = Assert.Throws<ArgumentException>(() => model.Add(new Dense(2, name: model.Layers[0].Name)));
        Assert.Contains("unique names", e.Message);
        Assert.Throws<ArgumentException>(() => model.Add(new LSTM(2, returnState: true)));
    }

    [Fact]
    public void SummaryMatchesKerasTable()
    {
        KerasApi.ClearSession();
        var model = new Sequential(new InputLayer([20, 1]), new LSTM(32), new Dense(1));
        // Keras 3's table at its default width for an 80-column (or redirected) console: 76 characters.
        var expected = string.Join("\n",
            "Model: \"sequential\"",
            "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓",
            "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃",
            "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩",
            "│ lstm (LSTM)                     │ (None, 32)             │         4,352 │",
            "├─────────────────────────────────┼────────────────────────┼───────────────┤",
            "│ dense (Dense)                   │ (None, 1)              │            33 │",
            "└─────────────────────────────────┴────────────────────────┴───────────────┘",
            " Total params: 4,385 (17.13 KB)",
            " Trainable params: 4,385 (17.13 KB)",
            " Non-trainable params: 0 (0.00 B)",
            "");
        Assert.Equal(expected, model.SummaryText(lineLength: 76));
    }

    [Fact]
    public void FrozenLayersCountAsNonTrainable()
    {
        var lstm = new LSTM(8);
        var model = new Sequential(new InputLayer([5, 4]), lstm, new Dense(1));
        lstm.Trainable = false;
        Assert.Equal(2, model.TrainableWeights.Count);
        Assert.Equal(3, model.NonTrainableWeights.Count);
        Assert.All(lstm.Weights, v => Assert.False(v.Value.requires_grad));
        var text = model.SummaryText(lineLength: 76);
        Assert.Contains("Trainable params: 9 (36.00 B)", text);
        Assert.Contains("Non-trainable params: 416 (1.62 KB)", text);
    }
}
