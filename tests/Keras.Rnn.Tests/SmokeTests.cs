using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests;

public class SmokeTests
{
    [Fact]
    public void LstmForwardShapes()
    {
        var inputs = KerasApi.Input(shape: [null, 4]);
        var (seq, h, c) = new LSTM(8, returnSequences: true, returnState: true).Apply(inputs);
        var outputs = new Dense(2).Apply(seq);
        var model = new Model(inputs, [outputs, h, c]);
        var result = model.ApplyAll([torch.randn(3, 5, 4)]);
        Assert.Equal(new long[] { 3, 5, 2 }, result[0].shape);
        Assert.Equal(new long[] { 3, 8 }, result[1].shape);
        model.Summary();
    }
}
