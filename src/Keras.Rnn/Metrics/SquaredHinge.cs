using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Squared hinge loss as a metric (Keras' <c>SquaredHinge</c> metric).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class SquaredHinge : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"squared_hinge"</c>).</param>
    public SquaredHinge(string name = "squared_hinge") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (LossFunctions.SquaredHinge(yTrue, yPred, Owner), null);
}
