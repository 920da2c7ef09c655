using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Training;

/// <summary>The .NET data forms Fit, Evaluate and Predict accept, and the errors for the ones they cannot.</summary>
public class DataInputTests
{
    private static Sequential Model()
    {
        var model = new Sequential(new InputLayer([3, 2]), new SimpleRNN(4), new Dense(1));
        model.Compile(optimizer: "sgd", loss: "mse");
        return model;
    }

    [Fact]
    public void JaggedAndRectangularArraysGiveTheSameResult()
    {
        var model = Model();
        var jagged = new float[5][][];
        var rect = new float[5, 3, 2];
        for (int i = 0; i < 5; i++)
        {
            jagged[i] = new float[3][];
            for (int t = 0; t < 3; t++)
            {
                jagged[i][t] = [i + t, i - t];
                rect[i, t, 0] = i + t;
                rect[i, t, 1] = i - t;
            }
        }
        var a = model.Predict(jagged, verbose: 0);
        var b = model.Predict(rect, verbose: 0);
        Assert.True(a.EqualsExactly(b));
        var y = new double[][] { [1], [0], [1], [0], [1] };
        Assert.Single(model.Fit(jagged, y, verbose: 0)["loss"]);
    }

    [Fact]
    public void DoubleAndIntegerArraysAreConverted()
    {
        var model = Model();
        var x = new double[4, 3, 2];
        var y = new int[4, 1];
        Assert.Single(model.Fit(x, y, verbose: 0)["loss"]);

        var tokens = new Sequential(new InputLayer([null], dtype: "int32"), new Embedding(10, 3), new GRU(2), new Dense(1));
        tokens.Compile(optimizer: "adam", loss: "mse");
        var ids = new int[][] { [1, 2, 3], [4, 5, 0] };
        Assert.Equal(new long[] { 2, 1 }, tokens.Predict(ids, verbose: 0).shape);
        var longIds = new long[,] { { 9, 1 } };
        Assert.Equal(new long[] { 1, 1 }, tokens.Predict(longIds, verbose: 0).shape);
    }

    [Fact]
    public void RaggedArraysAndUnsupportedTypesAreRejectedClearly()
    {
        var model = Model();
        var ragged = new float[][][] { [[1, 2], [3, 4], [5, 6]], [[1, 2]] };
        var e = Assert.Throws<ArgumentException>(() => model.Predict(ragged, verbose: 0));
        Assert.Contains("ragged", e.Message);
        Assert.Contains("PadSequences", e.Message);

        var strings = new string[2, 3];
        var s = Assert.Throws<ArgumentException>(() => model.Predict(strings, verbose: 0));
        Assert.Contains("String", s.Message);

        var wrongFeatures = Assert.Throws<ArgumentException>(() => model.Predict(new float[2, 3, 5], verbose: 0));
        Assert.Contains("(None, 3, 2)", wrongFeatures.Message);
    }

    [Fact]
    public void PredictionsConvertToDotNetArrays()
    {
        var model = Model();
        var p = model.Predict(new float[2, 3, 2], verbose: 0);
        Assert.IsType<float[,]>(p.ToArray());
        Assert.Equal(2, p.ToArray<float[,]>().GetLength(0));
        Assert.Throws<InvalidCastException>(() => p.ToArray<float[,,]>());
    }
}
