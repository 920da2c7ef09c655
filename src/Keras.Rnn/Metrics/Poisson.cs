using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Poisson loss as a metric (Keras' <c>Poisson</c> metric).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class Poisson : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"poisson"</c>).</param>
    public Poisson(string name = "poisson") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (LossFunctions.Poisson(yTrue, yPred, Owner), null);
}
