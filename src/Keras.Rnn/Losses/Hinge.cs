using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Hinge loss: <c>mean(max(1 - y_true · y_pred, 0), axis=-1)</c>; labels that are all 0 or 1 are mapped to -1/1 first (Keras' <c>Hinge</c>).</summary>
public class Hinge : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"hinge"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public Hinge(string reduction = "sum_over_batch_size", string name = "hinge") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.Hinge(yTrue, yPred, Owner);
}
