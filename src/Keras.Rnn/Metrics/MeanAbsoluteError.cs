using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Mean absolute error (Keras' <c>MeanAbsoluteError</c> metric).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class MeanAbsoluteError : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"mean_absolute_error"</c>).</param>
    public MeanAbsoluteError(string name = "mean_absolute_error") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (LossFunctions.MeanAbsoluteError(yTrue, yPred, Owner), null);
}
