using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Kullback-Leibler divergence: <c>sum(y_true · log(y_true / y_pred), axis=-1)</c> with both clipped to <c>[1e-7, 1]</c> (Keras' <c>KLDivergence</c>).</summary>
public class KLDivergence : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"kl_divergence"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public KLDivergence(string reduction = "sum_over_batch_size", string name = "kl_divergence") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.KLDivergence(yTrue, yPred, Owner);
}
