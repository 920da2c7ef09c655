using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Keras' loss plumbing (<c>keras/src/losses/loss.py</c>): reduction names, rank alignment of values and weights,
/// merging a mask into sample weights, and the final reduction. Shared by losses and metrics.
/// </summary>
internal static class LossUtils
{
    /// <summary>Keras' fuzz factor <c>backend.epsilon()</c>.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>The reductions Keras' <c>standardize_reduction</c> accepts (<c>None</c> is spelled <c>"none"</c> here).</summary>
    public static readonly string[] Reductions = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"];

    /// <summary>Validates a reduction name; <c>null</c> means <c>"none"</c> as Keras' <c>None</c>.</summary>
    public static string StandardizeReduction(string? reduction, string paramName)
    {
        reduction ??= "none";
        if (Array.IndexOf(Reductions, reduction) < 0)
            throw new ArgumentException(
                $"Invalid value for argument `reduction`: '{reduction}'. Expected one of {string.Join(", ", Reductions.Select(r => $"\"{r}\""))}.",
                paramName);
        return reduction;
    }

    /// <summary>Formats a shape the way Keras prints it: <c>(2, 3)</c>, <c>(4,)</c>, <c>()</c>.</summary>
    public static string FormatShape(long[] shape) =>
        shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    /// <summary>Whether two shapes broadcast under numpy/torch rules (trailing dimensions aligned).</summary>
    public static bool Broadcastable(long[] a, long[] b)
    {
        for (int i = 1; i <= Math.Min(a.Length, b.Length); i++)
        {
            long x = a[^i], y = b[^i];
            if (x != y && x != 1 && y != 1) return false;
        }
        return true;
    }

    /// <summary>
    /// Casts to float32 (Keras computes losses in <c>floatx</c>) and moves to <paramref name="device"/> when given.
    /// Returns the same tensor object when nothing changes.
    /// </summary>
    public static Tensor ToFloat(Tensor t, Device? device = null)
    {
        var r = t;
        if (device is not null && (r.device_type != device.type || r.device_index != device.index)) r = r.to(device);
        if (r.dtype != ScalarType.Float32) r = r.to_type(ScalarType.Float32);
        return r;
    }

    /// <summary>
    /// Keras' <c>squeeze_or_expand_to_same_rank</c>: when the ranks differ by exactly one and the longer tensor ends in
    /// a dimension of 1, squeeze it away (or, when the other tensor is rank 1 and <paramref name="expandRank1"/>,
    /// expand the rank-1 tensor instead).
    /// </summary>
    public static (Tensor X1, Tensor X2) SqueezeOrExpandToSameRank(Tensor x1, Tensor x2, bool expandRank1 = true)
    {
        long r1 = x1.dim(), r2 = x2.dim();
        if (r1 == r2) return (x1, x2);
        if (r1 == r2 + 1 && x1.shape[^1] == 1)
        {
            if (r2 == 1 && expandRank1) x2 = x2.unsqueeze(-1);
            else x1 = x1.squeeze(-1);
        }
        if (r2 == r1 + 1 && x2.shape[^1] == 1)
        {
            if (r1 == 1 && expandRank1) x1 = x1.unsqueeze(-1);
            else x2 = x2.squeeze(-1);
        }
        return (x1, x2);
    }

    /// <summary>Appends trailing dimensions of 1 to <paramref name="t"/> until it has <paramref name="rank"/> dimensions.</summary>
    public static Tensor PadTrailing(Tensor t, long rank)
    {
        if (t.dim() >= rank) return t;
        var shape = t.shape.Concat(Enumerable.Repeat(1L, (int)(rank - t.dim()))).ToArray();
        return t.reshape(shape);
    }

    /// <summary>
    /// Prepares weights to multiply <paramref name="values"/>. Keras multiplies them as they are after
    /// <see cref="SqueezeOrExpandToSameRank"/>, which aligns trailing dimensions; a per-sample weight <c>(B,)</c> on
    /// per-timestep values <c>(B, T)</c> then fails in Keras (or, when B = T, silently weights the wrong axis). Here a
    /// lower-rank weight is aligned on the leading (batch) dimensions instead, so it applies to every step of its
    /// sample. A weight of higher rank than the values cannot be applied and is an error.
    /// </summary>
    public static Tensor AlignWeightToValues(Tensor weight, Tensor values, string owner, string what)
    {
        if (weight.dim() > values.dim())
            throw new ArgumentException(
                $"{owner}: cannot apply a {what} of shape {FormatShape(weight.shape)} to values of shape {FormatShape(values.shape)}. " +
                "The values have fewer dimensions, which usually means y_true lacks y_pred's trailing dimension of 1 " +
                "(for instance y_true (batch, time) with y_pred (batch, time, 1)): give y_true the shape of y_pred.");
        var aligned = weight.dim() > 0 ? PadTrailing(weight, values.dim()) : weight;
        if (!Broadcastable(aligned.shape, values.shape))
            throw new ArgumentException(
                $"{owner}: a {what} of shape {FormatShape(weight.shape)} does not match values of shape {FormatShape(values.shape)}.");
        return aligned;
    }

    /// <summary><see cref="DivideNoNan(Tensor, Tensor)"/> of a host number by a tensor, without a host-to-device copy.</summary>
    public static Tensor DivideNoNan(double x, Tensor y)
    {
        using var zero = y.eq(0);
        using var safe = y.masked_fill(zero, 1);
        using var q = safe.reciprocal().mul_(x);
        return q.masked_fill(zero, 0);
    }

    /// <summary>Keras' <c>divide_no_nan</c>: <c>x / y</c>, and 0 where <c>y == 0</c> (without NaN gradients).</summary>
    public static Tensor DivideNoNan(Tensor x, Tensor y)
    {
        using var zero = y.eq(0);
        using var safe = y.masked_fill(zero, 1);
        using var q = x.div(safe);
        return q.masked_fill(zero, 0);
    }

    /// <summary>
    /// Checks a Keras mask against <paramref name="yPred"/> (its shape must be a prefix of y_pred's, e.g.
    /// <c>(batch, time)</c> for y_pred <c>(batch, time, features)</c>) and returns it as bool on y_pred's device.
    /// </summary>
    public static Tensor PrepareMask(Tensor mask, Tensor yPred, string owner)
    {
        var ms = mask.shape;
        var ps = yPred.shape;
        bool ok = ms.Length <= ps.Length && ms.Length > 0;
        for (int i = 0; ok && i < ms.Length; i++) ok = ms[i] == ps[i];
        if (!ok)
            throw new ArgumentException(
                $"{owner}: mask of shape {FormatShape(ms)} does not match y_pred of shape {FormatShape(ps)}; " +
                "expected y_pred's leading dimensions, e.g. (batch, time).", nameof(mask));
        var m = mask.device_type != yPred.device_type || mask.device_index != yPred.device_index ? mask.to(yPred.device) : mask;
        return m.dtype == ScalarType.Bool ? m : m.ne(0);
    }

    /// <summary>
    /// Keras' <c>apply_mask</c>: turns a boolean mask into weights and merges them into <paramref name="sampleWeight"/>.
    /// For the <c>"sum_over_batch_size"</c> and <c>"mean"</c> reductions a kept entry weighs <c>total / valid</c>
    /// (so the final division by the number of entries becomes a division by the number of kept entries); otherwise
    /// the mask is a 0/1 weight.
    /// </summary>
    public static Tensor? ApplyMask(Tensor? sampleWeight, Tensor? mask, string reduction, string owner)
    {
        if (mask is null) return sampleWeight;
        Tensor floatMask;
        using (var fm = mask.to_type(ScalarType.Float32))
        {
            if (reduction is "mean" or "sum_over_batch_size")
            {
                using var valid = fm.sum();
                using var weight = DivideNoNan(mask.numel(), valid);
                floatMask = fm.mul(weight);
            }
            else
            {
                floatMask = fm.alias();
            }
        }
        if (sampleWeight is null) return floatMask;
        var sw = ToFloat(sampleWeight, mask.device);
        (floatMask, sw) = SqueezeOrExpandToSameRank(floatMask, sw);
        // Leading alignment of a lower-rank factor: a per-sample weight (B,) applies to every step of a (B, T) mask.
        long rank = Math.Max(floatMask.dim(), sw.dim());
        if (sw.dim() > 0) sw = PadTrailing(sw, rank);
        if (floatMask.dim() > 0) floatMask = PadTrailing(floatMask, rank);
        if (!Broadcastable(sw.shape, floatMask.shape))
            throw new ArgumentException(
                $"{owner}: sample_weight of shape {FormatShape(sampleWeight.shape)} does not match the mask of shape {FormatShape(mask.shape)}.");
        return sw.mul(floatMask);
    }

    /// <summary>Keras' <c>reduce_values</c>.</summary>
    public static Tensor ReduceValues(Tensor values, Tensor? sampleWeight, string reduction)
    {
        if (reduction == "none" || values.dim() == 0 || (values.dim() == 1 && values.shape[0] == 0))
            return values.alias();
        var loss = values.sum();
        if (reduction is "sum_over_batch_size" or "mean" or "mean_with_sample_weight")
        {
            using var sum = loss;
            if (reduction == "mean_with_sample_weight" && sampleWeight is not null)
            {
                using var divisor = sampleWeight.sum().to_type(loss.dtype);
                loss = DivideNoNan(sum, divisor);
            }
            else
            {
                // The divisor is the number of values, known on the host (0 only for an empty tensor: divide_no_nan gives 0).
                long count = values.numel();
                loss = count == 0 ? sum.mul(0) : sum.div(count);
            }
        }
        return loss;
    }

    /// <summary>
    /// Keras' <c>reduce_weighted_values</c>: merge the mask into the sample weight, multiply, reduce.
    /// Call inside a dispose scope.
    /// </summary>
    public static Tensor ReduceWeightedValues(Tensor values, Tensor? sampleWeight, Tensor? mask, string reduction, string owner)
    {
        values = ToFloat(values);
        if (sampleWeight is not null) sampleWeight = ToFloat(sampleWeight, values.device);
        var sw = ApplyMask(sampleWeight, mask, reduction, owner);
        if (sw is not null)
        {
            (values, sw) = SqueezeOrExpandToSameRank(values, sw);
            sw = AlignWeightToValues(sw, values, owner, mask is null ? "sample_weight" : "sample_weight/mask");
            values = values.mul(sw);
        }
        return ReduceValues(values, sw, reduction);
    }
}
