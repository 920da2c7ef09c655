using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Mean categorical cross-entropy (Keras' <c>CategoricalCrossentropy</c> metric); same formula and 1e-7
/// clipping as the loss.</summary>
public class CategoricalCrossentropy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"categorical_crossentropy"</c>).</param>
    /// <param name="fromLogits">Whether y_pred holds logits (default false).</param>
    /// <param name="labelSmoothing">Smooths the targets: <c>y·(1 - s) + s / num_classes</c> (default 0).</param>
    /// <param name="axis">The class axis (default -1).</param>
    public CategoricalCrossentropy(string name = "categorical_crossentropy", bool fromLogits = false, double labelSmoothing = 0, int axis = -1)
        : base(name)
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

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) =>
        (LossFunctions.CategoricalCrossentropy(yTrue, yPred, FromLogits, LabelSmoothing, Axis, Owner), null);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["from_logits"] = FromLogits,
            ["label_smoothing"] = LabelSmoothing,
            ["axis"] = Axis,
        };
}
