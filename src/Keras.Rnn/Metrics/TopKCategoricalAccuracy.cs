using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// How often the one-hot target's class is among the <see cref="K"/> highest-scored classes (Keras'
/// <c>TopKCategoricalAccuracy</c>). Ties with the k-th score count as hits, as in Keras.
/// </summary>
public class TopKCategoricalAccuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="k">How many top classes count (default 5).</param>
    /// <param name="name">Name (default <c>"top_k_categorical_accuracy"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public TopKCategoricalAccuracy(int k = 5, string name = "top_k_categorical_accuracy") : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
    }

    /// <summary>How many top classes count.</summary>
    public int K { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) =>
        (AccuracyFunctions.TopKCategoricalAccuracy(yTrue, yPred, K, Owner), null);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig()) { ["k"] = K };
}
