using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Models;

public class FunctionalTests
{
    [Fact]
    public void MultiInputMultiOutputShapesAreInferredWithUnknownBatchAndTime()
    {
        var tokens = KerasApi.Input(shape: [null], dtype: "int32", name: "tokens");
        var features = KerasApi.Input(shape: [null, 3], name: "features");
        var embedded = new Embedding(50, 6).Apply(tokens);
        var merged = new Concatenate().Apply([embedded, features]);
        var (seq, h, c) = new LSTM(5, returnSequences: true, returnState: true).Apply(merged);
        var perStep = new TimeDistributed(new Dense(2)).Apply(seq);
        var summary = new Dense(1, name: "score").Apply(h);

        Assert.Equal(new Shape(null, null, 9), merged.Single().Shape);
        Assert.Equal(new Shape(null, null, 5), seq.Shape);
        Assert.Equal(new Shape(null, 5), c.Shape);
        Assert.Equal(new Shape(null, null, 2), perStep.Single().Shape);

        var model = new Model([tokens, features], [perStep, summary]);
        Assert.Equal(["tokens", "features"], model.InputNames);
        Assert.Equal("score", model.OutputNames[1]);
        var outputs = model.ApplyAll([torch.randint(1, 50, [4, 7], ScalarType.Int64), torch.randn(4, 7, 3)]);
        Assert.Equal(new long[] { 4, 7, 2 }, outputs[0].shape);
        Assert.Equal(new long[] { 4, 1 }, outputs[1].shape);
    }

    [Fact]
    public void LayersAreOrderedLikeKerasWithInputLayersFirst()
    {
        KerasApi.ClearSession();
        var a = KerasApi.Input(shape: [4], name: "a");
        var b = KerasApi.Input(shape: [4], name: "b");
        var d1 = new Dense(3).Apply(a);
        var d2 = new Dense(3).Apply(b);
        var sum = new Add().Apply([d1, d2]);
        var model = new Model([a, b], new Dense(1).Apply(sum));
        Assert.Equal(["a", "b", "dense", "dense_1", "add", "dense_2"], model.Layers.Select(l => l.Name));
        Assert.Same(model.Layers[2], model.GetLayer("dense"));
        Assert.Same(model.Layers[5], model.GetLayer(5));
        var error = Assert.Throws<ArgumentException>(() => model.GetLayer("nope"));
        Assert.Contains("dense_1", error.Message);
    }

    [Fact]
    public void SharedLayerIsOneSetOfWeightsUsedTwice()
    {
        var a = KerasApi.Input(shape: [5, 3]);
        var b = KerasApi.Input(shape: [5, 3]);
        var shared = new LSTM(4);
        var ha = shared.Apply(a);
        var hb = shared.Apply(b);
        var model = new Model([a, b], new Concatenate().Apply([ha, hb]));
        Assert.Equal(2, shared.InboundNodes.Count);
        Assert.Equal(3, model.Weights.Count);
        Assert.Equal(4L * (4 * (3 + 4) + 4), model.CountParams());
        var x = torch.randn(2, 5, 3);
        var y = model.ApplyAll([x, x])[0];
        // Same weights on the same input: both halves are equal.
        Assert.True(y[.., ..4].allclose(y[.., 4..]));
        Assert.Contains("Connected to", model.SummaryText());
    }

    [Fact]
    public void NestedModelIsALayer()
    {
        var inner = new Sequential([new InputLayer([6, 2]), new GRU(3, returnSequences: true), new Dense(2)], name: "inner");
        var x = KerasApi.Input(shape: [6, 2]);
        var y = new LSTM(4).Apply(inner.Apply(x));
        var outer = new Model(x, y);
        Assert.Contains(outer.Layers, l => ReferenceEquals(l, inner));
        Assert.Equal(inner.Weights.Count + 3, outer.Weights.Count);
        var result = outer.ApplyAll([torch.randn(3, 6, 2)])[0];
        Assert.Equal(new long[] { 3, 4 }, result.shape);
    }

    [Fact]
    public void SeqToSeqDecoderTakesEncoderStatesAsInitialState()
    {
        var encoderInputs = KerasApi.Input(shape: [null, 5]);
        var (_, h, c) = new LSTM(8, returnState: true).Apply(encoderInputs);
        var decoderInputs = KerasApi.Input(shape: [null, 5]);
        var decoder = new LSTM(8, returnSequences: true);
        var decoded = decoder.Apply(decoderInputs, initialState: [h, c]);
        var model = new Model([encoderInputs, decoderInputs], new Dense(5, activation: "softmax").Apply(decoded));

        var xe = torch.randn(2, 4, 5);
        var xd = torch.randn(2, 3, 5);
        var probabilities = model.ApplyAll([xe, xd])[0];
        Assert.Equal(new long[] { 2, 3, 5 }, probabilities.shape);
        Assert.True(probabilities.sum(-1).allclose(torch.ones(2, 3), atol: 1e-5));
        // The decoder really starts from the encoder's states: a different encoder input changes the output.
        var other = model.ApplyAll([torch.randn(2, 4, 5), xd])[0];
        Assert.False(other.allclose(probabilities));
    }

    [Fact]
    public void WrongShapesFailWhenTheGraphIsBuiltNamingTheLayer()
    {
        var flat = KerasApi.Input(shape: [8]);
        var e1 = Assert.Throws<ArgumentException>(() => new LSTM(4, name: "my_lstm").Apply(flat));
        Assert.Contains("my_lstm", e1.Message);
        Assert.Contains("expected ndim=3, found ndim=2", e1.Message);

        var a = KerasApi.Input(shape: [5, 3]);
        var b = KerasApi.Input(shape: [6, 3]);
        var e2 = Assert.Throws<KerasLayerException>(() => new Concatenate(name: "cat").Apply([a, b]));
        Assert.Contains("cat", e2.Message);
        Assert.Contains("(None, 5, 3)", e2.Message);

        var e3 = Assert.Throws<KerasLayerException>(() => new Add(name: "plus").Apply([KerasApi.Input(shape: [4]), KerasApi.Input(shape: [5])]));
        Assert.Contains("plus", e3.Message);

        var dense = new Dense(2, name: "head");
        dense.Apply(KerasApi.Input(shape: [4]));
        var e4 = Assert.Throws<ArgumentException>(() => dense.Apply(KerasApi.Input(shape: [5])));
        Assert.Contains("head", e4.Message);
        Assert.Contains("expected axis -1 of input shape to have value 4", e4.Message);

        var unknownFeatures = KerasApi.Input(shape: [null]);
        var e5 = Assert.Throws<KerasLayerException>(() => new Dense(2, name: "d").Apply(unknownFeatures));
        Assert.Contains("last dimension", e5.Message);
    }

    [Fact]
    public void DisconnectedGraphAndDuplicateNamesAreRejected()
    {
        var a = KerasApi.Input(shape: [3]);
        var b = KerasApi.Input(shape: [3]);
        var sum = new Add().Apply([a, b]);
        var e = Assert.Throws<ArgumentException>(() => new Model(a, sum));
        Assert.Contains("Graph disconnected", e.Message);

        var x = KerasApi.Input(shape: [3]);
        var y = new Dense(2, name: "same").Apply(new Dense(2, name: "same").Apply(x));
        var dup = Assert.Throws<ArgumentException>(() => new Model(x, y));
        Assert.Contains("\"same\"", dup.Message);
    }

    [Fact]
    public void DataOfTheWrongShapeIsRejectedNamingTheInput()
    {
        var x = KerasApi.Input(shape: [10, 4], name: "signal");
        var model = new Model(x, new LSTM(3).Apply(x));
        var e = Assert.Throws<ArgumentException>(() => model.ApplyAll([torch.randn(2, 10, 5)]));
        Assert.Contains("signal", e.Message);
        Assert.Contains("(None, 10, 4)", e.Message);
        Assert.Contains("(2, 10, 5)", e.Message);
    }

    [Fact]
    public void ExplicitMaskArgumentIsUsed()
    {
        var x = KerasApi.Input(shape: [4, 2]);
        var m = KerasApi.Input(shape: [4], dtype: "bool");
        var lstm = new LSTM(3, returnSequences: true);
        var y = lstm.Apply(x, mask: [m]);
        var model = new Model([x, m], y);
        var data = torch.randn(1, 4, 2);
        var mask = torch.tensor(new[] { true, true, false, false }).reshape(1, 4);
        var outputs = model.ApplyAll([data, mask])[0];
        // Masked steps repeat the last unmasked output.
        Assert.True(outputs[0, 2].allclose(outputs[0, 1]));
        Assert.True(outputs[0, 3].allclose(outputs[0, 1]));
    }

    [Fact]
    public void FixedTrainingArgumentKeepsDropoutActiveAtInference()
    {
        var x = KerasApi.Input(shape: [200]);
        var y = new Dropout(0.5).Apply(x, training: true);
        var model = new Model(x, y);
        var output = model.ApplyAll([torch.ones(1, 200)], training: false)[0];
        Assert.True(output.eq(0).any().item<bool>());
    }

    [Fact]
    public void AutomaticNamesAreUniqueAndKerasStyle()
    {
        KerasApi.ClearSession();
        Assert.Equal("lstm", new LSTM(2).Name);
        Assert.Equal("lstm_1", new LSTM(2).Name);
        Assert.Equal("simple_rnn", new SimpleRNN(2).Name);
        Assert.Equal("gru", new GRU(2).Name);
        Assert.Equal("time_distributed", new TimeDistributed(new Dense(1)).Name);
        Assert.Equal("repeat_vector", new RepeatVector(2).Name);
        Assert.Equal("sequential", new Sequential().Name);
        var i = KerasApi.Input(shape: [2]);
        Assert.Equal("input_layer", i.SourceLayer!.Name);
        Assert.Equal("functional", new Model(i, new Dense(1).Apply(i)).Name);
    }
}
