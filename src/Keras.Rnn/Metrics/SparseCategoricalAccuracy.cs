using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>How often the arg-max of y_pred matches the integer label (Keras' <c>SparseCategoricalAccuracy</c>): y_true <c>(batch,)</c> or <c>(batch, 1)</c> for y_pred <c>(batch, classes)</c>, <c>(batch, time)</c> for <c>(batch, time, classes)</c>.</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class SparseCategoricalAccuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"sparse_categorical_accuracy"</c>).</param>
    public SparseCategoricalAccuracy(string name = "sparse_categorical_accuracy") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (AccuracyFunctions.SparseCategoricalAccuracy(yTrue, yPred, Owner), null);
}
