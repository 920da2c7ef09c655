using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// How often the integer label is among the <see cref="K"/> highest-scored classes (Keras'
/// <c>SparseTopKCategoricalAccuracy</c>). Ties with the k-th score count as hits, as in Keras.
/// </summary>
public class SparseTopKCategoricalAccuracy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="k">How many top classes count (default 5).</param>
    /// <param name="name">Name (default <c>"sparse_top_k_categorical_accuracy"</c>).</param>
    /// <param name="fromSortedIds">Whether y_pred already holds class ids sorted by score, best first, rather than
    /// scores (default false).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public SparseTopKCategoricalAccuracy(int k = 5, string name = "sparse_top_k_categorical_accuracy", bool fromSortedIds = false) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        FromSortedIds = fromSortedIds;
    }

    /// <summary>How many top classes count.</summary>
    public int K { get; }

    /// <summary>Whether y_pred holds sorted class ids rather than scores.</summary>
    public bool FromSortedIds { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) =>
        (AccuracyFunctions.SparseTopKCategoricalAccuracy(yTrue, yPred, K, FromSortedIds, Owner), null);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var config = new Dictionary<string, object?>(base.GetConfig()) { ["k"] = K };
        if (FromSortedIds) config["from_sorted_ids"] = true;
        return config;
    }
}
