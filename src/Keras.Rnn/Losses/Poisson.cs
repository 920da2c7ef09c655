using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Poisson loss: <c>mean(y_pred - y_true · log(y_pred + 1e-7), axis=-1)</c> (Keras' <c>Poisson</c>).</summary>
public class Poisson : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"poisson"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public Poisson(string reduction = "sum_over_batch_size", string name = "poisson") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.Poisson(yTrue, yPred, Owner);
}
