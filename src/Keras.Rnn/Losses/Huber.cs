using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Huber loss (Keras' <c>Huber</c>): with <c>e = y_pred - y_true</c>, <c>0.5·e²</c> where <c>|e| ≤ delta</c> and
/// <c>delta·|e| - 0.5·delta²</c> elsewhere, averaged over the last axis.
/// </summary>
public class Huber : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="delta">Where the loss turns from quadratic to linear (default 1.0).</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"huber_loss"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public Huber(double delta = 1.0, string reduction = "sum_over_batch_size", string name = "huber_loss") : base(name, reduction)
    {
        Delta = delta;
    }

    /// <summary>Where the loss turns from quadratic to linear.</summary>
    public double Delta { get; }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.Huber(yTrue, yPred, Delta, Owner);

    /// <summary>Keras' config (<c>name</c>, <c>reduction</c>) plus <c>delta</c>, which Keras 3.15 leaves out (and
    /// therefore loses on reload); Keras' <c>from_config</c> accepts it.</summary>
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig()) { ["delta"] = Delta };
}
