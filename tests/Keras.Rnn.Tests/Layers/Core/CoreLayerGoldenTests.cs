using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Tests.Layers.Rnn;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Core;

/// <summary>Dense, Embedding and Masking against Keras 3.15's published values (core/*_test.py) and hand computations.</summary>
public class CoreLayerGoldenTests
{
    // ------------------------------------------------------------------ Dense (core/dense_test.py)

    [Fact]
    public void DenseCorrectness()
    {
        // dense_test.py test_dense_correctness: kernel [[1, -2], [3, -4]], bias [5, -6], relu, input [[-1, 2]] → [[10, 0]].
        var layer = new Dense(2, activation: "relu");
        layer.Build(new Shape(1, 2));
        layer.SetWeights([new double[,] { { 1, -2 }, { 3, -4 } }, new double[] { 5, -6 }]);
        T.Close(T.M([10.0, 0.0]), layer.Apply(torch.tensor(new float[] { -1, 2 }, [1, 2])));

        // Just a kernel matmul: [[5, -6]]; no bias weight.
        var noBias = new Dense(2, useBias: false);
        noBias.Build(new Shape(1, 2));
        noBias.SetWeights([new double[,] { { 1, -2 }, { 3, -4 } }]);
        Assert.Null(noBias.Bias);
        Assert.Single(noBias.Weights);
        T.Close(T.M([5.0, -6.0]), noBias.Apply(torch.tensor(new float[] { -1, 2 }, [1, 2])));

        // test_dense_with_activation: relu, no bias → [[5, 0]].
        var relu = new Dense(2, useBias: false, activation: "relu");
        relu.Build(new Shape(1, 2));
        relu.SetWeights([new double[,] { { 1, -2 }, { 3, -4 } }]);
        T.Close(T.M([5.0, 0.0]), relu.Apply(torch.tensor(new float[] { -1, 2 }, [1, 2])));
    }

    [Fact]
    public void DenseOnSequencesActsOnLastAxis()
    {
        var rng = new Random(1);
        var kernel = T.Rand(rng, 3, 4);
        var bias = T.Rand(rng, 4);
        var x = T.Rand(rng, 2, 5, 3);
        var layer = new Dense(4, activation: "sigmoid");
        layer.Build(new Shape(null, null, 3));
        layer.SetWeights([kernel, bias]);
        var y = layer.Apply(T.ToTensor(x));
        var expected = new double[2, 5, 4];
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 5; t++)
                for (int u = 0; u < 4; u++)
                {
                    double z = bias[u];
                    for (int k = 0; k < 3; k++) z += x[b, t, k] * kernel[k, u];
                    expected[b, t, u] = 1 / (1 + Math.Exp(-z));
                }
        T.Close(expected, y, 1e-6);
        Assert.Equal(new Shape(null, 7, 4), layer.ComputeOutputShape(new Shape(null, 7, 3)));
        // Dense passes the mask on (Keras: supports_masking).
        var mask = T.Mask(new[,] { { true, false, true, true, true }, { true, true, true, false, false } });
        var masked = layer.Apply(T.ToTensor(x), mask);
        Assert.Same(mask, Layer.GetMask(masked));
    }

    [Fact]
    public void DenseErrors()
    {
        // dense_test.py test_dense_errors: a second call with another last dimension is "incompatible with the layer".
        var layer = new Dense(2, activation: "relu", name: "dense_errors");
        layer.Apply(KerasApi.Input(shape: [2]));
        var ex = Assert.Throws<ArgumentException>(() => layer.Apply(KerasApi.Input(shape: [3])));
        Assert.Contains("incompatible with the layer", ex.Message);
        Assert.Contains("dense_errors", ex.Message);
        Assert.Throws<ArgumentException>(() => layer.Apply(torch.ones(1, 3)));
        // test_dense_invalid_units_raises.
        Assert.Contains("positive integer", Assert.Throws<ArgumentException>(() => new Dense(0)).Message);
        Assert.Throws<ArgumentException>(() => new Dense(-4));
    }

    // ------------------------------------------------------------------ Embedding (core/embedding_test.py)

    [Fact]
    public void EmbeddingCorrectnessAndMask()
    {
        // embedding_test.py test_correctness: table [[0, 0], [2, 2], [3, 3]], ids [2, 1, 0].
        var layer = new Embedding(3, 2);
        layer.Build(new Shape((int?)null));
        layer.SetWeights([new double[,] { { 0, 0 }, { 2, 2 }, { 3, 3 } }]);
        var ids = torch.tensor(new long[] { 2, 1, 0 });
        T.Close(T.M([3.0, 3.0], [2.0, 2.0], [0.0, 0.0]), layer.Apply(ids));
        // test_compute_mask_no_masking: no mask without mask_zero.
        Assert.Null(Layer.GetMask(layer.Apply(ids)));

        // test_masking: mask_zero=True → ids != 0.
        var masking = new Embedding(3, 2, maskZero: true);
        var y = masking.Apply(ids);
        var m = Layer.GetMask(y);
        Assert.NotNull(m);
        Assert.Equal(new[] { true, true, false }, m!.data<bool>().ToArray());

        // Batched (batch, time) ids give (batch, time, dim); int32 ids work too.
        var batched = layer.Apply(torch.tensor(new int[] { 0, 1, 2, 2, 1, 0 }, [2, 3]));
        Assert.Equal(new long[] { 2, 3, 2 }, batched.shape);
        T.Close(new double[,,] { { { 0, 0 }, { 2, 2 }, { 3, 3 } }, { { 3, 3 }, { 2, 2 }, { 0, 0 } } }, batched);
    }

    [Fact]
    public void EmbeddingErrors()
    {
        var layer = new Embedding(3, 2, name: "emb_range");
        var ex = Assert.Throws<KerasLayerException>(() => layer.Apply(torch.tensor(new long[] { 0, 3 })));
        Assert.Contains("emb_range", ex.Message);
        Assert.Contains("[0, 2]", ex.Message);
        Assert.Throws<KerasLayerException>(() => layer.Apply(torch.tensor(new long[] { -1, 0 })));
        Assert.Throws<ArgumentException>(() => new Embedding(0, 2));
        Assert.Throws<ArgumentException>(() => new Embedding(3, -1));
    }

    [Fact]
    public void EmbeddingGradientFlowsToUsedRows()
    {
        // d(sum of outputs)/d(table) counts how often each id occurs.
        var layer = new Embedding(4, 2);
        var y = layer.Apply(torch.tensor(new long[] { 1, 1, 3, 0, 1 }, [1, 5]));
        y.sum().backward();
        var g = T.Values(layer.Embeddings!.Value.grad!);
        T.Close(new double[] { 1, 1, 3, 3, 0, 0, 1, 1 }, g, 0);
    }

    // ------------------------------------------------------------------ Masking (core/masking_test.py)

    [Fact]
    public void MaskingCorrectness()
    {
        // masking_test.py test_masking_correctness.
        var x = torch.tensor(new float[] { 0, 0, 1, 2, 0, 0, 2, 2, 0, 0, 2, 1 }, [2, 3, 2]);
        var layer = new Masking(0.0);
        var y = layer.Apply(x);
        var m = Layer.GetMask(y)!;
        Assert.Equal(new[] { false, true, false, true, false, true }, m.data<bool>().ToArray());
        T.Same(x, y, 0);

        // A step is masked only when all features equal mask_value; masked steps are zeroed in the output.
        var x2 = torch.tensor(new float[] { 5, 5, 5, 1, 0, 5 }, [1, 3, 2]);
        var y2 = new Masking(5.0).Apply(x2);
        Assert.Equal(new[] { false, true, true }, Layer.GetMask(y2)!.data<bool>().ToArray());
        T.Close(new double[,,] { { { 0, 0 }, { 5, 1 }, { 0, 5 } } }, y2);
    }

    [Fact]
    public void MaskingFeedsLstmInSequentialModel()
    {
        // masking_test.py test_masking_with_tensor: Sequential(Masking, LSTM(1)); here checked against the reference.
        var x = new double[,,] { { { 1, 2 }, { 0, 0 }, { 0, 0 } }, { { 2, 2 }, { 2, 1 }, { 0, 0 } } };
        var rng = new Random(4);
        var w = RnnReference.RandomWeights(rng, CellKind.Lstm, 2, 1);
        var lstm = new LSTM(1);
        var model = new Sequential(new InputLayer([3, 2]), new Masking(0.0), lstm);
        lstm.SetWeights(w.ToKerasList());
        var y = model.ApplyAll([T.ToTensor(x)])[0];
        var mask = new[,] { { true, false, false }, { true, true, false } };
        T.Close(RnnReference.Last(RnnReference.Run(CellKind.Lstm, w, x, mask).Outputs), y, 1e-5);
        // Without the mask the numbers would differ (the test can fail).
        Assert.NotEqual(RnnReference.Last(RnnReference.Run(CellKind.Lstm, w, x).Outputs)[0, 0], T.Values(y)[0], 4);
    }
}
