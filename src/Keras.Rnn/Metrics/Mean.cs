using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// The weighted mean of the values it is given (Keras' <c>keras.metrics.Mean</c>): <c>Σ wᵢ·vᵢ / Σ wᵢ</c>, where a
/// multi-dimensional value is first averaged to one value per sample. The trainer tracks the loss with it:
/// <c>Update(loss, batchSize)</c>.
/// </summary>
/// <example>
/// <code>
/// var tracker = new Mean("loss");
/// tracker.Update(batchLoss, batchSize);   // tensor loss: no host synchronisation
/// double epochLoss = tracker.Result();
/// </code>
/// </example>
public class Mean : Metric
{
    private readonly MetricState _total = new();
    private readonly MetricState _count = new();

    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"mean"</c>).</param>
    public Mean(string name = "mean") : base(name) { }

    /// <summary>Adds values with optional weights (Keras' <c>Mean.update_state</c>).</summary>
    /// <param name="values">A scalar, or values whose first dimension is the batch.</param>
    /// <param name="sampleWeight">Optional weights: a scalar, per sample, or per value (default <c>null</c>: 1 each).</param>
    /// <exception cref="ArgumentException">The weights do not fit the values.</exception>
    public void Update(Tensor values, Tensor? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        UpdateCore(values, null, sampleWeight);
    }

    /// <summary>Adds values with one weight for all of them, e.g. a batch's mean loss weighted by the batch size.</summary>
    /// <param name="values">A scalar, or values whose first dimension is the batch.</param>
    /// <param name="sampleWeight">The weight.</param>
    public void Update(Tensor values, double sampleWeight)
    {
        ArgumentNullException.ThrowIfNull(values);
        // Keras with a scalar weight: the values are averaged to one number, which is weighted by it.
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var v = values.detach().to_type(ScalarType.Float32);
        // A scalar (a batch's loss, the common case) is added times the weight in one operation.
        _total.AddScaled(v.dim() == 0 ? v : v.mean(), sampleWeight);
        _count.Add(sampleWeight, v.device);
    }

    /// <summary>Adds one host value with a weight.</summary>
    /// <param name="value">The value.</param>
    /// <param name="weight">Its weight (default 1).</param>
    public void Update(double value, double weight = 1)
    {
        _total.Add(value * weight, _count.Value?.device);
        _count.Add(weight, _total.Value?.device);
    }

    /// <summary>Keras' <c>Mean.update_state(values, sample_weight)</c> with a mask carried by the values.</summary>
    internal void UpdateCore(Tensor values, Tensor? valuesMask, Tensor? sampleWeight)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (v, w) = ReductionUtils.ReduceToSamplewise(values, valuesMask, sampleWeight, mean: true, Owner);
        _total.Add(v.sum());
        if (w is not null) _count.Add(w.sum());
        else _count.Add(v.dim() >= 1 ? v.shape[0] : 1, v.device);
    }

    /// <summary>
    /// Not a <c>(y_true, y_pred)</c> metric: use <see cref="Update(Tensor, Tensor?)"/>, or
    /// <see cref="MeanMetricWrapper"/> to average a function of y_true and y_pred.
    /// </summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions.</param>
    /// <param name="sampleWeight">Weights.</param>
    /// <param name="mask">Mask.</param>
    /// <exception cref="NotSupportedException">Always, for <see cref="Mean"/> itself.</exception>
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null) =>
        throw new NotSupportedException(
            $"{Owner} averages values: call Update(values, sampleWeight). To average a function of y_true and y_pred, use MeanMetricWrapper.");

    /// <summary>The weighted mean so far; 0 before any update or when the weights sum to 0.</summary>
    public override double Result()
    {
        double count = _count.ReadScalar();
        return count == 0 ? 0.0 : _total.ReadScalar() / count;
    }

    /// <inheritdoc />
    public override void ResetState()
    {
        _total.Reset();
        _count.Reset();
    }
}
