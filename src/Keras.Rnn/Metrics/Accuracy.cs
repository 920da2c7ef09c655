using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>How often y_pred equals y_true exactly (Keras' <c>Accuracy</c>). For class predictions use <see cref="BinaryAccuracy"/>, <see cref="CategoricalAccuracy"/> or <see cref="SparseCategoricalAccuracy"/>, or the identifier <c>"accuracy"</c>, which picks one from the shapes.</summary>
/// <remarks>A <see cref="MeanMetricWrapper"/>: sample weights and a <c>(batch, time)</c> mask apply as Keras applies them.</remarks>
public class Accuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"accuracy"</c>).</param>
    public Accuracy(string name = "accuracy") : base(name)
    {
    }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (AccuracyFunctions.Accuracy(yTrue, yPred, Owner), null);
}
