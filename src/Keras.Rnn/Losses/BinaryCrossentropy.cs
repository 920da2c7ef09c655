using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Binary cross-entropy (Keras' <c>BinaryCrossentropy</c>) for 0/1 targets, averaged over <see cref="Axis"/>.
/// Probabilities are clipped to <c>[1e-7, 1 - 1e-7]</c> (in float32, so the upper bound is 0.99999988);
/// <c>fromLogits: true</c> uses the numerically stable logits formula instead. y_true and y_pred must have the same
/// shape after Keras' rank alignment (labels <c>(batch,)</c> match predictions <c>(batch, 1)</c>).
/// </summary>
/// <example>
/// <code>
/// var loss = new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1);
/// </code>
/// </example>
public class BinaryCrossentropy : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether y_pred holds logits rather than probabilities (default false).</param>
    /// <param name="labelSmoothing">Squeezes the targets towards 0.5: <c>y·(1 - s) + 0.5·s</c> (default 0).</param>
    /// <param name="axis">Axis averaged over (default -1).</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"binary_crossentropy"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public BinaryCrossentropy(bool fromLogits = false, double labelSmoothing = 0.0, int axis = -1,
        string reduction = "sum_over_batch_size", string name = "binary_crossentropy") : base(name, reduction)
    {
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
        Axis = axis;
    }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>Label smoothing factor.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Axis averaged over.</summary>
    public int Axis { get; }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) =>
        LossFunctions.BinaryCrossentropy(yTrue, yPred, FromLogits, LabelSmoothing, Axis, Owner);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["from_logits"] = FromLogits,
            ["label_smoothing"] = LabelSmoothing,
            ["axis"] = Axis,
        };
}
