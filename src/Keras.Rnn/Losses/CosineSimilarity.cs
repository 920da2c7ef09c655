using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Negative cosine similarity (Keras' <c>CosineSimilarity</c> loss): <c>-sum(l2_normalize(y_true) ·
/// l2_normalize(y_pred), axis)</c>, between -1 (same direction) and 1; 0 when either vector is zero.
/// </summary>
public class CosineSimilarity : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="axis">Axis along which the similarity is computed (default -1).</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="name">Name (default <c>"cosine_similarity"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public CosineSimilarity(int axis = -1, string reduction = "sum_over_batch_size", string name = "cosine_similarity") : base(name, reduction)
    {
        Axis = axis;
    }

    /// <summary>Axis along which the similarity is computed.</summary>
    public int Axis { get; }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) => LossFunctions.CosineSimilarity(yTrue, yPred, Axis, Owner).neg();

    /// <summary>Keras' config (<c>name</c>, <c>reduction</c>) plus <c>axis</c>, which Keras 3.15 leaves out.</summary>
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig()) { ["axis"] = Axis };
}
