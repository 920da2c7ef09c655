using Keras.Rnn.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Keras' accuracy functions (<c>keras/src/metrics/accuracy_metrics.py</c>): one float32 value per sample (or per
/// sample and step), 1 for a hit and 0 for a miss. Temporaries belong to the caller's dispose scope.
/// </summary>
internal static class AccuracyFunctions
{
    private static Tensor Float(Tensor t) => t.to_type(ScalarType.Float32);

    private static Tensor Numeric(Tensor t) => t.dtype == ScalarType.Bool ? Float(t) : t;

    private static void CheckSame(long[] a, long[] b, Tensor yTrue, Tensor yPred, string owner)
    {
        if (!LossUtils.Broadcastable(a, b) || a.Length != b.Length)
            throw new ArgumentException(
                $"{owner}: y_true of shape {LossUtils.FormatShape(yTrue.shape)} does not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
    }

    /// <summary><c>accuracy</c>: exact equality of y_true and y_pred.</summary>
    public static Tensor Accuracy(Tensor yTrue, Tensor yPred, string owner)
    {
        var p = yPred;
        var t = yTrue.to_type(p.dtype);
        (t, p) = LossUtils.SqueezeOrExpandToSameRank(t, p);
        CheckSame(t.shape, p.shape, yTrue, yPred, owner);
        return Float(t.eq(p));
    }

    /// <summary><c>binary_accuracy</c>: <c>y_true == (y_pred &gt; threshold)</c>.</summary>
    public static Tensor BinaryAccuracy(Tensor yTrue, Tensor yPred, double threshold, string owner)
    {
        var (t, p) = LossUtils.SqueezeOrExpandToSameRank(yTrue, Numeric(yPred));
        CheckSame(t.shape, p.shape, yTrue, yPred, owner);
        var predicted = p.gt(threshold).to_type(t.dtype);
        return Float(t.eq(predicted));
    }

    /// <summary><c>categorical_accuracy</c>: <c>argmax(y_true) == argmax(y_pred)</c> over the last axis.</summary>
    public static Tensor CategoricalAccuracy(Tensor yTrue, Tensor yPred, string owner)
    {
        var t = Numeric(yTrue).argmax(-1);
        var p = Numeric(yPred);
        var originalShape = t.shape;
        bool reshape = false;
        if (t.dim() == p.dim())
        {
            t = t.squeeze(-1);
            reshape = true;
        }
        var predicted = p.argmax(-1);
        CheckSame(t.shape, predicted.shape, yTrue, yPred, owner);
        var matches = Float(t.eq(predicted));
        return reshape ? matches.reshape(originalShape) : matches;
    }

    /// <summary><c>sparse_categorical_accuracy</c>: <c>y_true == argmax(y_pred)</c>; a trailing 1 on y_true is squeezed.</summary>
    public static Tensor SparseCategoricalAccuracy(Tensor yTrue, Tensor yPred, string owner)
    {
        var p = Numeric(yPred);
        var t = yTrue.to_type(p.dtype);
        var originalShape = t.shape;
        bool reshape = false;
        if (t.dim() == p.dim() && t.shape[^1] == 1)
        {
            t = t.squeeze(-1);
            reshape = true;
        }
        var predicted = p.argmax(-1).to_type(t.dtype);
        CheckSame(t.shape, predicted.shape, yTrue, yPred, owner);
        var matches = Float(t.eq(predicted));
        if (reshape) matches = matches.reshape(originalShape);
        if (matches.dim() > 1 && matches.shape[^1] == 1) matches = matches.squeeze(-1);
        return matches;
    }

    /// <summary>Keras' <c>in_top_k</c>: whether each target's score is at least the k-th largest score (ties count
    /// as hits). When k is at least the number of classes every target is a hit.</summary>
    private static Tensor InTopK(Tensor targets, Tensor predictions, int k)
    {
        var kk = (int)Math.Min(k, predictions.shape[^1]);
        var (values, _) = predictions.topk(kk, dim: -1);
        var kth = values.select(-1, kk - 1);
        var targetValues = predictions.take_along_dim(targets.to_type(ScalarType.Int64).unsqueeze(-1), -1).squeeze(-1);
        return targetValues.ge(kth);
    }

    private static void CheckRows(Tensor targets, Tensor predictions, Tensor yTrue, Tensor yPred, string owner)
    {
        if (targets.dim() != 1 || targets.shape[0] != predictions.shape[0])
            throw new ArgumentException(
                $"{owner}: y_true of shape {LossUtils.FormatShape(yTrue.shape)} does not match y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
    }

    /// <summary><c>top_k_categorical_accuracy</c>: whether <c>argmax(y_true)</c> is among the k highest scores.</summary>
    public static Tensor TopKCategoricalAccuracy(Tensor yTrue, Tensor yPred, int k, string owner)
    {
        var p = Numeric(yPred);
        var t = Numeric(yTrue).argmax(-1);
        var originalShape = t.shape;
        if (p.dim() > 2) p = p.reshape(-1, p.shape[^1]);
        bool reshape = false;
        if (t.dim() > 1)
        {
            reshape = true;
            t = t.reshape(-1);
        }
        CheckRows(t, p, yTrue, yPred, owner);
        var matches = Float(InTopK(t, p, k));
        return reshape ? matches.reshape(originalShape) : matches;
    }

    /// <summary><c>sparse_top_k_categorical_accuracy</c>: whether the integer label is among the k highest scores (or,
    /// with <paramref name="fromSortedIds"/>, among the first k ids of y_pred).</summary>
    public static Tensor SparseTopKCategoricalAccuracy(Tensor yTrue, Tensor yPred, int k, bool fromSortedIds, string owner)
    {
        var p = Numeric(yPred);
        var t = fromSortedIds ? yTrue.to_type(p.dtype) : yTrue.to_type(ScalarType.Int64);
        var originalShape = t.shape;
        if (p.dim() > 2) p = p.reshape(-1, p.shape[^1]);
        bool reshape = false;
        if (t.dim() > 1)
        {
            reshape = true;
            t = t.reshape(-1);
        }
        CheckRows(t, p, yTrue, yPred, owner);
        Tensor hits;
        if (fromSortedIds)
        {
            var kk = Math.Min(k, p.shape[^1]);
            hits = t.unsqueeze(1).eq(p.narrow(1, 0, kk)).any(1);
        }
        else
        {
            hits = InTopK(t, p, k);
        }
        var matches = Float(hits);
        return reshape ? matches.reshape(originalShape) : matches;
    }
}
