using Keras.Rnn.Losses;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// The weighted mean of a function of <c>(y_true, y_pred)</c> (Keras' <c>keras.metrics.MeanMetricWrapper</c>); most
/// built-in metrics are one. The function returns one value per sample (or per sample and step); a
/// <c>(batch, time)</c> mask becomes 0/1 weights merged into the sample weights, so masked steps neither add to the
/// total nor to the count.
/// </summary>
/// <example>
/// <code>
/// var within = new MeanMetricWrapper((t, p) => (p - t).abs().le(0.1).to_type(ScalarType.Float32), name: "within_0_1");
/// </code>
/// </example>
public class MeanMetricWrapper : Mean
{
    private readonly Func<Tensor, Tensor, Tensor>? _fn;

    /// <summary>Wraps <paramref name="fn"/>.</summary>
    /// <param name="fn">Computes the values to average from <c>(y_true, y_pred)</c>.</param>
    /// <param name="name">Name (default: an automatic <c>mean_metric_wrapper</c>, <c>mean_metric_wrapper_1</c>, ...).</param>
    /// <exception cref="ArgumentNullException"><paramref name="fn"/> is null.</exception>
    public MeanMetricWrapper(Func<Tensor, Tensor, Tensor> fn, string? name = null)
        : base(name ?? Naming.Uniquify("mean_metric_wrapper"))
    {
        ArgumentNullException.ThrowIfNull(fn);
        _fn = fn;
    }

    /// <summary>For the built-in metrics, which override <see cref="ComputeValues"/>.</summary>
    /// <param name="name">Name.</param>
    private protected MeanMetricWrapper(string name) : base(name) { }

    /// <summary>The wrapped function, or <c>null</c> for a built-in metric.</summary>
    public Func<Tensor, Tensor, Tensor>? Fn => _fn;

    /// <summary>The per-sample values and a mask they carry, if any.</summary>
    private protected virtual (Tensor Values, Tensor? Mask) ComputeValues(Tensor yTrue, Tensor yPred) => (_fn!(yTrue, yPred), null);

    /// <summary>
    /// Accumulates one batch (Keras' <c>MeanMetricWrapper.update_state</c>): the mask is merged into the sample
    /// weights as 0/1 factors (a per-sample weight applies to every step of its sample), then the weighted mean.
    /// </summary>
    /// <inheritdoc />
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var pred = yPred.detach();
        var truth = yTrue.device_type != pred.device_type || yTrue.device_index != pred.device_index ? yTrue.to(pred.device) : yTrue;
        var m = mask is null ? null : LossUtils.PrepareMask(mask, pred, Owner);
        var (values, valuesMask) = ComputeValues(truth, pred);
        var sw = sampleWeight is null ? null : LossUtils.ToFloat(sampleWeight, pred.device);
        sw = LossUtils.ApplyMask(sw, m, "sum", Owner);
        UpdateCore(values, valuesMask, sw);
    }
}
