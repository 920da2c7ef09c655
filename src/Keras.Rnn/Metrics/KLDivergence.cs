using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Kullback-Leibler divergence (Keras' <c>KLDivergence</c> metric).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class KLDivergence : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"kl_divergence"</c>).</param>
    public KLDivergence(string name = "kl_divergence") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (LossFunctions.KLDivergence(yTrue, yPred, Owner), null);
}
