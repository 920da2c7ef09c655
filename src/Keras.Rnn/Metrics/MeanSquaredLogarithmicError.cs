using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Mean squared logarithmic error (Keras' <c>MeanSquaredLogarithmicError</c> metric).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class MeanSquaredLogarithmicError : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"mean_squared_logarithmic_error"</c>).</param>
    public MeanSquaredLogarithmicError(string name = "mean_squared_logarithmic_error") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (LossFunctions.MeanSquaredLogarithmicError(yTrue, yPred, Owner), null);
}
