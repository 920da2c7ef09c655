using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Categorical cross-entropy (Keras' <c>CategoricalCrossentropy</c>) for one-hot (or soft) targets of the same shape
/// as y_pred. Probabilities are first divided by their sum over <see cref="Axis"/>, then clipped to
/// <c>[1e-7, 1 - 1e-7]</c>; <c>fromLogits: true</c> uses <c>log_softmax</c> instead.
/// </summary>
public class CategoricalCrossentropy : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether y_pred holds logits rather than probabilities (default false).</param>
    /// <param name="labelSmoothing">Smooths the targets: <c>y·(1 - s) + s / num_classes</c> (default 0).</param>
    /// <param name="axis">The class axis (default -1).</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"categorical_crossentropy"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public CategoricalCrossentropy(bool fromLogits = false, double labelSmoothing = 0.0, int axis = -1,
        string reduction = "sum_over_batch_size", string name = "categorical_crossentropy") : base(name, reduction)
    {
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
        Axis = axis;
    }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>Label smoothing factor.</summary>
    public double LabelSmoothing { get; }

    /// <summary>The class axis.</summary>
    public int Axis { get; }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) =>
        LossFunctions.CategoricalCrossentropy(yTrue, yPred, FromLogits, LabelSmoothing, Axis, Owner);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["from_logits"] = FromLogits,
            ["label_smoothing"] = LabelSmoothing,
            ["axis"] = Axis,
        };
}
