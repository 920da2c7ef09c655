using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Regularizers;
using Keras.Rnn.Tests.Layers.Rnn;
using Keras.Rnn.Tests.Saving;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Layers.AttentionLayers.AttentionReference;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.AttentionLayers;

/// <summary>
/// <see cref="MultiHeadAttention"/>: Keras 3.15's published values and behaviours
/// (layers/attention/multi_head_attention_test.py), the double-precision reference with random weights, masks, Keras'
/// weight layout in weight files, configs as Keras writes them, and bad input.
/// </summary>
public class MultiHeadAttentionTests : SavingTestBase
{
    private static MhaWeights RandomWeights(Random rng, int dim, int dimKey, int dimValue, int heads, int keyDim, int valueDim, int outDim,
        bool bias = true, bool gate = false)
    {
        double[,]? B(int n, int h) => bias ? T.Rand(rng, n, h, 0.5) : null;
        var wq = T.Rand(rng, dim, heads, keyDim, 0.6);
        var bq = B(heads, keyDim);
        var wk = T.Rand(rng, dimKey, heads, keyDim, 0.6);
        var bk = B(heads, keyDim);
        double[,,]? wg = gate ? T.Rand(rng, dim, heads, valueDim, 0.6) : null;
        double[,]? bg = gate ? B(heads, valueDim) : null;
        var wv = T.Rand(rng, dimValue, heads, valueDim, 0.6);
        var bv = B(heads, valueDim);
        var wo = T.Rand(rng, heads, valueDim, outDim, 0.6);
        double[]? bo = bias ? T.Rand(rng, outDim, 0.5) : null;
        return new MhaWeights(wq, bq, wk, bk, wv, bv, wo, bo, wg, bg);
    }

    // ------------------------------------------------------------------ Keras' golden values and structure

    [Fact]
    public void KerasGoldenCorrectness()
    {
        // multi_head_attention_test.py test_correctness (flash attention off): identity query and key, value
        // arange(64) / 100, identity kernels repeated over the 8 heads, zero biases.
        const int n = 8;
        var identity = new double[1, n, n];
        var value = new double[1, n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                identity[0, i, j] = i == j ? 1 : 0;
                value[0, i, j] = (i * n + j) / 100.0;
            }
        var kernel = new double[n, n, n];
        for (int i = 0; i < n; i++)
            for (int h = 0; h < n; h++)
                for (int j = 0; j < n; j++) kernel[i, h, j] = i == j ? 1 : 0;
        var layer = new MultiHeadAttention(numHeads: n, keyDim: n);
        layer.Build([new Shape(1, n, n), new Shape(1, n, n), new Shape(1, n, n)]);
        layer.SetWeights(new Array[] { kernel, new double[n, n], kernel, new double[n, n], kernel, new double[n, n], kernel, new double[n] });

        var result = layer.ApplyAll(T.ToTensor(identity), T.ToTensor(value), T.ToTensor(identity), returnAttentionScores: true);
        double[] expectedRow = [2.406, 2.440, 2.473, 2.504, 2.535, 2.568, 2.602, 2.633];
        var expectedOutput = new double[1, n, n];
        var expectedScores = new double[1, n, n, n];
        for (int t = 0; t < n; t++)
            for (int e = 0; e < n; e++)
            {
                expectedOutput[0, t, e] = expectedRow[t];
                for (int h = 0; h < n; h++) expectedScores[0, h, t, e] = t == e ? 0.1691 : 0.1187;
            }
        // Keras' tolerance (its test runs in float16).
        T.Close(expectedOutput, result[0], 1e-2);
        T.Close(expectedScores, result[1], 1e-2);

        // The same case in double precision, to float32 accuracy: softmax of 1/√8 on the diagonal.
        var w = new MhaWeights(kernel, new double[n, n], kernel, new double[n, n], kernel, new double[n, n], kernel, new double[n]);
        var (output, scores) = MultiHead(identity, value, identity, w);
        T.Close(output, result[0], 1e-5);
        T.Close(scores, result[1], 1e-6);
    }

    [Theory]
    [InlineData(2, null, true, false, 8)]   // test_basics: 8 trainable weights
    [InlineData(2, 4, false, false, 4)]     // value_dim=4, use_bias=False: 4
    [InlineData(2, null, true, true, 10)]   // use_gate=True: 10
    [InlineData(2, 4, false, true, 5)]      // value_dim=4, no bias, gate: 5
    public void KerasWeightCountsAndShapes(int heads, int? valueDim, bool useBias, bool useGate, int count)
    {
        // multi_head_attention_test.py test_basics: query (2, 8, 16), value (2, 4, 16), key_dim 2.
        var layer = new MultiHeadAttention(heads, 2, valueDim, useBias: useBias, useGate: useGate, name: "mha");
        var output = layer.ApplyAll(torch.rand(2, 8, 16), torch.rand(2, 4, 16));
        Assert.Equal([2L, 8, 16], output[0].shape);
        Assert.Equal(count, layer.TrainableWeights.Count);
        int vd = valueDim ?? 2;
        var expected = new List<(string, long[])> { ("mha/query/kernel", [16, heads, 2]) };
        if (useBias) expected.Add(("mha/query/bias", [heads, 2]));
        expected.Add(("mha/key/kernel", [16, heads, 2]));
        if (useBias) expected.Add(("mha/key/bias", [heads, 2]));
        if (useGate)
        {
            expected.Add(("mha/gate/kernel", [16, heads, vd]));
            if (useBias) expected.Add(("mha/gate/bias", [heads, vd]));
        }
        expected.Add(("mha/value/kernel", [16, heads, vd]));
        if (useBias) expected.Add(("mha/value/bias", [heads, vd]));
        expected.Add(("mha/attention_output/kernel", [heads, vd, 16]));
        if (useBias) expected.Add(("mha/attention_output/bias", [16]));
        Assert.Equal(expected.Select(e => e.Item1), layer.Weights.Select(v => v.Path));
        Assert.Equal(expected.Select(e => e.Item2), layer.Weights.Select(v => v.Shape));
    }

    [Fact]
    public void OutputShapeAsIntOrTuple()
    {
        // test_multi_head_attention_output_shape_as_int / _as_tuple.
        var single = new MultiHeadAttention(2, 16, outputShape: [8]).ApplyAll(torch.rand(2, 4, 16), torch.rand(2, 4, 16));
        Assert.Equal([2L, 4, 8], single[0].shape);
        var layer = new MultiHeadAttention(2, 16, outputShape: [8, 8]);
        Assert.Equal([2L, 4, 8, 8], layer.ApplyAll(torch.rand(2, 4, 16), torch.rand(2, 4, 16))[0].shape);
        Assert.Equal([2L, 16, 8, 8], layer.OutputDense!.Weights[0].Shape);
        Assert.Equal([8L, 8], layer.OutputDense!.Weights[1].Shape);
    }

    // ------------------------------------------------------------------ against the reference

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ForwardAgainstReference(bool useBias, bool useGate)
    {
        var rng = new Random(21);
        var q = T.Rand(rng, 2, 4, 5);
        var v = T.Rand(rng, 2, 3, 6);
        var k = T.Rand(rng, 2, 3, 4);
        var w = RandomWeights(rng, 5, 4, 6, heads: 2, keyDim: 3, valueDim: 2, outDim: 7, useBias, useGate);
        var layer = new MultiHeadAttention(2, 3, 2, useBias: useBias, outputShape: [7], useGate: useGate);
        layer.Build([new Shape(null, 4, 5), new Shape(null, 3, 6), new Shape(null, 3, 4)]);
        layer.SetWeights(w.ToKerasList());
        var result = layer.ApplyAll(T.ToTensor(q), T.ToTensor(v), T.ToTensor(k), returnAttentionScores: true);
        var (output, scores) = MultiHead(q, v, k, w);
        T.Close(output, result[0], 1e-5);
        T.Close(scores, result[1], 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InputMasksCausalMaskAndAttentionMaskCombine(bool causal)
    {
        var rng = new Random(8);
        var q = T.Rand(rng, 2, 4, 3);
        var v = T.Rand(rng, 2, 4, 3);
        var w = RandomWeights(rng, 3, 3, 3, heads: 2, keyDim: 2, valueDim: 2, outDim: 3);
        var queryMask = new[,] { { true, true, true, false }, { true, true, true, true } };
        var valueMask = new[,] { { true, true, false, false }, { false, true, true, true } };
        var explicitMask = new bool[2, 4, 4];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 4; t++)
                for (int s = 0; s < 4; s++) explicitMask[b, t, s] = !(t == 2 && s == 1);
        var layer = new MultiHeadAttention(2, 2);
        layer.Build([new Shape(null, 4, 3), new Shape(null, 4, 3)]);
        layer.SetWeights(w.ToKerasList());
        var maskTensor = torch.tensor(explicitMask.Cast<bool>().ToArray(), [2, 4, 4]);
        var result = layer.ApplyAll(T.ToTensor(q), T.ToTensor(v), attentionMask: maskTensor, queryMask: T.Mask(queryMask),
            valueMask: T.Mask(valueMask), returnAttentionScores: true, useCausalMask: causal);
        bool Allowed(int b, int t, int s) => queryMask[b, t] && valueMask[b, s] && explicitMask[b, t, s] && (!causal || s <= t);
        var (output, scores) = MultiHead(q, v, null, w, Allowed);
        T.Close(output, result[0], 1e-5);
        T.Close(scores, result[1], 1e-6);
        // A padded query row attends to nothing (Keras' masked softmax: all zeros); the output keeps the query mask.
        Assert.All(T.Values(result[1][0, .., 3, ..]), p => Assert.Equal(0.0, p));
        Assert.True(Layer.GetMask(result[0])!.eq(T.Mask(queryMask)).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KerasMaskingEqualsManualAttentionMask(bool causal)
    {
        // multi_head_attention_test.py test_masking: the masks of embedded, zero-padded query and value give the same
        // output as the attention_mask Keras' test writes out by hand.
        var layer = new MultiHeadAttention(2, 2);
        var query = torch.tensor(new long[] { 1, 2, 3, 0, 0, 3, 3, 1, 1, 2, 1, 0, 0, 0, 0 }, [3, 5]);
        var value = torch.tensor(new long[] { 5, 4, 0, 3, 0, 0, 2, 1, 1 }, [3, 3]);
        var maskedQuery = new Embedding(4, 8, maskZero: true).Apply(query);
        var maskedValue = new Embedding(6, 8, maskZero: true).Apply(value);
        var output = layer.ApplyAll(maskedQuery, maskedValue, useCausalMask: causal)[0];

        int[,,] mask = new int[3, 5, 3];
        int[][] rows = [[1, 1, 0], [1, 0, 0], [1, 1, 1]];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 5; t++)
                for (int s = 0; s < 3; s++)
                {
                    bool queryReal = b switch { 0 => t < 3, 1 => true, _ => t < 1 };
                    mask[b, t, s] = queryReal ? rows[b][s] : 0;
                    if (causal && s > t) mask[b, t, s] = 0; // np.array([[1,0,0],[1,1,0]] + [[1,1,1]] * 3)
                }
        var manual = torch.tensor(mask.Cast<int>().Select(m => m != 0).ToArray(), [3, 5, 3]);
        // Tensors without their eager masks (alias): only the manual mask applies.
        var withManualMask = layer.ApplyAll(maskedQuery.alias(), maskedValue.alias(), attentionMask: manual)[0];
        T.Same(output, withManualMask, 1e-6);
    }

    [Fact]
    public void AttentionMaskShapesBroadcastLikeKeras()
    {
        // multi_head_attention_test.py test_masking_with_different_shapes: (5, 5), (2, 5, 5) and (2, 2, 5, 5).
        var x = torch.rand(2, 5, 8);
        var layer = new MultiHeadAttention(2, 4);
        var mask = torch.ones(5, 5).tril();
        var output1 = layer.ApplyAll(x, x, attentionMask: mask)[0];
        var output2 = layer.ApplyAll(x, x, attentionMask: mask.unsqueeze(0).tile([2, 1, 1]))[0];
        var output3 = layer.ApplyAll(x, x, attentionMask: mask.unsqueeze(0).unsqueeze(0).tile([2, 2, 1, 1]))[0];
        T.Same(output1, output2, 1e-6);
        T.Same(output1, output3, 1e-6);
        // The causal flag is the same lower-triangular mask (test_causal_only_fast_path).
        T.Same(output1, layer.ApplyAll(x, x, useCausalMask: true)[0], 1e-6);
    }

    [Fact]
    public void SlidingWindow()
    {
        // multi_head_attention_test.py test_sliding_window: window 3, with and without the causal mask.
        var x = torch.randn(1, 6, 8);
        var layer = new MultiHeadAttention(2, 4, slidingWindow: 3);
        var causalScores = T.Values(layer.ApplyAll(x, x, returnAttentionScores: true, useCausalMask: true)[1][0, 0]);
        var scores = T.Values(layer.ApplyAll(x, x, returnAttentionScores: true)[1][0, 0]);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                if (j <= i && i - j < 3) Assert.True(causalScores[i * 6 + j] > 0);
                else Assert.Equal(0.0, causalScores[i * 6 + j]);
                if (Math.Abs(i - j) < 3) Assert.True(scores[i * 6 + j] > 0);
                else Assert.Equal(0.0, scores[i * 6 + j]);
            }
    }

    [Fact]
    public void DropoutOnlyInTrainingAndScoresAreReturnedBeforeIt()
    {
        KerasApi.SetRandomSeed(9);
        var x = torch.randn(2, 5, 8);
        var layer = new MultiHeadAttention(2, 4, dropout: 0.5);
        var inference = layer.ApplyAll(x, x, returnAttentionScores: true);
        var again = layer.ApplyAll(x, x, returnAttentionScores: true);
        Assert.True(inference[0].EqualsExactly(again[0]));
        var training = layer.ApplyAll(x, x, returnAttentionScores: true, training: true);
        Assert.False(training[0].allclose(inference[0], 1e-4, 1e-4));
        // Keras returns the attention scores before dropout: the same probabilities as at inference.
        T.Same(inference[1], training[1], 1e-6);
    }

    [Fact]
    public void ActivityRegularizerPenalisesTheProjectionsLikeKeras()
    {
        // Keras hands activity_regularizer to the query/key/value/output EinsumDense layers, each penalising its own
        // output divided by the batch size; the layer itself adds nothing (not the scores, not its output a second time).
        var layer = new MultiHeadAttention(2, 3) { ActivityRegularizer = new L2(0.5) };
        var q = torch.randn(2, 4, 5);
        var v = torch.randn(2, 3, 5);
        layer.Build([new Shape(null, 4, 5), new Shape(null, 3, 5)]);
        var losses = new List<Tensor>();
        var outputs = layer.Invoke([q, v], null, null, true, new Dictionary<string, object?> { ["return_attention_scores"] = true }, losses).Outputs;
        static double Penalty(Tensor y) => 0.5 * T.Values(y).Sum(z => z * z) / 2;
        double[] expected = [Penalty(layer.QueryDense!.Apply(q)), Penalty(layer.KeyDense!.Apply(v)), Penalty(layer.ValueDense!.Apply(v)), Penalty(outputs[0])];
        Assert.Equal(4, losses.Count);
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], losses[i].item<float>(), 3);
        // Not in training: no penalty.
        var none = new List<Tensor>();
        layer.Invoke([q, v], null, null, false, null, none);
        Assert.Empty(none);
    }

    // ------------------------------------------------------------------ functional API, configs, saving

    [Fact]
    public void FunctionalShapesWithUnknownTime()
    {
        var x = KerasApi.Input([null, 16]);
        var y = KerasApi.Input([null, 12]);
        var (output, scores) = new MultiHeadAttention(4, 2).Apply(x, y, returnAttentionScores: true);
        Assert.Equal(new Shape(null, null, 16), output.Shape);
        Assert.Equal(new Shape(null, 4, null, null), scores.Shape);
        var model = new Model([x, y], [output, scores]);
        var result = model.ApplyAll([torch.rand(3, 5, 16), torch.rand(3, 7, 12)]);
        Assert.Equal([3L, 5, 16], result[0].shape);
        Assert.Equal([3L, 4, 5, 7], result[1].shape); // (batch, heads, T, S): Keras' symbolic shape says (batch, heads, T, T)
    }

    [Fact]
    public void QueryMaskPropagatesInFunctionalModels()
    {
        // multi_head_attention_test.py test_query_mask_propagation.
        var tokens = KerasApi.Input([null], dtype: "int32");
        var values = KerasApi.Input([null, 8]);
        var embedded = new Embedding(4, 8, maskZero: true).Apply(tokens);
        var model = new Model([tokens, values], new MultiHeadAttention(2, 2).Apply(embedded, values));
        var ids = torch.tensor(new long[] { 1, 2, 3, 0, 0, 3, 3, 1, 1, 2, 1, 0, 0, 0, 0 }, [3, 5]);
        var output = model.ApplyAll([ids, torch.randn(3, 3, 8)])[0];
        Assert.True(Layer.GetMask(output)!.eq(ids.ne(0)).all().item<bool>());
    }

    [Fact]
    public void ConfigUsesKerasKeysAndRecordsTheBuiltAttentionAxes()
    {
        var layer = new MultiHeadAttention(2, 4, slidingWindow: 5, seed: 3, name: "mha");
        var config = layer.GetConfig();
        Assert.Equal(["name", "trainable", "dtype", "num_heads", "key_dim", "value_dim", "dropout", "use_bias", "use_gate", "output_shape",
            "attention_axes", "sliding_window", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
            "activity_regularizer", "kernel_constraint", "bias_constraint", "seed"], config.Keys);
        Assert.Equal(4, config["value_dim"]); // value_dim defaults to key_dim
        Assert.Null(config["attention_axes"]);
        Assert.Equal(5, config["sliding_window"]); // test_sliding_window_serialization
        layer.ApplyAll(torch.rand(1, 3, 4), torch.rand(1, 3, 4));
        Assert.Equal([1], (int[])layer.GetConfig()["attention_axes"]!); // Keras' build sets (1,)
    }

    [Fact]
    public void KerasFileRoundTripWithKerasWeightKeys()
    {
        var query = KerasApi.Input([null, 6], name: "query");
        var value = KerasApi.Input([null, 5], name: "value");
        var mask = KerasApi.Input([null, null], dtype: "bool", name: "mask");
        var attention = new MultiHeadAttention(3, 2, valueDim: 4, useGate: true, name: "mha");
        var (output, scores) = attention.Apply(query, value, attentionMask: mask, returnAttentionScores: true, useCausalMask: true);
        var model = new Model([query, value, mask], [output, scores]);
        var rng = new Random(5);
        var m = torch.rand(2, 4, 3).gt(0.2);
        Tensor[] inputs = [T.ToTensor(T.Rand(rng, 2, 4, 6)), T.ToTensor(T.Rand(rng, 2, 3, 5)), m];
        var expected = model.ApplyAll(inputs);

        // Keras' node form mha(query, value, attention_mask=...) and build_config shapes_dict.
        var json = model.ToJson();
        Assert.Contains("\"shapes_dict\": {\"query_shape\": [null, null, 6], \"value_shape\": [null, null, 5]}", json);
        Assert.Contains("\"attention_mask\": {\"class_name\": \"__keras_tensor__\"", json);
        var copy = Model.FromJson(json);
        Assert.Equal(json, copy.ToJson());

        var path = PathOf("mha.keras");
        model.Save(path);
        var loaded = Model.Load(path);
        var fromFile = loaded.ApplyAll(inputs);
        for (int i = 0; i < 2; i++) Assert.True(expected[i].EqualsExactly(fromFile[i]));

        // Keras' keys: public attributes first (key_dense, output_dense, query_dense, value_dense), then _dropout_layer and _gate_dense.
        var weightsPath = PathOf("mha.weights.h5");
        model.SaveWeights(weightsPath);
        var contents = H5Contents.Describe(weightsPath).Where(p => p.StartsWith("layers/multi_head_attention/", StringComparison.Ordinal)).ToList();
        Assert.Contains("layers/multi_head_attention/query_dense/vars/0 (6, 3, 2) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/query_dense/vars/1 (3, 2) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/key_dense/vars/0 (5, 3, 2) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/value_dense/vars/0 (5, 3, 4) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/output_dense/vars/0 (3, 4, 6) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/output_dense/vars/1 (6) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/_gate_dense/vars/0 (6, 3, 4) FloatingPoint32", contents);
        Assert.Contains("layers/multi_head_attention/_dropout_layer/vars", contents);
        Assert.Equal("query", H5Contents.NameAttribute(weightsPath, "layers/multi_head_attention/query_dense/vars"));
        Assert.Equal("attention_output", H5Contents.NameAttribute(weightsPath, "layers/multi_head_attention/output_dense/vars"));
    }

    [Fact]
    public void KerasWrittenConfigLoads()
    {
        // The form Keras 3 writes for x = mha(q, v, attention_mask=m, use_causal_mask=True): query and value as positional
        // arguments, the masks it filled in (query_mask, value_mask: null here), build_config by argument name.
        var json = """
        {"module": "keras", "class_name": "Functional", "config": {"name": "m", "trainable": true,
         "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3], "dtype": "float32", "sparse": false, "name": "q"}, "registered_name": null, "name": "q", "inbound_nodes": []},
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3], "dtype": "float32", "sparse": false, "name": "v"}, "registered_name": null, "name": "v", "inbound_nodes": []},
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4], "dtype": "bool", "sparse": false, "name": "m"}, "registered_name": null, "name": "m", "inbound_nodes": []},
          {"module": "keras.layers", "class_name": "MultiHeadAttention", "config": {"name": "mha", "trainable": true,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
            "num_heads": 2, "key_dim": 2, "value_dim": 2, "dropout": 0.0, "use_bias": true, "use_gate": false, "output_shape": null,
            "attention_axes": [1], "sliding_window": null,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
            "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null, "seed": null},
           "registered_name": null, "build_config": {"shapes_dict": {"query_shape": [null, 4, 3], "value_shape": [null, 4, 3]}}, "name": "mha",
           "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 3], "dtype": "float32", "keras_history": ["q", 0, 0]}},
                                       {"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 3], "dtype": "float32", "keras_history": ["v", 0, 0]}}],
                              "kwargs": {"query_mask": null, "value_mask": null, "use_causal_mask": true,
                                         "attention_mask": {"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 4], "dtype": "bool", "keras_history": ["m", 0, 0]}}}}]}],
         "input_layers": [["q", 0, 0], ["v", 0, 0], ["m", 0, 0]], "output_layers": [["mha", 0, 0]]},
         "registered_name": "Functional", "build_config": {"input_shape": null}}
        """;
        var model = Model.FromJson(json);
        var mha = Assert.IsType<MultiHeadAttention>(model.GetLayer("mha"));
        Assert.Equal(8, mha.Weights.Count);
        var rng = new Random(13);
        var w = RandomWeights(rng, 3, 3, 3, heads: 2, keyDim: 2, valueDim: 2, outDim: 3);
        model.SetWeights(w.ToKerasList());
        var q = T.Rand(rng, 2, 4, 3);
        var v = T.Rand(rng, 2, 4, 3);
        var explicitMask = new bool[2, 4, 4];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 4; t++)
                for (int s = 0; s < 4; s++) explicitMask[b, t, s] = (b + t + s) % 3 != 0;
        var output = model.ApplyAll([T.ToTensor(q), T.ToTensor(v), torch.tensor(explicitMask.Cast<bool>().ToArray(), [2, 4, 4])])[0];
        var (expected, _) = MultiHead(q, v, null, w, (b, t, s) => explicitMask[b, t, s] && s <= t);
        T.Close(expected, output, 1e-5);
    }

    [Fact]
    public void Keras2NodeFormLoads()
    {
        // tf.keras 2 wrote nodes as [[name, node, tensor, kwargs], ...]: Attention's inputs as one list, MultiHeadAttention's
        // value (and key) as keyword arguments, and the build shapes in MultiHeadAttention's config.
        var json = """
        {"class_name": "Model", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 3], "dtype": "float32", "sparse": false, "name": "q"}, "name": "q", "inbound_nodes": []},
          {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 3], "dtype": "float32", "sparse": false, "name": "v"}, "name": "v", "inbound_nodes": []},
          {"class_name": "MultiHeadAttention", "config": {"name": "mha", "trainable": true, "dtype": "float32", "num_heads": 2, "key_dim": 2,
            "value_dim": 2, "dropout": 0.0, "use_bias": true, "output_shape": null, "attention_axes": [1],
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null,
            "query_shape": [null, 4, 3], "key_shape": [null, 5, 3], "value_shape": [null, 5, 3]},
           "name": "mha", "inbound_nodes": [[["q", 0, 0, {"value": ["v", 0, 0], "key": ["v", 0, 0]}]]]},
          {"class_name": "Attention", "config": {"name": "att", "trainable": true, "dtype": "float32", "use_scale": false, "score_mode": "dot", "dropout": 0.0, "causal": false},
           "name": "att", "inbound_nodes": [[["mha", 0, 0, {}], ["q", 0, 0, {}]]]}],
         "input_layers": [["q", 0, 0], ["v", 0, 0]], "output_layers": [["att", 0, 0]]}}
        """;
        var model = ConfigTestSupport.FromKerasConfig(json, "2.9.0");
        var rng = new Random(17);
        var w = RandomWeights(rng, 3, 3, 3, heads: 2, keyDim: 2, valueDim: 2, outDim: 3);
        model.SetWeights(w.ToKerasList());
        var q = T.Rand(rng, 2, 4, 3);
        var v = T.Rand(rng, 2, 5, 3);
        var output = model.ApplyAll([T.ToTensor(q), T.ToTensor(v)])[0];
        var (mha, _) = MultiHead(q, v, v, w);
        var (expected, _) = DenseAttention(mha, q, null, Dot());
        T.Close(expected, output, 1e-5);
    }

    // ------------------------------------------------------------------ bad input

    [Fact]
    public void BadInputNamesTheLayer()
    {
        // test_shape_mismatch_error: value and key must agree except on the last axis.
        var e = Assert.Throws<KerasLayerException>(() =>
            new MultiHeadAttention(4, 2, 2, name: "mha_a").ApplyAll(torch.ones(2, 4, 8), torch.ones(2, 2, 8), torch.ones(2, 1, 7)));
        Assert.Contains("\"mha_a\"", e.Message);
        Assert.Contains("must be equal", e.Message);
        // Rank other than 3.
        e = Assert.Throws<KerasLayerException>(() => new MultiHeadAttention(2, 2, name: "mha_b").ApplyAll(torch.ones(2, 4, 2, 3), torch.ones(2, 4, 2, 3)));
        Assert.Contains("\"mha_b\"", e.Message);
        // Features that differ from those the layer was built for.
        var built = new MultiHeadAttention(2, 2, name: "mha_c");
        built.ApplyAll(torch.ones(1, 3, 4), torch.ones(1, 3, 4));
        e = Assert.Throws<KerasLayerException>(() => built.ApplyAll(torch.ones(1, 3, 5), torch.ones(1, 3, 4)));
        Assert.Contains("built for a query with 4 features", e.Message);
        // An attention mask that does not broadcast.
        e = Assert.Throws<KerasLayerException>(() => built.ApplyAll(torch.ones(1, 3, 4), torch.ones(1, 3, 4), attentionMask: torch.ones(1, 3, 2)));
        Assert.Contains("does not broadcast", e.Message);
        // Symbolic calls fail when called.
        var a = KerasApi.Input([3, 4]);
        var b = KerasApi.Input([5, 4]);
        var c = KerasApi.Input([6, 4]);
        e = Assert.Throws<KerasLayerException>(() => new MultiHeadAttention(2, 2, name: "mha_d").Apply(a, b, c));
        Assert.Contains("\"mha_d\"", e.Message);

        // test_invalid_scalar_args_rejected, and the options not supported here.
        Assert.Contains("num_heads", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(0, 4)).Message);
        Assert.Contains("key_dim", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(4, -2)).Message);
        Assert.Contains("value_dim", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(4, 4, 0)).Message);
        Assert.Contains("sliding_window", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 4, slidingWindow: 0)).Message);
        Assert.Contains("attention_axes", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 4, attentionAxes: [2, 3])).Message);
        Assert.Contains("output_shape", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 4, outputShape: [0])).Message);
        new MultiHeadAttention(2, 4, attentionAxes: [-2]); // the time axis, as Keras normalises it
    }
}
