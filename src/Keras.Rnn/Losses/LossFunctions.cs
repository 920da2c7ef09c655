using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// Keras' loss functions (<c>keras.losses.mean_squared_error</c>, ...) on float32 tensors, returning one value per
/// sample (the last axis reduced). Shared by the loss classes and the metrics. <c>owner</c> names the caller in error
/// messages. Temporaries belong to the caller's dispose scope.
/// </summary>
internal static class LossFunctions
{
    private const double Eps = LossUtils.Epsilon;

    /// <summary>Throws unless the two shapes broadcast (Keras' element-wise losses broadcast as numpy does).</summary>
    public static void CheckBroadcastable(Tensor yTrue, Tensor yPred, string owner)
    {
        if (!LossUtils.Broadcastable(yTrue.shape, yPred.shape))
            throw new ArgumentException(
                $"{owner}: y_true of shape {LossUtils.FormatShape(yTrue.shape)} and y_pred of shape {LossUtils.FormatShape(yPred.shape)} are incompatible.");
    }

    /// <summary>Throws unless the two shapes are equal (Keras' cross-entropy backends require it).</summary>
    public static void CheckSameShape(Tensor yTrue, Tensor yPred, string owner)
    {
        if (!yTrue.shape.SequenceEqual(yPred.shape))
            throw new ArgumentException(
                $"{owner}: y_true and y_pred must have the same shape; received y_true of shape {LossUtils.FormatShape(yTrue.shape)} " +
                $"and y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
    }

    private static (Tensor T, Tensor P) Prepare(Tensor yTrue, Tensor yPred, string owner, bool squeeze = true)
    {
        var p = LossUtils.ToFloat(yPred);
        var t = LossUtils.ToFloat(yTrue, p.device);
        if (squeeze) (t, p) = LossUtils.SqueezeOrExpandToSameRank(t, p);
        CheckBroadcastable(t, p, owner);
        return (t, p);
    }

    /// <summary><c>mean(square(y_true - y_pred), axis=-1)</c>.</summary>
    public static Tensor MeanSquaredError(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        return t.sub(p).square().mean([-1L]);
    }

    /// <summary><c>mean(abs(y_true - y_pred), axis=-1)</c>.</summary>
    public static Tensor MeanAbsoluteError(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        return t.sub(p).abs().mean([-1L]);
    }

    /// <summary><c>100 · mean(|(y_true - y_pred) / max(|y_true|, ε)|, axis=-1)</c>.</summary>
    public static Tensor MeanAbsolutePercentageError(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        return t.sub(p).div(t.abs().clamp_min(Eps)).abs().mean([-1L]).mul(100.0);
    }

    /// <summary><c>mean(square(log(max(y_pred, ε) + 1) - log(max(y_true, ε) + 1)), axis=-1)</c>.</summary>
    public static Tensor MeanSquaredLogarithmicError(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        var first = p.clamp_min(Eps).add(1.0).log();
        var second = t.clamp_min(Eps).add(1.0).log();
        return first.sub(second).square().mean([-1L]);
    }

    /// <summary>Huber: <c>mean(0.5·e² if |e| ≤ δ else δ·|e| - 0.5·δ², axis=-1)</c> with <c>e = y_pred - y_true</c>.</summary>
    public static Tensor Huber(Tensor yTrue, Tensor yPred, double delta, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        var error = p.sub(t);
        var absError = error.abs();
        var quadratic = error.square().mul(0.5);
        var linear = absError.mul(delta).sub(0.5 * delta * delta);
        return torch.where(absError.le(delta), quadratic, linear).mean([-1L]);
    }

    /// <summary><c>mean(x + softplus(-2x) - log 2, axis=-1)</c> with <c>x = y_pred - y_true</c> (a stable log(cosh x)).</summary>
    public static Tensor LogCosh(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        var x = p.sub(t);
        return x.add(torch.nn.functional.softplus(x.mul(-2.0))).sub(Math.Log(2.0)).mean([-1L]);
    }

    /// <summary>Keras' <c>normalize</c> (L2): <c>x · min(rsqrt(Σx²), 1/ε)</c> along <paramref name="axis"/>.</summary>
    private static Tensor L2Normalize(Tensor x, long axis)
    {
        var inv = x.square().sum([axis], keepdim: true).rsqrt().clamp_max(1.0 / Eps);
        return x.mul(inv);
    }

    /// <summary>Cosine similarity along <paramref name="axis"/> (positive: the metric; the loss negates it).</summary>
    public static Tensor CosineSimilarity(Tensor yTrue, Tensor yPred, long axis, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner);
        return L2Normalize(t, axis).mul(L2Normalize(p, axis)).sum([axis]);
    }

    /// <summary><c>sum(y_true · log(y_true / y_pred), axis=-1)</c>, both clipped to <c>[ε, 1]</c>.</summary>
    public static Tensor KLDivergence(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner, squeeze: false);
        t = t.clamp(Eps, 1.0);
        p = p.clamp(Eps, 1.0);
        return t.mul(t.div(p).log()).sum([-1L]);
    }

    /// <summary><c>mean(y_pred - y_true · log(y_pred + ε), axis=-1)</c>.</summary>
    public static Tensor Poisson(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner, squeeze: false);
        return p.sub(t.mul(p.add(Eps).log())).mean([-1L]);
    }

    /// <summary>Keras' <c>convert_binary_labels_to_hinge</c>: labels that are all 0 or 1 become -1 or 1 (no host sync).</summary>
    private static Tensor HingeLabels(Tensor t)
    {
        var isBinary = t.eq(0).logical_or(t.eq(1)).all();
        return torch.where(isBinary, t.mul(2.0).sub(1.0), t);
    }

    /// <summary><c>mean(max(1 - y_true · y_pred, 0), axis=-1)</c>, 0/1 labels mapped to -1/1.</summary>
    public static Tensor Hinge(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner, squeeze: false);
        return torch.nn.functional.relu(HingeLabels(t).mul(p).neg().add(1.0)).mean([-1L]);
    }

    /// <summary><c>mean(square(max(1 - y_true · y_pred, 0)), axis=-1)</c>, 0/1 labels mapped to -1/1.</summary>
    public static Tensor SquaredHinge(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner, squeeze: false);
        return torch.nn.functional.relu(HingeLabels(t).mul(p).neg().add(1.0)).square().mean([-1L]);
    }

    /// <summary><c>max(neg - pos + 1, 0)</c> with <c>pos = Σ y_true·y_pred</c>, <c>neg = max((1 - y_true)·y_pred)</c>.</summary>
    public static Tensor CategoricalHinge(Tensor yTrue, Tensor yPred, string owner)
    {
        var (t, p) = Prepare(yTrue, yPred, owner, squeeze: false);
        var pos = t.mul(p).sum([-1L]);
        var neg = t.neg().add(1.0).mul(p).amax([-1L]);
        return torch.nn.functional.relu(neg.sub(pos).add(1.0));
    }

    private static long CanonicalAxis(long axis, long rank, string owner)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentException($"{owner}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    /// <summary>
    /// Keras' <c>binary_crossentropy</c> on the torch backend: label smoothing towards 0.5, then element-wise
    /// cross-entropy (<c>binary_cross_entropy_with_logits</c>, or probabilities clipped to <c>[ε, 1-ε]</c>), averaged
    /// over <paramref name="axis"/>.
    /// </summary>
    public static Tensor BinaryCrossentropy(Tensor yTrue, Tensor yPred, bool fromLogits, double labelSmoothing, long axis, string owner)
    {
        var p = LossUtils.ToFloat(yPred);
        var t = LossUtils.ToFloat(yTrue, p.device);
        CheckSameShape(t, p, owner);
        if (labelSmoothing != 0) t = t.mul(1.0 - labelSmoothing).add(0.5 * labelSmoothing);
        Tensor elementwise;
        if (fromLogits)
            elementwise = torch.nn.functional.binary_cross_entropy_with_logits(p, t, reduction: nn.Reduction.None);
        else
            elementwise = torch.nn.functional.binary_cross_entropy(p.clamp(Eps, 1.0 - Eps), t, reduction: nn.Reduction.None);
        return elementwise.mean([CanonicalAxis(axis, elementwise.dim(), owner)]);
    }

    /// <summary>
    /// Keras' <c>categorical_crossentropy</c> on the torch backend: label smoothing
    /// (<c>y·(1-s) + s/num_classes</c>, classes counted on the last axis as Keras does), then
    /// <c>-Σ y·log_softmax(logits)</c>, or for probabilities <c>-Σ y·log(clip(p / Σp, ε, 1-ε))</c>.
    /// </summary>
    public static Tensor CategoricalCrossentropy(Tensor yTrue, Tensor yPred, bool fromLogits, double labelSmoothing, long axis, string owner)
    {
        var p = LossUtils.ToFloat(yPred);
        var t = LossUtils.ToFloat(yTrue, p.device);
        CheckSameShape(t, p, owner);
        if (p.dim() < 1)
            throw new ArgumentException($"{owner}: y_true and y_pred must be at least rank 1; received shape {LossUtils.FormatShape(p.shape)}.");
        var ax = CanonicalAxis(axis, p.dim(), owner);
        if (labelSmoothing != 0)
        {
            double numClasses = t.shape[^1];
            t = t.mul(1.0 - labelSmoothing).add(labelSmoothing / numClasses);
        }
        Tensor logProb;
        if (fromLogits)
            logProb = torch.nn.functional.log_softmax(p, ax);
        else
            logProb = p.div(p.sum([ax], keepdim: true)).clamp(Eps, 1.0 - Eps).log();
        return t.mul(logProb).sum([ax]).neg();
    }

    /// <summary>
    /// Keras' <c>sparse_categorical_crossentropy</c>: a trailing class dimension of 1 on y_true is squeezed; labels
    /// equal to <paramref name="ignoreClass"/> give 0 and are reported in <paramref name="validMask"/>; then
    /// <c>cross_entropy</c> on logits, or <c>nll_loss(log(clip(p / Σp, ε, 1-ε)))</c> on probabilities.
    /// </summary>
    public static Tensor SparseCategoricalCrossentropy(Tensor yTrue, Tensor yPred, bool fromLogits, int? ignoreClass, long axis,
        string owner, out Tensor? validMask)
    {
        validMask = null;
        var p = LossUtils.ToFloat(yPred);
        var t = LossUtils.ToFloat(yTrue, p.device);
        if (p.dim() < 1)
            throw new ArgumentException($"{owner}: y_pred must be at least rank 1; received shape {LossUtils.FormatShape(p.shape)}.");
        var classAxis = CanonicalAxis(axis, p.dim(), owner);
        if (t.dim() == p.dim() && t.shape[classAxis] == 1) t = t.squeeze(classAxis);

        var expected = p.shape.Where((_, i) => i != classAxis).ToArray();
        if (!t.shape.SequenceEqual(expected))
            throw new ArgumentException(
                $"{owner}: y_true of shape {LossUtils.FormatShape(yTrue.shape)} does not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}; " +
                $"expected integer labels of shape {LossUtils.FormatShape(expected)} (or with a trailing 1) for {p.shape[classAxis]} classes.");

        if (ignoreClass is { } ignore)
        {
            validMask = t.ne(ignore);
            t = t.masked_fill(validMask.logical_not(), 0);
            p = p.masked_fill(validMask.unsqueeze(classAxis).logical_not(), 0);
        }

        var target = t.to_type(ScalarType.Int64);
        var output = p;
        bool squeeze = false;
        if (output.dim() == 1)
        {
            output = output.unsqueeze(0);
            target = target.unsqueeze(0);
            squeeze = true;
        }
        else if (classAxis != 1)
        {
            output = output.movedim([classAxis], [1L]);
        }

        Tensor result;
        try
        {
            if (fromLogits)
            {
                result = torch.nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None);
            }
            else
            {
                var logProb = output.div(output.sum([1L], keepdim: true)).clamp(Eps, 1.0 - Eps).log();
                result = torch.nn.functional.nll_loss(logProb, target, reduction: nn.Reduction.None);
            }
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException(
                $"{owner}: labels must be integers in [0, {p.shape[classAxis]}) for y_pred of shape {LossUtils.FormatShape(yPred.shape)}. ({e.Message.Split('\n')[0]})", e);
        }
        if (squeeze) result = result.squeeze(0);
        if (validMask is not null) result = result.masked_fill(validMask.logical_not(), 0);
        return result;
    }
}
