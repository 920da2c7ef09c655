using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Sparse categorical cross-entropy (Keras' <c>SparseCategoricalCrossentropy</c>) for integer class labels: y_true
/// <c>(batch,)</c> or <c>(batch, 1)</c> with y_pred <c>(batch, classes)</c>, or y_true <c>(batch, time)</c> /
/// <c>(batch, time, 1)</c> with y_pred <c>(batch, time, classes)</c>. Labels may be int64, int32 or float. Probabilities
/// are divided by their sum and clipped to <c>[1e-7, 1 - 1e-7]</c>; <c>fromLogits: true</c> uses the log-softmax.
/// </summary>
/// <remarks>
/// With <c>ignoreClass</c>, entries whose label equals it give 0 and are masked out of the reduction, so
/// <c>"sum_over_batch_size"</c> averages over the other entries only.
/// </remarks>
public class SparseCategoricalCrossentropy : LossFunctionWrapper
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether y_pred holds logits rather than probabilities (default false).</param>
    /// <param name="ignoreClass">A label to leave out of the loss, e.g. a padding class (default <c>null</c>: none).</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>); see <see cref="Loss"/>.</param>
    /// <param name="axis">The class axis of y_pred (default -1).</param>
    /// <param name="name">Name (default <c>"sparse_categorical_crossentropy"</c>).</param>
    /// <exception cref="ArgumentException">Unknown reduction.</exception>
    public SparseCategoricalCrossentropy(bool fromLogits = false, int? ignoreClass = null, string reduction = "sum_over_batch_size",
        int axis = -1, string name = "sparse_categorical_crossentropy") : base(name, reduction)
    {
        FromLogits = fromLogits;
        IgnoreClass = ignoreClass;
        Axis = axis;
    }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label left out of the loss, if any.</summary>
    public int? IgnoreClass { get; }

    /// <summary>The class axis of y_pred.</summary>
    public int Axis { get; }

    private protected override Tensor Apply(Tensor yTrue, Tensor yPred) =>
        LossFunctions.SparseCategoricalCrossentropy(yTrue, yPred, FromLogits, IgnoreClass, Axis, Owner, out _);

    internal override (Tensor Values, Tensor? Mask) CallWithMask(Tensor yTrue, Tensor yPred)
    {
        var (t, p) = LossUtils.SqueezeOrExpandToSameRank(yTrue, yPred);
        var values = LossFunctions.SparseCategoricalCrossentropy(t, p, FromLogits, IgnoreClass, Axis, Owner, out var valid);
        return (values, valid);
    }

    /// <summary>Keras' config (<c>name</c>, <c>reduction</c>, <c>from_logits</c>, <c>ignore_class</c>) plus
    /// <c>axis</c>, which Keras 3.15 leaves out; Keras' <c>from_config</c> accepts it.</summary>
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["from_logits"] = FromLogits,
            ["ignore_class"] = IgnoreClass,
            ["axis"] = Axis,
        };
}
