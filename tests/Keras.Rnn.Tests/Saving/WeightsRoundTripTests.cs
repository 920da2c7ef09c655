using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>Save weights, build a fresh identical model, load, and get identical predictions.</summary>
public class WeightsRoundTripTests : SavingTestBase
{
    [Fact]
    public void SequentialLstmGruDense()
    {
        static Sequential Build() => new(new InputLayer([5, 3]), new LSTM(4, returnSequences: true), new GRU(3), new Dense(2));
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3));
    }

    [Fact]
    public void SequentialGruResetBeforeAndSimpleRnn()
    {
        static Sequential Build() => new(new InputLayer([5, 3]), new GRU(4, resetAfter: false, returnSequences: true),
            new SimpleRNN(3), new Dense(2, activation: "tanh"));
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3));
    }

    [Fact]
    public void FunctionalLstm()
    {
        static Model Build()
        {
            var i = KerasApi.Input(shape: [5, 3]);
            var o = new Dense(2).Apply(new LSTM(4).Apply(i));
            return new Model(i, o);
        }
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3));
    }

    [Fact]
    public void FunctionalBidirectionalAndTimeDistributed()
    {
        static Model Build()
        {
            var i = KerasApi.Input(shape: [5, 3]);
            var x = new Bidirectional(new LSTM(4, returnSequences: true)).Apply(i);
            x = new Bidirectional(new GRU(3, returnSequences: true), mergeMode: "sum").Apply(x);
            var o = new TimeDistributed(new Dense(2)).Apply(x);
            return new Model(i, o);
        }
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3));
    }

    [Fact]
    public void EmbeddingWithMaskAndLstm()
    {
        static Sequential Build() => new(new InputLayer([6], dtype: "int32"), new Embedding(10, 4, maskZero: true), new LSTM(3), new Dense(1));
        var ids = torch.tensor(new long[] { 1, 2, 3, 0, 0, 0, 4, 5, 6, 7, 8, 9 }, [2, 6]);
        AssertRoundTrip(Build(), Build(), ids);
    }

    [Fact]
    public void StackedRnnCells()
    {
        static Sequential Build() => new(new InputLayer([5, 3]),
            new RNN([new LSTMCell(4), new GRUCell(3), new SimpleRNNCell(2)], returnSequences: true), new Flatten(), new Dense(2));
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3));
    }

    [Fact]
    public void NestedFunctionalModelInSequentialAndInFunctional()
    {
        static Model Inner()
        {
            var i = KerasApi.Input(shape: [5, 3]);
            return new Model(i, new LSTM(4, returnSequences: true).Apply(i));
        }
        static Sequential Outer() => new(new InputLayer([5, 3]), Inner(), new LSTM(2), new Dense(2));
        AssertRoundTrip(Outer(), Outer(), Input(2, 5, 3));

        static Model OuterFunctional()
        {
            var i = KerasApi.Input(shape: [5, 3]);
            var a = Inner().Apply(i);
            var b = new Sequential(new LSTM(4, returnSequences: true)).Apply(i);
            var o = new Dense(1).Apply(new GRU(2).Apply(new Add().Apply([a, b])));
            return new Model(i, o);
        }
        AssertRoundTrip(OuterFunctional(), OuterFunctional(), Input(2, 5, 3), "nested.weights.h5");
    }

    [Fact]
    public void KerasArchiveWeightsLoadBack()
    {
        static Model Build()
        {
            var i = KerasApi.Input(shape: [5, 3]);
            var o = new Dense(2).Apply(new Bidirectional(new GRU(4)).Apply(i));
            return new Model(i, o);
        }
        AssertRoundTrip(Build(), Build(), Input(2, 5, 3), "model.keras");
    }

    [Fact]
    public void NonTrainableLayerKeepsItsPlace()
    {
        // Freezing changes which weights train, not the file layout: the frozen model loads the trainable one's file.
        static Sequential Build() => new(new InputLayer([5, 3]), new LSTM(4), new Dense(2));
        var source = Build();
        var fresh = Build();
        fresh.Layers[0].Trainable = false;
        AssertRoundTrip(source, fresh, Input(2, 5, 3));
    }
}
