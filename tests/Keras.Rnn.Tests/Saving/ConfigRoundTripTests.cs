using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Regularizers;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Every layer type and argument survives ToJson → FromJson (the JSON written again is identical, and with the
/// weights copied the predictions are identical) and Save → Load (identical predictions without copying anything).
/// </summary>
public class ConfigRoundTripTests : SavingTestBase
{
    /// <summary>ToJson → FromJson: same JSON again, same predictions once the weights are copied; then Save → Load.</summary>
    private void AssertRoundTrips(Model model, params Tensor[] inputs)
    {
        var json = model.ToJson();
        var copy = Model.FromJson(json);
        Assert.Equal(json, copy.ToJson());
        Assert.Equal(model.Layers.Select(l => l.GetType()), copy.Layers.Select(l => l.GetType()));
        Assert.Equal(model.Weights.Select(w => w.Path), copy.Weights.Select(w => w.Path));

        var expected = PredictAll(model, inputs);
        copy.SetWeights(model.GetWeights());
        var fromJson = PredictAll(copy, inputs);
        Assert.Equal(expected.Length, fromJson.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], fromJson[i]);

        var path = PathOf("model.keras");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(json, loaded.ToJson());
        var fromArchive = PredictAll(loaded, inputs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], fromArchive[i]);
    }

    [Fact]
    public void RecurrentLayersWithEveryArgument()
    {
        var model = new Sequential(
        [
            new InputLayer([6, 3], name: "features"),
            new Masking(0.5, name: "pad"),
            new LSTM(4, activation: "relu", recurrentActivation: "hard_sigmoid", useBias: false, kernelInitializer: new HeNormal(seed: 3),
                recurrentInitializer: new Orthogonal(gain: 0.5, seed: 4), biasInitializer: new Constant(0.1), unitForgetBias: false,
                kernelRegularizer: new L2(0.01), recurrentRegularizer: new L1L2(0.001, 0.002), biasRegularizer: new L1(0.3),
                kernelConstraint: new MaxNorm(3.0, 1), recurrentConstraint: new NonNeg(), biasConstraint: new UnitNorm(0),
                dropout: 0.1, recurrentDropout: 0.0, seed: 7, returnSequences: true, goBackwards: true, name: "lstm_a")
                { ActivityRegularizer = new L2(0.5) },
            new GRU(5, activation: "softsign", recurrentActivation: "sigmoid", resetAfter: false, dropout: 0.2, seed: 11,
                kernelInitializer: new RandomUniform(-0.2, 0.3, seed: 5), biasInitializer: new RandomNormal(0.1, 0.2, seed: 6),
                returnSequences: true, unroll: true, name: "gru_a"),
            new GRU(3, returnSequences: true, kernelInitializer: new VarianceScaling(2.0, "fan_out", "untruncated_normal", seed: 9),
                recurrentInitializer: new Identity(0.7), name: "gru_b"),
            new SimpleRNN(3, activation: "elu", recurrentInitializer: new TruncatedNormal(0.0, 0.1, seed: 2), returnSequences: true,
                stateful: false, recurrentDropout: 0.25, name: "simple"),
            new LSTM(2, biasInitializer: "ones", kernelInitializer: new LecunUniform(seed: 1), recurrentInitializer: new GlorotNormal(seed: 8),
                biasConstraint: new MinMaxNorm(0.1, 2.0, 0.5, 0), name: "lstm_b"),
        ], name: "recurrent_stack");
        AssertRoundTrips(model, Input(2, 6, 3));

        // The values made it through, not only the JSON text.
        var copy = Model.FromJson(model.ToJson());
        var lstm = (LSTM)copy.GetLayer("lstm_a");
        Assert.Same(ActivationFunction.Relu, lstm.Cell.Activation);
        Assert.Same(ActivationFunction.HardSigmoid, lstm.Cell.RecurrentActivation); // written by us (Keras 3): Keras 3's
        Assert.False(lstm.Cell.UseBias);
        Assert.False(lstm.Cell.UnitForgetBias);
        Assert.Equal(3, ((HeNormal)lstm.Cell.KernelInitializer).Seed);
        Assert.Equal(0.5, ((Orthogonal)lstm.Cell.RecurrentInitializer).Gain);
        Assert.Equal(0.1, ((Constant)lstm.Cell.BiasInitializer).Value);
        Assert.Equal(0.01, ((L2)lstm.Cell.KernelRegularizer!).Factor);
        Assert.Equal((0.001, 0.002), (((L1L2)lstm.Cell.RecurrentRegularizer!).L1, ((L1L2)lstm.Cell.RecurrentRegularizer!).L2));
        Assert.Equal(0.3, ((L1)lstm.Cell.BiasRegularizer!).Factor);
        Assert.Equal((3.0, 1), (((MaxNorm)lstm.Cell.KernelConstraint!).MaxValue, ((MaxNorm)lstm.Cell.KernelConstraint!).Axis));
        Assert.IsType<NonNeg>(lstm.Cell.RecurrentConstraint);
        Assert.IsType<UnitNorm>(lstm.Cell.BiasConstraint);
        Assert.Equal(0.1, lstm.Cell.DropoutRate);
        Assert.Equal(7, lstm.Cell.Seed);
        Assert.True(lstm.GoBackwards);
        Assert.Equal(0.5, ((L2)lstm.ActivityRegularizer!).Factor);
        var gru = (GRU)copy.GetLayer("gru_a");
        Assert.False(gru.Cell.ResetAfter);
        Assert.True(gru.Unroll);
        Assert.Equal((-0.2, 0.3, 5), (((RandomUniform)gru.Cell.KernelInitializer).Minval, ((RandomUniform)gru.Cell.KernelInitializer).Maxval,
            ((RandomUniform)gru.Cell.KernelInitializer).Seed));
        var vs = (VarianceScaling)((GRU)copy.GetLayer("gru_b")).Cell.KernelInitializer;
        Assert.Equal((2.0, "fan_out", "untruncated_normal", (int?)9), (vs.Scale, vs.Mode, vs.Distribution, vs.Seed));
        Assert.Equal(0.25, ((SimpleRNN)copy.GetLayer("simple")).Cell.RecurrentDropoutRate);
        var minMax = (MinMaxNorm)((LSTM)copy.GetLayer("lstm_b")).Cell.BiasConstraint!;
        Assert.Equal((0.1, 2.0, 0.5), (minMax.MinValue, minMax.MaxValue, minMax.Rate));
    }

    [Fact]
    public void CoreAndReshapingLayers()
    {
        var model = new Sequential(
        [
            new InputLayer([4, 3], batchSize: 2),
            new TimeDistributed(new Dense(5, activation: "tanh", kernelInitializer: "glorot_normal"), name: "per_step"),
            new Dropout(0.3, noiseShape: new Shape(null, 1, 5), seed: 42),
            new Flatten(),
            new Dense(6, activation: "relu", kernelRegularizer: "l2", biasConstraint: "non_neg"),
            new RepeatVector(3),
            new Reshape([2, -1]),
            new Activation("sigmoid"),
            new LSTM(2, stateful: true),
        ]);
        AssertRoundTrips(model, Input(2, 4, 3));
        var copy = Model.FromJson(model.ToJson());
        Assert.Equal(new Shape(2, 4, 3), copy.Inputs[0].Shape);
        Assert.Equal(new Shape(null, 1, 5), ((Dropout)copy.Layers[1]).NoiseShape);
        Assert.Equal(42, ((Dropout)copy.Layers[1]).Seed);
        Assert.Equal([2, -1], ((Reshape)copy.Layers[5]).TargetShape);
        Assert.True(((LSTM)copy.Layers[7]).Stateful);
    }

    [Fact]
    public void TokenInputsWithEmbeddingAndBidirectional()
    {
        var model = new Sequential(
        [
            new InputLayer([5], dtype: "int32"),
            new Embedding(20, 4, embeddingsInitializer: new RandomNormal(stddev: 0.3, seed: 1), maskZero: true,
                embeddingsRegularizer: new L1(0.01), embeddingsConstraint: new MaxNorm(2.0)),
            new Bidirectional(new LSTM(3, returnSequences: true), mergeMode: "sum"),
            new Bidirectional(new GRU(2), mergeMode: "ave", backwardLayer: new GRU(2, goBackwards: true, activation: "relu")),
            new Dense(1, activation: "sigmoid"),
        ]);
        using var ids = torch.tensor(new long[] { 3, 4, 0, 0, 0, 1, 7, 19, 2, 0 }, [2, 5]);
        AssertRoundTrips(model, ids);
        var copy = Model.FromJson(model.ToJson());
        var bi = (Bidirectional)copy.Layers[1];
        Assert.Equal("sum", bi.MergeMode);
        Assert.True(bi.Forward.ZeroOutputForMask); // Keras forces it when returning sequences
        Assert.Same(ActivationFunction.Relu, ((GRU)((Bidirectional)copy.Layers[2]).Backward).Cell.Activation);
        Assert.True(((Embedding)copy.Layers[0]).MaskZero);
    }

    [Fact]
    public void GenericRnnWithStackedCells()
    {
        var model = new Sequential(
        [
            new InputLayer([5, 2]),
            new RNN(new StackedRNNCells([new LSTMCell(3, unitForgetBias: false), new GRUCell(2, resetAfter: false), new SimpleRNNCell(4)]),
                returnSequences: true, zeroOutputForMask: true),
            new RNN(new LSTMCell(2, recurrentActivation: "hard_sigmoid", implementation: 1), goBackwards: true),
        ]);
        AssertRoundTrips(model, Input(3, 5, 2));
        var copy = Model.FromJson(model.ToJson());
        var stacked = Assert.IsType<StackedRNNCells>(((RNN)copy.Layers[0]).Cell);
        Assert.Equal([typeof(LSTMCell), typeof(GRUCell), typeof(SimpleRNNCell)], stacked.Cells.Select(c => c.GetType()));
        Assert.True(((RNN)copy.Layers[0]).ZeroOutputForMask);
        Assert.False(((GRUCell)stacked.Cells[1]).ResetAfter);
    }

    [Fact]
    public void FunctionalEncoderDecoderWithStatesMasksAndSharedLayers()
    {
        var encoderInputs = KerasApi.Input([null, 3], name: "encoder_inputs");
        var decoderInputs = KerasApi.Input([null, 3], name: "decoder_inputs");
        var (_, h, c) = new LSTM(4, returnState: true, name: "encoder").Apply(new Masking(0.0, name: "enc_mask").Apply(encoderInputs));
        var decoded = new LSTM(4, returnSequences: true, name: "decoder").Apply(decoderInputs, initialState: [h, c]);
        var shared = new Dense(3, name: "shared_dense");
        var a = shared.Apply(decoded);
        var b = shared.Apply(new TimeDistributed(new Dense(4), name: "td").Apply(decoded));
        var merged = new Concatenate(name: "concat").Apply([a, b]);
        var summed = new Add(name: "add").Apply([a, b]);
        var model = new Model([encoderInputs, decoderInputs], [merged, summed], name: "seq2seq");
        AssertRoundTrips(model, Input(2, 5, 3), Input(2, 4, 3));

        var copy = Model.FromJson(model.ToJson());
        Assert.Equal(["encoder_inputs", "decoder_inputs"], copy.InputNames);
        Assert.Equal(["concat", "add"], copy.OutputNames);
        Assert.Equal(2, copy.GetLayer("shared_dense").InboundNodes.Count);
        Assert.Equal(2, copy.GetLayer("decoder").InboundNodes[0].InitialState!.Count);
    }

    [Fact]
    public void NestedModelsAsLayers()
    {
        var innerInput = KerasApi.Input([6, 2], name: "inner_in");
        var inner = new Model(innerInput, new GRU(3, returnSequences: true, name: "inner_gru").Apply(innerInput), name: "inner");
        var head = new Sequential([new InputLayer([6, 3]), new LSTM(2, name: "head_lstm"), new Dense(1, name: "head_dense")], name: "head");

        var x = KerasApi.Input([6, 2], name: "outer_in");
        var features = inner.Apply(x);
        var y1 = head.Apply(features);
        var y2 = new Dense(2, name: "side").Apply(new Flatten(name: "flat").Apply(features));
        var model = new Model(x, [y1, y2], name: "outer");
        AssertRoundTrips(model, Input(2, 6, 2));
        var copy = Model.FromJson(model.ToJson());
        Assert.IsType<Sequential>(copy.GetLayer("head"));
        Assert.IsType<Model>(copy.GetLayer("inner"));
        Assert.Equal(["outer_in", "inner", "flat", "head", "side"], copy.Layers.Select(l => l.Name).Where(n => n != "x"));
    }

    [Fact]
    public void LayerSharedBetweenANestedModelAndItsParent()
    {
        // Serialized twice, the layer carries Keras' shared_object_id and comes back as one object.
        var shared = new Dense(3, name: "shared");
        var innerIn = KerasApi.Input([3], name: "inner_in");
        var inner = new Model(innerIn, shared.Apply(innerIn), name: "inner");
        var x = KerasApi.Input([3], name: "x");
        var model = new Model(x, shared.Apply(inner.Apply(x)), name: "outer");
        var json = model.ToJson();
        Assert.Contains("shared_object_id", json);
        AssertRoundTrips(model, Input(2, 3));
        var copy = Model.FromJson(json);
        Assert.Same(copy.GetLayer("shared"), ((Model)copy.GetLayer("inner")).GetLayer("shared"));
        Assert.Equal(2, copy.Weights.Count);
    }

    [Fact]
    public void ExplicitMaskAndTrainingArgumentsOfCalls()
    {
        var x = KerasApi.Input([4, 3], name: "x");
        var m = KerasApi.Input([4], dtype: "bool", name: "m");
        var seq = new GRU(3, returnSequences: true, name: "gru").Apply(x, mask: m);
        var dropped = new Dropout(0.0, name: "drop").Apply(seq, training: false);
        var model = new Model([x, m], new LSTM(2, name: "lstm").Apply(dropped), name: "masked");
        using var mask = torch.tensor(new[] { true, true, false, false, true, true, true, false }, [2, 4]);
        AssertRoundTrips(model, Input(2, 4, 3), mask);
        var copy = Model.FromJson(model.ToJson());
        Assert.Single(copy.GetLayer("gru").InboundNodes[0].Mask!);
        Assert.False(copy.GetLayer("drop").InboundNodes[0].Training);
    }

    [Fact]
    public void UnbuiltSequentialStaysUnbuiltAndBuildsLater()
    {
        var model = new Sequential([new LSTM(3), new Dense(2)], name: "lazy");
        var copy = Model.FromJson(model.ToJson());
        Assert.False(copy.Built);
        Assert.Equal(["lstm", "dense"], copy.Layers.Select(l => l.Name).Select(n => n.Split('_')[0]));
        Assert.Equal(2 * 2, PredictAll(copy, Input(2, 4, 5))[0].Length);
    }

    [Fact]
    public void FirstLayerInputShapeBecomesTheInputLayer()
    {
        var model = new Sequential(new Dense(3) { InputShape = new Shape(4), BatchSize = 5 }, new Dense(1));
        var json = model.ToJson();
        // Keras 3 records the input shape as a leading InputLayer, never as an argument of the first layer.
        var layers = JsonNode.Parse(json)!["config"]!["layers"]!.AsArray();
        Assert.Equal("InputLayer", (string?)layers[0]!["class_name"]);
        Assert.Equal("[5,4]", layers[0]!["config"]!["batch_shape"]!.ToJsonString());
        Assert.False(layers[1]!["config"]!.AsObject().ContainsKey("batch_shape"));
        var copy = Model.FromJson(json);
        Assert.Equal(new Shape(5, 4), copy.Inputs[0].Shape);
    }
}
