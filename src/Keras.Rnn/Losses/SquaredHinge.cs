using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Squared hinge loss: <c>mean(square(max(1 - y_true · y_pred, 0)), axis=-1)</c>; labels that are all 0 or 1 are mapped to -1/1 first (Keras' <c>SquaredHinge</c>).</summary>
public class SquaredHinge : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"squared_hinge"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public SquaredHinge(string reduction = "sum_over_batch_size", string name = "squared_hinge") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.SquaredHinge(yTrue, yPred, Owner);
}
