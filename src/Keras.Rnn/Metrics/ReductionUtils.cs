using Keras.Rnn.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>Keras' <c>reduce_to_samplewise_values</c> (<c>keras/src/metrics/reduction_metrics.py</c>).</summary>
internal static class ReductionUtils
{
    /// <summary>
    /// Reduces <paramref name="values"/> to one value per sample, weighted. With a weight: a mask carried by the
    /// values is merged into it (0/1), ranks are aligned, dimensions the weight lacks are reduced first, the weight is
    /// broadcast and multiplied in, and the weight itself is reduced to one value per sample. Finally every dimension
    /// after the first is reduced. <paramref name="mean"/> picks mean (Keras' <c>Mean</c>) or sum (<c>Sum</c>).
    /// Call inside a dispose scope.
    /// </summary>
    public static (Tensor Values, Tensor? Weight) ReduceToSamplewise(Tensor values, Tensor? valuesMask, Tensor? sampleWeight, bool mean, string owner)
    {
        Tensor Reduce(Tensor t, long from, long to)
        {
            var dims = Enumerable.Range((int)from, (int)(to - from)).Select(i => (long)i).ToArray();
            return mean ? t.mean(dims) : t.sum(dims);
        }

        values = LossUtils.ToFloat(values);
        Tensor? sw = null;
        if (sampleWeight is not null)
        {
            sw = LossUtils.ToFloat(sampleWeight, values.device);
            if (valuesMask is not null) sw = LossUtils.ApplyMask(sw, valuesMask, "sum", owner)!;
            (values, sw) = LossUtils.SqueezeOrExpandToSameRank(values, sw);
            long wRank = sw.dim(), vRank = values.dim();
            if (vRank > wRank) values = Reduce(values, wRank, vRank);
            if (!LossUtils.Broadcastable(sw.shape, values.shape) || sw.dim() > values.dim())
                throw new ArgumentException(
                    $"{owner}: sample_weight/mask of shape {LossUtils.FormatShape(sw.shape)} cannot be applied to values of shape " +
                    $"{LossUtils.FormatShape(values.shape)}. If y_pred is (batch, time, 1), give y_true the same shape.");
            sw = sw.broadcast_to(values.shape);
            values = values.mul(sw);
            if (wRank > 1) sw = Reduce(sw, 1, wRank);
        }
        if (values.dim() > 1) values = Reduce(values, 1, values.dim());
        return (values, sw);
    }
}
