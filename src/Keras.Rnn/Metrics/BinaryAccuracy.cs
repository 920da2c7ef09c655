using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>How often <c>y_pred &gt; threshold</c> matches the 0/1 label (Keras' <c>BinaryAccuracy</c>).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class BinaryAccuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"binary_accuracy"</c>).</param>
    /// <param name="threshold">Probability above which a prediction counts as 1 (default 0.5).</param>
    public BinaryAccuracy(string name = "binary_accuracy", double threshold = 0.5) : base(name)
    {
        Threshold = threshold;
    }

    /// <summary>Probability above which a prediction counts as 1.</summary>
    public double Threshold { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (AccuracyFunctions.BinaryAccuracy(yTrue, yPred, Threshold, Owner), null);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["threshold"] = Threshold,
        };
}
