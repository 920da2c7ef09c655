using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Mean absolute percentage error: <c>100 · mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)</c> (Keras' <c>MeanAbsolutePercentageError</c>).</summary>
public class MeanAbsolutePercentageError : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"mean_absolute_percentage_error"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public MeanAbsolutePercentageError(string reduction = "sum_over_batch_size", string name = "mean_absolute_percentage_error") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.MeanAbsolutePercentageError(yTrue, yPred, Owner);
}
