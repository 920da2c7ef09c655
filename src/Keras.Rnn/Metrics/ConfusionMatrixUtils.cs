using Keras.Rnn.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Keras' thresholded confusion-matrix accumulation (<c>metrics_utils.update_confusion_matrix_variables</c>): counts
/// (weighted) true/false positives/negatives of <c>y_pred &gt; threshold</c> for every threshold at once.
/// </summary>
internal static class ConfusionMatrixUtils
{
    /// <summary>Keras' <c>NEG_INF</c>: the score given to classes outside the top k.</summary>
    public const double NegInf = -1e10;

    /// <summary>Keras' <c>is_evenly_distributed_thresholds</c>: at least 3 thresholds equal to <c>i / (n - 1)</c>
    /// (numpy <c>allclose</c> with <c>atol = 1e-7</c>, <c>rtol = 1e-5</c>).</summary>
    public static bool IsEvenlyDistributed(IReadOnlyList<double> thresholds)
    {
        int n = thresholds.Count;
        if (n < 3) return false;
        for (int i = 0; i < n; i++)
        {
            double even = (float)i / (float)(n - 1);
            if (Math.Abs(thresholds[i] - even) > LossUtils.Epsilon + 1e-5 * Math.Abs(even)) return false;
        }
        return true;
    }

    /// <summary>Keras' <c>parse_init_thresholds</c> range check.</summary>
    public static void CheckThresholds(double[] thresholds, string paramName)
    {
        var bad = thresholds.Where(t => double.IsNaN(t) || t < 0 || t > 1).ToArray();
        if (bad.Length > 0)
            throw new ArgumentException($"Threshold values must be in [0, 1]. Received: [{string.Join(", ", bad)}].", paramName);
    }

    /// <summary>Keras' <c>_filter_top_k</c>: scores outside the top k along the last axis become <see cref="NegInf"/>.</summary>
    private static Tensor FilterTopK(Tensor x, int k)
    {
        var kk = (int)Math.Min(k, x.shape[^1]);
        var (_, indices) = x.topk(kk, dim: -1);
        var keep = torch.zeros_like(x).scatter_(-1, indices, torch.ones(indices.shape, x.dtype, x.device));
        return x.mul(keep).add(keep.neg().add(1.0).mul(NegInf));
    }

    /// <summary>
    /// Adds one batch to the given accumulators (float64 <see cref="MetricState"/>s of shape <c>(n,)</c>, or
    /// <c>(n, labels)</c> when <paramref name="multiLabel"/>). Labels count as positive when non-zero.
    /// </summary>
    public static void Update(string owner, Tensor yTrue, Tensor yPred, double[] thresholds, DeviceConstant thresholdTensor, bool evenly,
        int? topK, int? classId, Tensor? sampleWeight, bool multiLabel, DeviceConstant? labelWeights,
        MetricState? tp, MetricState? fp, MetricState? tn, MetricState? fn)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var yp = LossUtils.ToFloat(yPred.detach());
        var yt = LossUtils.ToFloat(yTrue, yp.device);
        var device = yp.device;
        bool withEpsilon = evenly && (thresholds[0] < 0 || thresholds[^1] > 1);

        (yp, yt) = LossUtils.SqueezeOrExpandToSameRank(yp, yt);
        Tensor? sw = null;
        if (sampleWeight is not null)
        {
            sw = LossUtils.ToFloat(sampleWeight, device).unsqueeze(-1);
            (_, sw) = LossUtils.SqueezeOrExpandToSameRank(yt, sw, expandRank1: false);
        }
        if (topK is { } k) yp = FilterTopK(yp, k);
        if (classId is { } c)
        {
            if (yp.dim() == 1)
                throw new ArgumentException(
                    $"{owner}: when class_id is provided, y_pred must be a 2D array with shape (num_samples, num_classes), found shape: {LossUtils.FormatShape(yp.shape)}.");
            if (c < 0 || c >= yp.shape[^1] || c >= yt.shape[^1])
                throw new ArgumentException($"{owner}: class_id {c} is out of range for y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
            yt = yt.narrow(yt.dim() - 1, c, 1);
            yp = yp.narrow(yp.dim() - 1, c, 1);
        }
        if (!yt.shape.SequenceEqual(yp.shape))
            throw new ArgumentException(
                $"{owner}: y_true of shape {LossUtils.FormatShape(yTrue.shape)} does not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
        if (multiLabel && yp.dim() != 2)
            throw new ArgumentException($"{owner}: y_pred must have rank 2 when multi_label is true; found shape {LossUtils.FormatShape(yp.shape)}.");

        Tensor? weights = null;
        if (sw is not null)
        {
            if (!LossUtils.Broadcastable(sw.shape, yp.shape) || sw.dim() > yp.dim())
                throw new ArgumentException(
                    $"{owner}: sample_weight of shape {LossUtils.FormatShape(sampleWeight!.shape)} does not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
            weights = sw.broadcast_to(yp.shape);
        }
        if (labelWeights is not null && !multiLabel)
        {
            var lw = labelWeights.On(device).unsqueeze(0);
            if (!LossUtils.Broadcastable(lw.shape, yp.shape))
                throw new ArgumentException(
                    $"{owner}: label_weights of length {lw.shape[1]} do not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
            lw = lw.broadcast_to(yp.shape);
            weights = weights is null ? lw : weights.mul(lw);
        }

        int n = thresholds.Length;
        Tensor tpV, fpV, tnV, fnV;
        if (evenly)
        {
            // Each prediction falls in the bucket of the highest threshold it exceeds; a reversed cumulative sum of
            // the bucket totals counts, for every threshold, the predictions above it.
            var pred = yp.clamp(0.0, 1.0);
            var label = yt.ne(0).to_type(ScalarType.Float32);
            if (!multiLabel)
            {
                pred = pred.reshape(-1);
                label = label.reshape(-1);
                weights = weights?.reshape(-1);
            }
            var trueLabels = weights is null ? label : label.mul(weights);
            var falseLabels = weights is null ? label.neg().add(1.0) : label.neg().add(1.0).mul(weights);
            var bucket = pred.mul((float)(n - 1)).ceil().sub(1.0);
            if (withEpsilon) bucket = bucket.relu();
            var index = bucket.to_type(ScalarType.Int64);
            index = index.masked_fill(index.lt(0).logical_or(index.ge(n)), n);
            long[] bucketShape = multiLabel ? [n + 1, pred.shape[1]] : [n + 1];
            var tpBucket = torch.zeros(bucketShape, ScalarType.Float32, device).scatter_add_(0, index, trueLabels).narrow(0, 0, n);
            var fpBucket = torch.zeros(bucketShape, ScalarType.Float32, device).scatter_add_(0, index, falseLabels).narrow(0, 0, n);
            tpV = tpBucket.flip(0).cumsum(0).flip(0);
            fpV = fpBucket.flip(0).cumsum(0).flip(0);
            var totalTrue = multiLabel ? trueLabels.sum([0L]) : trueLabels.sum();
            var totalFalse = multiLabel ? falseLabels.sum([0L]) : falseLabels.sum();
            tnV = totalFalse.sub(fpV);
            fnV = totalTrue.sub(tpV);
        }
        else
        {
            var thr = thresholdTensor.On(device);
            Tensor preds, labels;
            Tensor? w = null;
            if (multiLabel)
            {
                preds = yp.unsqueeze(0);
                labels = yt.ne(0).unsqueeze(0);
                w = weights?.unsqueeze(0);
                thr = thr.reshape(n, 1, 1);
            }
            else
            {
                preds = yp.reshape(1, -1);
                labels = yt.ne(0).reshape(1, -1);
                w = weights?.reshape(1, -1);
                thr = thr.reshape(n, 1);
            }
            var predPos = preds.gt(thr);
            var labelPos = labels.expand_as(predPos);
            var predNeg = predPos.logical_not();
            var labelNeg = labelPos.logical_not();
            Tensor Count(Tensor a, Tensor b)
            {
                var both = a.logical_and(b);
                var v = w is null ? both.to_type(ScalarType.Float32) : torch.where(both, w.expand_as(both), torch.zeros_like(w).expand_as(both));
                return v.sum([1L]);
            }
            tpV = Count(labelPos, predPos);
            fpV = Count(labelNeg, predPos);
            tnV = Count(labelNeg, predNeg);
            fnV = Count(labelPos, predNeg);
        }
        tp?.Add(tpV);
        fp?.Add(fpV);
        tn?.Add(tnV);
        fn?.Add(fnV);
    }
}
