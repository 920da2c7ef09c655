using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>The weighted sum of the values it is given (Keras' <c>keras.metrics.Sum</c>).</summary>
public class Sum : Metric
{
    private readonly MetricState _total = new();

    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"sum"</c>).</param>
    public Sum(string name = "sum") : base(name) { }

    /// <summary>Adds values with optional weights (Keras' <c>Sum.update_state</c>).</summary>
    /// <param name="values">Values.</param>
    /// <param name="sampleWeight">Optional weights: a scalar, per sample, or per value (default <c>null</c>: 1 each).</param>
    /// <exception cref="ArgumentException">The weights do not fit the values.</exception>
    public void Update(Tensor values, Tensor? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (v, _) = ReductionUtils.ReduceToSamplewise(values, null, sampleWeight, mean: false, Owner);
        _total.Add(v.sum());
    }

    /// <summary>Adds one host value.</summary>
    /// <param name="value">The value.</param>
    public void Update(double value) => _total.Add(value);

    /// <summary>Not a <c>(y_true, y_pred)</c> metric: use <see cref="Update(Tensor, Tensor?)"/>.</summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions.</param>
    /// <param name="sampleWeight">Weights.</param>
    /// <param name="mask">Mask.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null) =>
        throw new NotSupportedException($"{Owner} sums values: call Update(values, sampleWeight).");

    /// <inheritdoc />
    public override double Result() => _total.ReadScalar();

    /// <inheritdoc />
    public override void ResetState() => _total.Reset();
}
