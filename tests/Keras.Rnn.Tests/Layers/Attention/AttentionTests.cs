using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Tests.Layers.Rnn;
using Keras.Rnn.Tests.Saving;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Layers.AttentionLayers.AttentionReference;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.AttentionLayers;

/// <summary>
/// Luong (<see cref="Attention"/>) and Bahdanau (<see cref="AdditiveAttention"/>) attention: Keras 3.15's published
/// values (layers/attention/attention_test.py and additive_attention_test.py), hand-computed values from the
/// double-precision reference, masks, causal masks, returned scores, the functional API, configs and saving.
/// </summary>
public class AttentionTests : SavingTestBase
{
    // Keras' fixtures of test_attention_correctness (attention_test.py and additive_attention_test.py).
    private static readonly double[,,] KQuery = { { { 1, 0 }, { 0, 1 } } };
    private static readonly double[,,] KKey = { { { 0, 1 }, { 1, 0 } } };
    private static readonly double[,,] KValue = { { { 1, 2 }, { 3, 4 } } };

    private static Dictionary<string, object?> Args(bool scores = false, bool causal = false)
    {
        var d = new Dictionary<string, object?>();
        if (scores) d["return_attention_scores"] = true;
        if (causal) d["use_causal_mask"] = true;
        return d;
    }

    // ------------------------------------------------------------------ Keras' golden values

    [Fact]
    public void KerasGoldenDotAndConcat()
    {
        // attention_test.py test_attention_correctness, score_mode="dot".
        var dot = new Attention(scoreMode: "dot").ApplyAll(T.ToTensor(KQuery), T.ToTensor(KValue), T.ToTensor(KKey), returnAttentionScores: true);
        T.Close(new double[,,] { { { 2.462, 3.462 }, { 1.538, 2.538 } } }, dot[0], 1e-3);
        T.Close(new double[,,] { { { 0.269, 0.731 }, { 0.731, 0.269 } } }, dot[1], 1e-3);

        // score_mode="concat".
        var concat = new Attention(scoreMode: "concat").ApplyAll(T.ToTensor(KQuery), T.ToTensor(KValue), T.ToTensor(KKey), returnAttentionScores: true);
        T.Close(new double[,,] { { { 1.727, 2.727 }, { 2.272, 3.272 } } }, concat[0], 1e-3);
        T.Close(new double[,,] { { { 0.636, 0.363 }, { 0.363, 0.636 } } }, concat[1], 1e-3);
    }

    [Fact]
    public void KerasGoldenAdditive()
    {
        // additive_attention_test.py test_attention_correctness, use_scale=False.
        var layer = new AdditiveAttention(useScale: false);
        var result = layer.ApplyAll(T.ToTensor(KQuery), T.ToTensor(KValue), T.ToTensor(KKey), returnAttentionScores: true);
        T.Close(new double[,,] { { { 1.727, 2.727 }, { 2.272, 3.272 } } }, result[0], 1e-3);
        T.Close(new double[,,] { { { 0.636, 0.363 }, { 0.363, 0.636 } } }, result[1], 1e-3);
        Assert.Empty(layer.Weights);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KerasGoldenMasks(bool additive)
    {
        // attention_test.py / additive_attention_test.py test_attention_with_mask: query mask [T, F], value mask [T, F].
        Layer layer = additive ? new AdditiveAttention(useScale: false) : new Attention();
        var query = T.ToTensor(new double[,,] { { { 1, 0 }, { 0, 1 } } });
        var value = T.ToTensor(new double[,,] { { { 1, 1 }, { 1, 1 } } });
        var mask = T.Mask(new[,] { { true, false } });
        var result = layer.ApplyAll([query, value], masks: [mask, mask], arguments: Args(scores: true));
        T.Close(new double[,,] { { { 1, 1 }, { 0, 0 } } }, result[0]);
        T.Close(new double[,,] { { { 1, 0 }, { 1, 0 } } }, result[1]);
    }

    [Fact]
    public void KerasWeightCounts()
    {
        // attention_test.py test_attention_basics: dot without scale has no weights; scale + concat has 2.
        var plain = new Attention(scoreMode: "dot", dropout: 0.5);
        plain.Build([new Shape(2, 3, 4), new Shape(2, 4, 4)]);
        Assert.Empty(plain.Weights);
        var both = new Attention(useScale: true, scoreMode: "concat", dropout: 0.5);
        both.Build([new Shape(2, 3, 4), new Shape(2, 4, 4)]);
        Assert.Equal(["scale", "concat_score_weight"], both.Weights.Select(w => w.Name));
        Assert.All(both.Weights, w => Assert.Empty(w.Shape));
        Assert.All(both.Weights, w => Assert.Equal(1.0, T.Values(w.Value)[0])); // initialised to ones
        // additive_attention_test.py: use_scale gives one (dim,) weight.
        var additive = new AdditiveAttention(dropout: 0.5);
        additive.Build([new Shape(2, 3, 4), new Shape(2, 4, 4)]);
        Assert.Equal([4L], Assert.Single(additive.Weights).Shape);
        Assert.Equal($"{additive.Name}/scale", additive.Scale!.Path);
    }

    // ------------------------------------------------------------------ hand-computed values

    [Theory]
    [InlineData("dot", false)]
    [InlineData("dot", true)]
    [InlineData("concat", false)]
    [InlineData("concat", true)]
    public void LuongScoresAgainstReference(string mode, bool useScale)
    {
        var rng = new Random(7);
        var q = T.Rand(rng, 2, 3, 4);
        var v = T.Rand(rng, 2, 5, 3); // value features may differ from the key's
        var k = T.Rand(rng, 2, 5, 4);
        var layer = new Attention(useScale, mode);
        layer.Build([new Shape(null, 3, 4), new Shape(null, 5, 3), new Shape(null, 5, 4)]);
        double scale = 0.7, weight = 1.3;
        var weights = new List<Tensor>(); // scalars, in Keras' order: scale, concat_score_weight
        if (useScale) weights.Add(torch.tensor((float)scale));
        if (mode == "concat") weights.Add(torch.tensor((float)weight));
        layer.SetWeights(weights);

        var score = mode == "dot" ? Dot(useScale ? scale : 1.0) : Concat(useScale ? scale : 1.0, mode == "concat" ? weight : 1.0);
        var (expected, expectedWeights) = DenseAttention(q, v, k, score);
        var result = layer.ApplyAll(T.ToTensor(q), T.ToTensor(v), T.ToTensor(k), returnAttentionScores: true);
        T.Close(expected, result[0], 1e-5);
        T.Close(expectedWeights, result[1], 1e-6);
    }

    [Fact]
    public void AdditiveScoresWithScaleAgainstReference()
    {
        var rng = new Random(11);
        var q = T.Rand(rng, 2, 4, 3);
        var v = T.Rand(rng, 2, 6, 3);
        var scale = T.Rand(rng, 3);
        var layer = new AdditiveAttention();
        layer.Build([new Shape(null, null, 3), new Shape(null, null, 3)]);
        layer.SetWeights(new Array[] { scale });
        var (expected, expectedWeights) = DenseAttention(q, v, null, Additive(scale));
        var result = layer.ApplyAll(T.ToTensor(q), T.ToTensor(v), returnAttentionScores: true);
        T.Close(expected, result[0], 1e-5);
        T.Close(expectedWeights, result[1], 1e-6);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MasksAndCausalMaskAgainstReference(bool additive, bool causal)
    {
        var rng = new Random(3);
        var q = T.Rand(rng, 3, 4, 2);
        var v = T.Rand(rng, 3, 4, 2);
        var queryMask = new[,] { { true, true, false, false }, { true, true, true, true }, { true, false, true, false } };
        // Batch row 2 masks every value position: a uniform distribution in Keras (score − 1e9 in float32 for all).
        var valueMask = new[,] { { true, false, true, false }, { false, true, true, true }, { false, false, false, false } };
        Layer layer = additive ? new AdditiveAttention(useScale: false) : new Attention();
        var result = layer.ApplyAll([T.ToTensor(q), T.ToTensor(v)], masks: [T.Mask(queryMask), T.Mask(valueMask)],
            arguments: Args(scores: true, causal: causal));
        var (expected, expectedWeights) = DenseAttention(q, v, null, additive ? Additive(null) : Dot(), queryMask, valueMask, causal);
        T.Close(expected, result[0], 1e-5);
        T.Close(expectedWeights, result[1], 1e-6);
        // The output carries the query mask; the scores carry none.
        Assert.True(Layer.GetMask(result[0])!.eq(T.Mask(queryMask)).all().item<bool>());
        Assert.Null(Layer.GetMask(result[1]));
    }

    [Fact]
    public void CausalMaskIsLowerTriangular()
    {
        // attention_test.py test_attention_calculate_score_mask_with_causal_no_vmask: np.tril of ones.
        var x = torch.ones(1, 3, 2);
        var scores = new Attention().ApplyAll(x, x, returnAttentionScores: true, useCausalMask: true)[1];
        // Equal scores: row i spreads over j ≤ i.
        T.Close(new double[,,] { { { 1, 0, 0 }, { 0.5, 0.5, 0 }, { 1 / 3.0, 1 / 3.0, 1 / 3.0 } } }, scores, 1e-6);
    }

    [Fact]
    public void DropoutActsOnTheReturnedScoresOnlyInTraining()
    {
        KerasApi.SetRandomSeed(5);
        var rng = new Random(5);
        var q = T.ToTensor(T.Rand(rng, 2, 6, 4));
        var v = T.ToTensor(T.Rand(rng, 2, 8, 4));
        var layer = new Attention(dropout: 0.5);
        var inference = layer.ApplyAll(q, v, returnAttentionScores: true);
        var plain = new Attention().ApplyAll(q, v, returnAttentionScores: true);
        T.Same(plain[0], inference[0], 1e-6);

        var training = layer.ApplyAll(q, v, returnAttentionScores: true, training: true);
        var dropped = T.Values(training[1]);
        Assert.Contains(0.0, dropped);
        // Kept weights are scaled by 1 / (1 − rate); the output uses the dropped scores (Keras returns them).
        var kept = T.Values(plain[1]);
        for (int i = 0; i < dropped.Length; i++)
            if (dropped[i] != 0) Assert.Equal(kept[i] * 2, dropped[i], 5);
        T.Same(torch.matmul(training[1], v), training[0], 1e-5);
    }

    [Fact]
    public void HigherRankInputsUseLeadingBatchAxes()
    {
        // attention_test.py test_attention_nd_inputs: (2, 8, 6, 4) inputs → output (2, 8, 6, 4), scores (2, 8, 6, 6).
        var x = torch.rand(2, 8, 6, 4);
        var result = new Attention().ApplyAll(x, x, returnAttentionScores: true);
        Assert.Equal([2L, 8, 6, 4], result[0].shape);
        Assert.Equal([2L, 8, 6, 6], result[1].shape);
        var sums = result[1].sum(-1);
        T.Same(torch.ones_like(sums), sums, 1e-5);
    }

    // ------------------------------------------------------------------ functional API

    [Fact]
    public void FunctionalShapesWithUnknownTimeAndMasksFromEmbeddings()
    {
        var source = KerasApi.Input([null], dtype: "int32", name: "source");
        var target = KerasApi.Input([null], dtype: "int32", name: "target");
        var sourceEmbedded = new Embedding(10, 4, maskZero: true).Apply(source);
        var targetEmbedded = new Embedding(10, 4, maskZero: true).Apply(target);
        var (context, scores) = new Attention(useScale: true, name: "luong").Apply(targetEmbedded, sourceEmbedded, returnAttentionScores: true);
        Assert.Equal(new Shape(null, null, 4), context.Shape);
        Assert.Equal(new Shape(null, null, null), scores.Shape);
        var model = new Model([source, target], [context, scores]);

        // Padded source positions get no attention; padded target positions give zero output and keep the mask.
        var src = torch.tensor(new long[] { 3, 4, 0, 0, 5, 6, 7, 0 }, [2, 4]);
        var tgt = torch.tensor(new long[] { 1, 2, 0, 8, 9, 1 }, [2, 3]);
        var outputs = model.ApplyAll([src, tgt]);
        Assert.Equal([2L, 3, 4], outputs[0].shape);
        Assert.Equal([2L, 3, 4], outputs[1].shape);
        var s = T.Values(outputs[1]);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++)
                    if (src[b, j].item<long>() == 0) Assert.Equal(0.0, s[b * 12 + i * 4 + j], 6);
        var y = T.Values(outputs[0]);
        for (int d = 0; d < 4; d++) Assert.Equal(0.0, y[2 * 4 + d]); // batch 0, target step 2 is padding
        var outMask = Layer.GetMask(outputs[0]);
        Assert.NotNull(outMask);
        Assert.True(outMask!.eq(tgt.ne(0)).all().item<bool>());
    }

    [Fact]
    public void SymbolicCallDoesNotLeakReturnAttentionScores()
    {
        // attention_test.py test_symbolic_call_does_not_leak_return_attention_scores.
        var layer = new Attention();
        layer.ApplyAll(torch.rand(2, 3, 5), torch.rand(2, 4, 5), returnAttentionScores: true);
        var x = KerasApi.Input([3, 5]);
        var y = KerasApi.Input([4, 5]);
        var output = layer.Apply(x, y);
        Assert.Single(output);
        Assert.Equal(new Shape(null, 3, 5), output.Single().Shape);
        Assert.Equal(new Shape(null, 3, 5), Assert.Single(layer.ComputeOutputShapes([x.Shape, y.Shape], new Dictionary<string, object?>())));
    }

    [Fact]
    public void ComputeOutputShapeTakesTheValueFeatures()
    {
        // attention_test.py test_attention_compute_output_shape: value with 5 features, key with 4.
        var layer = new Attention();
        var output = layer.ApplyAll(torch.rand(2, 3, 4), torch.rand(2, 3, 5), torch.rand(2, 3, 4));
        Assert.Equal([2L, 3, 5], output[0].shape);
        Assert.Equal(new Shape(2, 3, 5), layer.ComputeOutputShapes([new Shape(2, 3, 4), new Shape(2, 3, 5), new Shape(2, 3, 4)], new Dictionary<string, object?>())[0]);
    }

    // ------------------------------------------------------------------ configuration and saving

    [Fact]
    public void ConfigUsesKerasKeys()
    {
        var luong = new Attention(useScale: true, scoreMode: "concat", dropout: 0.25, seed: 1337, name: "att").GetConfig();
        Assert.Equal(["name", "trainable", "dtype", "use_scale", "score_mode", "dropout", "seed"], luong.Keys);
        Assert.Equal(1337, luong["seed"]); // attention_test.py test_attention_seed_preserved_in_config
        Assert.Equal("concat", luong["score_mode"]);
        var bahdanau = new AdditiveAttention(dropout: 0.1).GetConfig();
        Assert.Equal(["name", "trainable", "dtype", "use_scale", "dropout", "seed"], bahdanau.Keys); // no score_mode
        Assert.Equal(true, bahdanau["use_scale"]);
    }

    [Fact]
    public void JsonRoundTripAndKerasFileGiveIdenticalOutputs()
    {
        var query = KerasApi.Input([null, 4], name: "query");
        var value = KerasApi.Input([null, 4], name: "value");
        var key = KerasApi.Input([null, 4], name: "key");
        var (luong, scores) = new Attention(useScale: true, scoreMode: "concat", dropout: 0.2, seed: 3, name: "luong")
            .Apply(query, value, key, returnAttentionScores: true, useCausalMask: true);
        var bahdanau = new AdditiveAttention(name: "bahdanau").Apply(luong, value);
        var model = new Model([query, value, key], [bahdanau, scores]);
        var rng = new Random(2);
        Tensor[] inputs = [T.ToTensor(T.Rand(rng, 2, 3, 4)), T.ToTensor(T.Rand(rng, 2, 3, 4)), T.ToTensor(T.Rand(rng, 2, 3, 4))];
        var expected = model.ApplyAll(inputs);

        var json = model.ToJson();
        Assert.Contains("\"class_name\": \"Attention\"", json);
        Assert.Contains("\"return_attention_scores\": true", json);
        Assert.Contains("\"use_causal_mask\": true", json);
        var copy = Model.FromJson(json);
        Assert.Equal(json, copy.ToJson());
        // Scalar weights travel as one-element arrays (.NET has no rank-0 arrays) and come back as scalars.
        var arrays = model.GetWeights();
        Assert.Contains(model.Weights, w => w.Shape.Length == 0);
        copy.SetWeights(arrays);
        Assert.Equal(model.Weights.Select(w => w.Shape.Length), copy.Weights.Select(w => w.Shape.Length));
        var fromJson = copy.ApplyAll(inputs);
        for (int i = 0; i < 2; i++) Assert.True(expected[i].EqualsExactly(fromJson[i]));

        var path = PathOf("attention.keras");
        model.Save(path);
        var loaded = Model.Load(path);
        var fromFile = loaded.ApplyAll(inputs);
        for (int i = 0; i < 2; i++) Assert.True(expected[i].EqualsExactly(fromFile[i]));
        var luongLoaded = Assert.IsType<Attention>(loaded.GetLayer("luong"));
        Assert.Equal(("concat", true, 0.2, 3), (luongLoaded.ScoreMode, luongLoaded.UseScale, luongLoaded.DropoutRate, luongLoaded.Seed));
        Assert.IsType<AdditiveAttention>(loaded.GetLayer("bahdanau"));
    }

    [Fact]
    public void KerasWrittenNodeWithNullMasksLoads()
    {
        // Keras 3 records the masks it filled in for a call: "mask": [null, null] when the inputs carry none.
        var json = """
        {"module": "keras", "class_name": "Functional", "config": {"name": "m", "trainable": true,
         "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3, 2], "dtype": "float32", "sparse": false, "name": "q"}, "registered_name": null, "name": "q", "inbound_nodes": []},
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2], "dtype": "float32", "sparse": false, "name": "v"}, "registered_name": null, "name": "v", "inbound_nodes": []},
          {"module": "keras.layers", "class_name": "Attention", "config": {"name": "attention", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "use_scale": false, "score_mode": "dot", "dropout": 0.0, "seed": null},
           "registered_name": null, "build_config": {"input_shape": [[null, 3, 2], [null, 5, 2]]}, "name": "attention",
           "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 3, 2], "dtype": "float32", "keras_history": ["q", 0, 0]}},
                                        {"class_name": "__keras_tensor__", "config": {"shape": [null, 5, 2], "dtype": "float32", "keras_history": ["v", 0, 0]}}]],
                              "kwargs": {"mask": [null, null], "return_attention_scores": true}}]}],
         "input_layers": [["q", 0, 0], ["v", 0, 0]], "output_layers": [["attention", 0, 0], ["attention", 0, 1]]},
         "registered_name": "Functional", "build_config": {"input_shape": null}}
        """;
        var model = Model.FromJson(json);
        var rng = new Random(4);
        var q = T.Rand(rng, 1, 3, 2);
        var v = T.Rand(rng, 1, 5, 2);
        var outputs = model.ApplyAll([T.ToTensor(q), T.ToTensor(v)]);
        var (expected, weights) = DenseAttention(q, v, null, Dot());
        T.Close(expected, outputs[0], 1e-5);
        T.Close(weights, outputs[1], 1e-6);
    }

    // ------------------------------------------------------------------ bad input

    [Fact]
    public void BadInputNamesTheLayer()
    {
        var layer = new Attention(name: "att");
        // Mismatched query and key features.
        var e = Assert.Throws<KerasLayerException>(() => layer.ApplyAll(torch.rand(2, 3, 4), torch.rand(2, 5, 6)));
        Assert.Contains("\"att\"", e.Message);
        Assert.Contains("3, 4)", e.Message);
        Assert.Contains("5, 6)", e.Message);
        // Keras' messages for the wrong number of inputs (attention_test.py test_attention_errors).
        e = Assert.Throws<KerasLayerException>(() => new Attention(name: "att2").Apply(torch.rand(2, 2, 2)));
        Assert.Contains("length 2 or 3", e.Message);
        var x = torch.rand(1, 2, 2);
        e = Assert.Throws<KerasLayerException>(() => new Attention(name: "att3").ApplyAll([x, x, x, x]));
        Assert.Contains("length 2 or 3", e.Message);
        // Key and value with different time steps.
        e = Assert.Throws<KerasLayerException>(() => new AdditiveAttention(name: "add").ApplyAll(torch.rand(1, 2, 3), torch.rand(1, 4, 3), torch.rand(1, 5, 3)));
        Assert.Contains("\"add\"", e.Message);
        // Symbolic: caught when the layer is called.
        var a = KerasApi.Input([null, 4]);
        var b = KerasApi.Input([null, 3]);
        e = Assert.Throws<KerasLayerException>(() => new Attention(name: "sym").Apply(a, b));
        Assert.Contains("\"sym\"", e.Message);
        // Unknown call argument, non-boolean flag.
        e = Assert.Throws<KerasLayerException>(() => new Attention(name: "args").ApplyAll([x, x], arguments: new Dictionary<string, object?> { ["causal"] = true }));
        Assert.Contains("'causal'", e.Message);
        e = Assert.Throws<KerasLayerException>(() => new Attention(name: "flag").ApplyAll([x, x], arguments: new Dictionary<string, object?> { ["use_causal_mask"] = 1 }));
        Assert.Contains("boolean", e.Message);
        // Constructor arguments (attention_test.py test_attention_invalid_score_mode).
        var ctor = Assert.Throws<ArgumentException>(() => new Attention(scoreMode: "invalid_mode"));
        Assert.Contains("Expected one of {'dot', 'concat'}", ctor.Message);
        Assert.Throws<ArgumentException>(() => new AdditiveAttention(dropout: 1.0));
    }
}
