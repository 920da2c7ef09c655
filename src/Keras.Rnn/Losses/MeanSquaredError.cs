using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Mean of squared errors: <c>mean(square(y_true - y_pred), axis=-1)</c> (Keras' <c>MeanSquaredError</c>).</summary>
public class MeanSquaredError : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"mean_squared_error"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public MeanSquaredError(string reduction = "sum_over_batch_size", string name = "mean_squared_error") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.MeanSquaredError(yTrue, yPred, Owner);

    /// <summary>The mean over all elements equals Keras' per-sample means averaged over the batch when both shapes agree.</summary>
    private protected override Tensor? FusedMean(Tensor yTrue, Tensor yPred)
    {
        if (GetType() != typeof(MeanSquaredError)) return null;
        var (t, p) = LossUtils.SqueezeOrExpandToSameRank(yTrue, yPred);
        if (p.dim() == 0 || p.numel() == 0 || !t.shape.SequenceEqual(p.shape)) return null;
        return TorchSharp.torch.nn.functional.mse_loss(p, t);
    }
}
