using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Mean binary cross-entropy (Keras' <c>BinaryCrossentropy</c> metric); same formula and 1e-7 clipping as the loss.
/// </summary>
/// <remarks>
/// Labels <c>(batch,)</c> are aligned with predictions <c>(batch, 1)</c> as the loss does; Keras 3.15's metric
/// rejects that pairing with a shape error.
/// </remarks>
public class BinaryCrossentropy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"binary_crossentropy"</c>).</param>
    /// <param name="fromLogits">Whether y_pred holds logits (default false).</param>
    /// <param name="labelSmoothing">Squeezes the targets towards 0.5 (default 0).</param>
    public BinaryCrossentropy(string name = "binary_crossentropy", bool fromLogits = false, double labelSmoothing = 0) : base(name)
    {
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>Label smoothing factor.</summary>
    public double LabelSmoothing { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred)
    {
        var (t, p) = LossUtils.SqueezeOrExpandToSameRank(yTrue, yPred);
        return (LossFunctions.BinaryCrossentropy(t, p, FromLogits, LabelSmoothing, -1, Owner), null);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig()) { ["from_logits"] = FromLogits, ["label_smoothing"] = LabelSmoothing };
}
