using Keras.Rnn.DTypePolicies;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.DTypePolicies;

/// <summary>
/// Keras' mixed precision: policies, the global policy, layers computing in float16/bfloat16 on float32 weights,
/// training, dynamic loss scaling for float16, and the policy in saved configs.
/// </summary>
public class MixedPrecisionTests : IDisposable
{
    public void Dispose()
    {
        MixedPrecision.SetGlobalPolicy("float32");
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void PoliciesHaveKerasNamesAndDtypes()
    {
        Assert.Equal("float32", MixedPrecision.GlobalPolicy().Name);
        var f16 = DTypePolicy.Get("mixed_float16");
        Assert.Equal(("float16", "float32", true), (f16.ComputeDType, f16.VariableDType, f16.IsMixed));
        var bf16 = DTypePolicy.Get("mixed_bfloat16");
        Assert.Equal(("bfloat16", "float32", true), (bf16.ComputeDType, bf16.VariableDType, bf16.IsMixed));
        Assert.False(DTypePolicy.Get("float32").IsMixed);
        var e = Assert.Throws<ArgumentException>(() => DTypePolicy.Get("mixed_float8"));
        Assert.Contains("mixed_bfloat16", e.Message);
    }

    [Fact]
    public void TheGlobalPolicyAppliesToLayersCreatedAfterIt()
    {
        var before = new Dense(2);
        MixedPrecision.SetGlobalPolicy("mixed_bfloat16");
        var after = new Dense(2);
        Assert.Equal("float32", before.DTypePolicy.Name);
        Assert.Equal("mixed_bfloat16", after.DTypePolicy.Name);
        Assert.Equal("bfloat16", after.ComputeDType);
    }

    /// <summary>
    /// A mixed Dense casts its input, kernel and bias to bfloat16 and computes in bfloat16; the weights stay float32.
    /// Reference: the same product in double precision from the bfloat16-rounded operands, rounded to bfloat16.
    /// </summary>
    [Fact]
    public void DenseComputesInTheComputeDtypeOnFloat32Weights()
    {
        var dense = new Dense(3) { DTypePolicy = "mixed_bfloat16" };
        var x = torch.tensor(new float[,] { { 0.1234567f, -1.987654f }, { 3.3333333f, 0.0101010f } });
        var y = dense.Apply(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.All(dense.Weights, v => Assert.Equal(ScalarType.Float32, v.Value.dtype));
        static double[] Rounded(Tensor t) => t.to_type(ScalarType.BFloat16).to_type(ScalarType.Float64).data<double>().ToArray();
        var xr = Rounded(x);
        var k = Rounded(dense.Weights[0].Value);
        var b = Rounded(dense.Weights[1].Value);
        var got = y.to_type(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                double expected = xr[i * 2] * k[j] + xr[i * 2 + 1] * k[3 + j] + b[j];
                // bfloat16 keeps 8 significant bits: within 2⁻⁷ relative (one product, one sum, one rounding each).
                Assert.True(Math.Abs(got[i * 3 + j] - expected) <= 1e-2 * Math.Abs(expected) + 1e-3, $"[{i},{j}] {got[i * 3 + j]} vs {expected}");
            }
    }

    /// <summary>
    /// A recurrent model built under mixed_bfloat16 predicts in bfloat16 close to its float32 twin (same weights), and
    /// trains: the loss falls, gradients reach the float32 weights, which stay float32.
    /// </summary>
    [Theory]
    [InlineData("mixed_bfloat16", false)]
    [InlineData("mixed_float16", false)]
    [InlineData("mixed_bfloat16", true)]
    [InlineData("mixed_float16", true)]
    public void RecurrentModelsPredictAndTrainUnderMixedPolicies(string policy, bool recurrentDropout)
    {
        // recurrentDropout: the recurrent layers train with Keras' per-gate recurrent dropout inside our kernels, in the
        // compute dtype.
        double rd = recurrentDropout ? 0.2 : 0.0;
        KerasApi.SetRandomSeed(3);
        var gen = new Generator(5);
        var x = torch.rand([64, 7, 3], generator: gen);
        x[TensorIndex.Slice(0, 8), TensorIndex.Slice(5)] = torch.zeros(3);  // right-padded rows
        x[TensorIndex.Slice(8, 16), 2] = torch.zeros(3);                     // gaps
        var y = x.sum([1, 2]).unsqueeze(1).div(10);
        Sequential Make() => new(new InputLayer([7, 3]), new Masking(0.0), new Bidirectional(new LSTM(8, returnSequences: true, recurrentDropout: rd)),
            new GRU(6, returnSequences: true, recurrentDropout: rd), new GRU(5, resetAfter: false, returnSequences: true, recurrentDropout: rd),
            new SimpleRNN(4), new Dense(1));
        var reference = Make();
        MixedPrecision.SetGlobalPolicy(policy);
        var mixed = Make();
        MixedPrecision.SetGlobalPolicy("float32");
        mixed.SetWeights(reference.GetWeights());
        Assert.Equal(policy, mixed.DTypePolicy.Name);

        var expected = reference.Predict(x, verbose: 0);
        var got = mixed.Predict(x, verbose: 0);
        Assert.Equal(DTypePolicy.Get(policy).ComputeDType == "float16" ? ScalarType.Float16 : ScalarType.BFloat16, got.dtype);
        double scale = expected.abs().max().item<float>();
        double diff = expected.sub(got.to_type(ScalarType.Float32)).abs().max().item<float>();
        Assert.True(diff <= 0.03 * scale + 1e-3, $"mixed predictions differ from float32 by {diff} (scale {scale})");

        mixed.Compile(optimizer: "adam", loss: "mse");
        var first = mixed.Evaluate(x, y, verbose: 0)["loss"];
        mixed.Fit(x, y, batchSize: 16, epochs: 15, verbose: 0);
        var last = mixed.Evaluate(x, y, verbose: 0)["loss"];
        Assert.True(last < 0.5 * first, $"loss {first} → {last}");
        Assert.All(mixed.Weights, v => Assert.Equal(ScalarType.Float32, v.Value.dtype));
    }

    /// <summary>
    /// A mixed_float16 model trains with Keras' dynamic loss scale: 2¹⁵ at first; a step whose float16 gradients
    /// overflow is skipped (weights unchanged) and halves the scale; a finite step updates the weights.
    /// </summary>
    [Fact]
    public void Float16TrainingScalesTheLossAndSkipsOverflowingSteps()
    {
        MixedPrecision.SetGlobalPolicy("mixed_float16");
        var model = new Sequential(new InputLayer([3]), new Dense(4), new Dense(1));
        MixedPrecision.SetGlobalPolicy("float32");
        Assert.Null(model.LossScale);
        model.Compile(optimizer: "sgd", loss: "mse");
        Assert.Equal(32768.0, model.LossScale);
        var x = torch.ones(4, 3);
        var before = model.GetWeights();
        // d(mse)/d(prediction) ≈ −2·10⁴/4 per sample; times 2¹⁵ it is far beyond float16's 65504: infinite gradients.
        model.TrainOnBatch(x, torch.full(4, 1, 1e4f));
        Assert.Equal(16384.0, model.LossScale);
        var after = model.GetWeights();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i].Cast<float>(), after[i].Cast<float>());
        // Targets near the predictions: small gradients, finite in float16 even times the scale.
        model.TrainOnBatch(x, model.Predict(x, verbose: 0).to_type(ScalarType.Float32).add(0.01));
        Assert.Equal(16384.0, model.LossScale);
        Assert.NotEqual(before[0].Cast<float>(), model.GetWeights()[0].Cast<float>());
        Assert.Null(new Sequential(new InputLayer([3]), new Dense(1)).LossScale);
    }

    /// <summary>Keras' LossScaleOptimizer rule: doubled after dynamic_growth_steps finite steps, halved (counter reset) on a non-finite one.</summary>
    [Fact]
    public void TheLossScaleGrowsAfterFiniteStepsAndHalvesOnOverflow()
    {
        var scaler = new LossScaler { GrowthSteps = 3 };
        Tensor Grad(float v) => torch.full(2, v);
        Assert.True(scaler.UnscaleAndCheck([Grad(1), null]));
        Assert.True(scaler.UnscaleAndCheck([Grad(1)]));
        Assert.Equal(32768.0, scaler.Scale);
        Assert.True(scaler.UnscaleAndCheck([Grad(1)]));
        Assert.Equal(65536.0, scaler.Scale);
        Assert.Equal(0, scaler.StepCounter);
        Assert.True(scaler.UnscaleAndCheck([Grad(1)]));
        Assert.False(scaler.UnscaleAndCheck([Grad(float.NaN)]));
        Assert.Equal(32768.0, scaler.Scale);
        Assert.Equal(0, scaler.StepCounter);
        var g = Grad(65536);
        scaler.UnscaleAndCheck([g]);
        Assert.Equal(2f, g[0].item<float>());  // divided by the scale it was computed with
    }

    [Fact]
    public void ThePolicyIsSavedInTheConfigAndRestored()
    {
        var model = new Sequential(new InputLayer([4, 2]), new LSTM(3) { DTypePolicy = "mixed_bfloat16" }, new Dense(1));
        var json = model.ToJson();
        Assert.Contains("\"mixed_bfloat16\"", json);
        var loaded = Model.FromJson(json);
        Assert.Equal("mixed_bfloat16", loaded.Layers.OfType<LSTM>().Single().DTypePolicy.Name);
        Assert.Equal("float32", loaded.Layers.OfType<Dense>().Single().DTypePolicy.Name);
    }

    /// <summary>
    /// Embedding does not autocast (Keras sets autocast=False): float token ids above float16's and bfloat16's exact
    /// integers (2048, 256) still pick their own rows; the rows come out in the compute dtype.
    /// </summary>
    [Theory]
    [InlineData("mixed_float16")]
    [InlineData("mixed_bfloat16")]
    public void EmbeddingKeepsFloatTokenIdsExact(string policy)
    {
        var embedding = new Embedding(4000, 2) { DTypePolicy = policy };
        var ids = torch.tensor(new float[] { 3001, 257, 2049 }).unsqueeze(0);
        var rows = embedding.Apply(ids);
        var computeType = DTypePolicy.Get(policy).ComputeScalarType;
        Assert.Equal(computeType, rows.dtype);
        var table = embedding.Embeddings!.Value;
        foreach (var (id, i) in new[] { (3001L, 0L), (257L, 1L), (2049L, 2L) })
            Assert.True(rows[0, i].to_type(ScalarType.Float32).allclose(table[id].to_type(computeType).to_type(ScalarType.Float32), 0, 0),
                $"id {id}: got a different row");
    }

    /// <summary>
    /// Under float16 a value mask that hides every position of a sample gives that sample finite outputs (Keras
    /// subtracts 65504, not 1e9, from float16 scores; 1e9 would be −inf and the softmax NaN).
    /// </summary>
    [Fact]
    public void AttentionWithAFullyMaskedRowStaysFiniteInFloat16()
    {
        var attention = new Attention { DTypePolicy = "mixed_float16" };
        var query = torch.rand(2, 3, 4);
        var value = torch.rand(2, 5, 4);
        var valueMask = torch.tensor(new[,] { { true, true, false, true, false }, { false, false, false, false, false } });
        var output = attention.ApplyAll([query, value], masks: [null, valueMask])[0];
        Assert.Equal(ScalarType.Float16, output.dtype);
        Assert.True(output.isfinite().all().item<bool>(), "NaN or infinity in the output");
    }

    /// <summary>
    /// Each direction of a Bidirectional layer computes under its own layer's policy, as Keras calls each wrapped
    /// layer: a float32 LSTM wrapped in a mixed model stays float32, and the backward copy keeps the policy.
    /// </summary>
    [Fact]
    public void BidirectionalDirectionsKeepTheirLayersPolicy()
    {
        MixedPrecision.SetGlobalPolicy("mixed_bfloat16");
        var wrapped = new Bidirectional(new LSTM(3, returnSequences: true) { DTypePolicy = "float32" });
        var mixedInner = new Bidirectional(new LSTM(3, returnSequences: true));
        MixedPrecision.SetGlobalPolicy("float32");
        Assert.Equal("float32", wrapped.Backward.DTypePolicy.Name);
        var x = torch.rand(2, 4, 5);
        Assert.Equal(ScalarType.Float32, wrapped.Apply(x).dtype);
        Assert.Equal(ScalarType.BFloat16, mixedInner.Apply(x).dtype);
        Assert.Equal("mixed_bfloat16", mixedInner.Backward.DTypePolicy.Name);
    }

    /// <summary>
    /// A skipped (overflowing) float16 step does not count as an optimizer iteration, as in Keras where the
    /// LossScaleOptimizer's iterations are the inner optimizer's; auto_scale_loss=false turns the scaling off.
    /// </summary>
    [Fact]
    public void SkippedStepsAreNotIterationsAndScalingCanBeTurnedOff()
    {
        MixedPrecision.SetGlobalPolicy("mixed_float16");
        var model = new Sequential(new InputLayer([3]), new Dense(4), new Dense(1));
        var unscaled = new Sequential(new InputLayer([3]), new Dense(1)) { AutoScaleLoss = false };
        MixedPrecision.SetGlobalPolicy("float32");
        model.Compile(optimizer: "sgd", loss: "mse");
        model.TrainOnBatch(torch.ones(4, 3), torch.full(4, 1, 1e4f));
        Assert.Equal(0, model.Optimizer!.Iterations);
        model.TrainOnBatch(torch.ones(4, 3), model.Predict(torch.ones(4, 3), verbose: 0).to_type(ScalarType.Float32).add(0.01));
        Assert.Equal(1, model.Optimizer!.Iterations);
        unscaled.Compile(optimizer: "sgd", loss: "mse");
        Assert.Null(unscaled.LossScale);
    }

    /// <summary>Large but finite gradients are finite (the check looks at each element, not at an overflowing sum).</summary>
    [Fact]
    public void LargeFiniteGradientsAreFinite()
    {
        var scaler = new LossScaler();
        // Unscaled, each element is 3e38 / 2¹⁵ ≈ 9e33; 100,000 of them sum to 9e38, beyond float32's 3.4e38.
        Assert.True(scaler.UnscaleAndCheck([torch.full(100_000, 3e38f)]));
        Assert.Equal(LossScaler.InitialScale, scaler.Scale);
    }

    /// <summary>A subclassed model that owns a weight: under a mixed policy its own computation runs in the compute dtype.</summary>
    private sealed class Projection : Model
    {
        private Variable? _w;

        protected override void BuildCore(IReadOnlyList<Keras.Rnn.Shape> inputShapes) =>
            _w = AddWeight("w", [inputShapes[0][-1]!.Value, 2], initializer: "ones");

        protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context) => [inputs[0].matmul(_w!.Value)];
    }

    [Fact]
    public void SubclassedModelsComputeUnderTheirPolicy()
    {
        MixedPrecision.SetGlobalPolicy("mixed_bfloat16");
        var model = new Projection();
        MixedPrecision.SetGlobalPolicy("float32");
        var y = model.Predict(torch.ones(3, 4), verbose: 0);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(ScalarType.Float32, model.Weights[0].Value.dtype);
        Assert.True(y.to_type(ScalarType.Float32).allclose(torch.full(3, 2, 4f)));
    }
}
