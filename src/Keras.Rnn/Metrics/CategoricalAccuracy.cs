using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>How often the arg-max of y_pred matches the arg-max of the one-hot y_true (Keras' <c>CategoricalAccuracy</c>).</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class CategoricalAccuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"categorical_accuracy"</c>).</param>
    public CategoricalAccuracy(string name = "categorical_accuracy") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (AccuracyFunctions.CategoricalAccuracy(yTrue, yPred, Owner), null);
}
