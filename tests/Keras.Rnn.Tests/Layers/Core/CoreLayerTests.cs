using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Core;

public class CoreLayerTests
{
    private static Tensor T(float[] values, params long[] shape) => torch.tensor(values).reshape(shape);

    [Fact]
    public void DenseAppliesToTheLastAxisWithActivation()
    {
        var dense = new Dense(2, activation: "relu");
        dense.Build(new Shape(null, null, 3));
        dense.SetWeights([new float[,] { { 1, -1 }, { 2, -2 }, { 3, -3 } }, new float[] { 0, 1 }]);
        var y = dense.Apply(T([1, 1, 1, -1, 0, 0], 1, 2, 3));
        // Step 0: [6, -5] → relu [6, 0]; step 1: [-1, 2] → [0, 2].
        Assert.Equal(new float[] { 6, 0, 0, 2 }, y.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => new Dense(0));
    }

    [Fact]
    public void EmbeddingLooksUpRowsMasksZerosAndRejectsOutOfRangeIds()
    {
        var embedding = new Embedding(4, 2, maskZero: true, name: "emb");
        embedding.Build(new Shape(null, null));
        embedding.SetWeights([new float[,] { { 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 } }]);
        var ids = torch.tensor(new long[] { 2, 0, 3 }).reshape(1, 3);
        var y = embedding.Apply(ids);
        Assert.Equal(new float[] { 2, 2, 0, 0, 3, 3 }, y.data<float>().ToArray());
        Assert.Equal(new[] { true, false, true }, Layer.GetMask(y)!.data<bool>().ToArray());
        var e = Assert.Throws<KerasLayerException>(() => embedding.Apply(torch.tensor(new long[] { 1, 4 }).reshape(1, 2)));
        Assert.Contains("emb", e.Message);
        Assert.Contains("[0, 3]", e.Message);
    }

    [Fact]
    public void MaskingMasksStepsWhoseFeaturesAllEqualTheValue()
    {
        var masking = new Masking(maskValue: -1);
        var x = T([1, 2, -1, -1, -1, 3], 1, 3, 2);
        var y = masking.Apply(x);
        Assert.Equal(new[] { true, false, true }, Layer.GetMask(y)!.data<bool>().ToArray());
        Assert.Equal(new float[] { 1, 2, 0, 0, -1, 3 }, y.data<float>().ToArray());
    }

    [Fact]
    public void DropoutScalesKeptUnitsDuringTrainingOnly()
    {
        var dropout = new Dropout(0.25);
        var x = torch.ones(1, 1000);
        Assert.True(dropout.Apply(x).EqualsExactly(x));
        var trained = dropout.Apply(x, training: true);
        var kept = trained.ne(0);
        Assert.True(trained.masked_select(kept).allclose(torch.full(1, 1 / 0.75f)));
        double fraction = kept.to_type(ScalarType.Float32).mean().item<float>();
        Assert.InRange(fraction, 0.68, 0.82);
        var noise = new Dropout(0.5, noiseShape: [null, 1, null]).Apply(torch.ones(2, 5, 4), training: true);
        // The same features are dropped at every time step.
        Assert.True(noise[.., 0..1, ..].expand(2, 5, 4).EqualsExactly(noise));
        Assert.Throws<ArgumentException>(() => new Dropout(1.0));
    }

    [Fact]
    public void ReshapingLayers()
    {
        var v = T([1, 2, 3], 1, 3);
        Assert.Equal(new long[] { 1, 4, 3 }, new RepeatVector(4).Apply(v).shape);
        Assert.Equal(new Shape(null, 4, 3), new RepeatVector(4).ComputeOutputShape(new Shape(null, 3)));
        var x = torch.arange(24, ScalarType.Float32).reshape(2, 3, 4);
        Assert.Equal(new long[] { 2, 12 }, new Flatten().Apply(x).shape);
        Assert.Equal(new Shape(null, 12), new Flatten().ComputeOutputShape(new Shape(null, 3, 4)));
        var reshape = new Reshape([4, -1]);
        Assert.Equal(new long[] { 2, 4, 3 }, reshape.Apply(x).shape);
        Assert.Equal(new Shape(null, 4, 3), reshape.ComputeOutputShape(new Shape(null, 3, 4)));
        Assert.Throws<KerasLayerException>(() => new Reshape([5, -1]).ComputeOutputShape(new Shape(null, 3, 4)));
        Assert.Throws<ArgumentException>(() => new Reshape([-1, -1]));
    }

    [Fact]
    public void MergeLayersCombineMasksLikeKeras()
    {
        var a = T([1, 1, 2, 2], 1, 2, 2);
        var b = T([3, 3, 3, 4, 4, 4], 1, 2, 3);
        var maskA = torch.tensor(new[] { true, false }).reshape(1, 2);
        var maskB = torch.tensor(new[] { true, true }).reshape(1, 2);
        var concat = new Concatenate().ApplyAll([a, b], masks: [maskA, maskB])[0];
        Assert.Equal(new long[] { 1, 2, 5 }, concat.shape);
        Assert.Equal(new[] { true, false }, Layer.GetMask(concat)!.data<bool>().ToArray());

        var sum = new Add().ApplyAll([a, a], masks: [maskA, null])[0];
        Assert.Equal(new float[] { 2, 2, 4, 4 }, sum.data<float>().ToArray());
        Assert.Equal(new[] { true, false }, Layer.GetMask(sum)!.data<bool>().ToArray());
    }

    [Fact]
    public void LambdaLayersWithAndWithoutDeclaredShapes()
    {
        var x = KerasApi.Input(shape: [5, 3]);
        var last = new Lambda(t => t[.., -1, ..]).Apply(x);
        Assert.Equal(new Shape(null, 3), last.Single().Shape);
        var doubled = new Lambda(t => t * 2, outputShape: s => s).Apply(x);
        var summed = Lambda.Multi(xs => xs[0] + xs[1]).Apply([doubled, x]);
        var model = new Model(x, [last, summed]);
        var data = torch.randn(2, 5, 3);
        var outputs = model.ApplyAll([data]);
        Assert.True(outputs[0].EqualsExactly(data[.., -1, ..]));
        Assert.True(outputs[1].allclose(data * 3));
    }

    /// <summary>The documented way to write a layer with weights.</summary>
    private sealed class Scale : Layer
    {
        private Variable? _alpha;

        public Scale(string? name = null) : base(name) => SupportsMasking = true;

        protected override void BuildCore(IReadOnlyList<Shape> inputShapes) =>
            _alpha = AddWeight("alpha", [inputShapes[0][-1]!.Value], initializer: "ones");

        protected override Tensor Call(Tensor inputs, CallContext context) => inputs * _alpha!.Value;

        public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => inputShapes;
    }

    [Fact]
    public void UserLayersTrainWithTheModel()
    {
        var scale = new Scale();
        var model = new Sequential(new InputLayer([2]), scale);
        Assert.Equal(2, model.CountParams());
        model.Compile(optimizer: new Keras.Rnn.Optimizers.SGD(learningRate: 0.1), loss: "mse");
        var x = new float[,] { { 1, 2 } };
        var y = new float[,] { { 2, 2 } };
        model.Fit(x, y, verbose: 0);
        // d/dα mean((α·x − y)²) at α = 1: ((2·(1−2)·1)/2, (2·(2−2)·2)/2) = (−1, 0) → α = (1.1, 1).
        var alpha = (float[])scale.GetWeights()[0];
        Assert.Equal(1.1f, alpha[0], 1e-5);
        Assert.Equal(1.0f, alpha[1], 1e-5);
    }
}
