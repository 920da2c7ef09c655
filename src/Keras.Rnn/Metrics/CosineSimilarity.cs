using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Mean cosine similarity between y_true and y_pred along <see cref="Axis"/> (Keras' <c>CosineSimilarity</c>
/// metric; positive, unlike the loss).</summary>
public class CosineSimilarity : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"cosine_similarity"</c>).</param>
    /// <param name="axis">Axis along which the similarity is computed (default -1).</param>
    public CosineSimilarity(string name = "cosine_similarity", int axis = -1) : base(name) => Axis = axis;

    /// <summary>Axis along which the similarity is computed.</summary>
    public int Axis { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) =>
        (LossFunctions.CosineSimilarity(yTrue, yPred, Axis, Owner), null);
}
