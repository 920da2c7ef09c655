using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Mean of absolute errors: <c>mean(abs(y_true - y_pred), axis=-1)</c> (Keras' <c>MeanAbsoluteError</c>).</summary>
public class MeanAbsoluteError : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"mean_absolute_error"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public MeanAbsoluteError(string reduction = "sum_over_batch_size", string name = "mean_absolute_error") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.MeanAbsoluteError(yTrue, yPred, Owner);
}
