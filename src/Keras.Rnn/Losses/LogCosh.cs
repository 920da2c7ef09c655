using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Logarithm of the hyperbolic cosine of the error: <c>mean(log(cosh(y_pred - y_true)), axis=-1)</c>, computed stably (Keras' <c>LogCosh</c>).</summary>
public class LogCosh : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"log_cosh"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public LogCosh(string reduction = "sum_over_batch_size", string name = "log_cosh") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.LogCosh(yTrue, yPred, Owner);
}
