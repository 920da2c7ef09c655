using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.NumSharp;
using NumSharp;
using Xunit;

namespace Keras.Rnn.Tests.Training;

public class NumSharpAdapterTests
{
    [Fact]
    public void FitAndPredictOnNDArrays()
    {
        var x = np.arange(24).reshape(4, 3, 2).astype(np.float32) / 24f;
        var y = np.array(new float[,] { { 0 }, { 1 }, { 0 }, { 1 } });
        var model = new Sequential(new InputLayer([3, 2]), new SimpleRNN(3), new Dense(1));
        model.Compile(optimizer: "sgd", loss: "mse");
        var history = model.Fit(x.ToArrayLike(), y.ToArrayLike(), epochs: 2, verbose: 0);
        Assert.Equal(2, history["loss"].Count);
        NDArray predictions = model.Predict(x.ToArrayLike(), verbose: 0).ToNDArray();
        Assert.Equal(new long[] { 4, 1 }, predictions.shape.Select(d => (long)d).ToArray());

        // Values survive the round trip NDArray → tensor → NDArray.
        var back = x.ToTensor().ToNDArray();
        Assert.True(x.ToTensor().allclose(back.ToTensor(), rtol: 0, atol: 0));
        Assert.Throws<ArgumentException>(() => np.array(new[] { 'a', 'b' }).ToArrayLike());
    }
}
