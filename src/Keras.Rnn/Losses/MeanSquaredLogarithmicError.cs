using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Mean squared logarithmic error: <c>mean(square(log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)), axis=-1)</c> (Keras' <c>MeanSquaredLogarithmicError</c>).</summary>
public class MeanSquaredLogarithmicError : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"mean_squared_logarithmic_error"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public MeanSquaredLogarithmicError(string reduction = "sum_over_batch_size", string name = "mean_squared_logarithmic_error") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.MeanSquaredLogarithmicError(yTrue, yPred, Owner);
}
