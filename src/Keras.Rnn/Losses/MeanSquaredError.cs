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
}
