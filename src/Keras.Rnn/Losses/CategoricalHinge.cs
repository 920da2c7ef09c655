using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>Categorical hinge loss: <c>max(neg - pos + 1, 0)</c> with <c>pos = sum(y_true · y_pred)</c> and <c>neg = max((1 - y_true) · y_pred)</c> over the last axis (Keras' <c>CategoricalHinge</c>).</summary>
public class CategoricalHinge : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"categorical_hinge"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public CategoricalHinge(string reduction = "sum_over_batch_size", string name = "categorical_hinge") : base(name, reduction) { }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.CategoricalHinge(yTrue, yPred, Owner);
}
