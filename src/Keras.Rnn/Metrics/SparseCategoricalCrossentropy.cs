using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Mean sparse categorical cross-entropy (Keras' <c>SparseCategoricalCrossentropy</c> metric); same formula
/// and 1e-7 clipping as the loss.</summary>
/// <remarks>
/// As in Keras 3.15, entries whose label is <see cref="IgnoreClass"/> contribute 0 and are left out of the count only
/// when a sample weight or a mask is given; without either they count as samples with value 0.
/// </remarks>
public class SparseCategoricalCrossentropy : MeanMetricWrapper
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"sparse_categorical_crossentropy"</c>).</param>
    /// <param name="fromLogits">Whether y_pred holds logits (default false).</param>
    /// <param name="ignoreClass">A label to leave out (default <c>null</c>: none).</param>
    /// <param name="axis">The class axis of y_pred (default -1).</param>
    public SparseCategoricalCrossentropy(string name = "sparse_categorical_crossentropy", bool fromLogits = false, int? ignoreClass = null,
        int axis = -1) : base(name)
    {
        FromLogits = fromLogits;
        IgnoreClass = ignoreClass;
        Axis = axis;
    }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The label left out, if any.</summary>
    public int? IgnoreClass { get; }

    /// <summary>The class axis of y_pred.</summary>
    public int Axis { get; }

    private protected override (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred)
    {
        var values = LossFunctions.SparseCategoricalCrossentropy(yTrue, yPred, FromLogits, IgnoreClass, Axis, Owner, out var valid);
        return (values, valid);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["from_logits"] = FromLogits,
            ["ignore_class"] = IgnoreClass,
            ["axis"] = Axis,
        };
}
