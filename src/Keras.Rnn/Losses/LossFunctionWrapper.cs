using Keras.Rnn.Utils;
using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// A loss from a plain function of <c>(y_true, y_pred)</c> returning unreduced values (Keras'
/// <c>keras.losses.LossFunctionWrapper</c>). As in Keras, y_true and y_pred are first brought to the same rank
/// (a trailing dimension of 1 is squeezed, or a rank-1 tensor expanded); the mask, sample weights and reduction are
/// applied by <see cref="Loss.Compute"/>. The built-in losses derive from this class.
/// </summary>
/// <example>
/// <code>
/// var cubic = new LossFunctionWrapper((t, p) => (p - t).abs().pow(3).mean(new long[] { -1 }), name: "cubic");
/// </code>
/// </example>
public class LossFunctionWrapper : Loss
{
    private readonly Func<Tensor, Tensor, Tensor>? _fn;

    /// <summary>Wraps <paramref name="fn"/>.</summary>
    /// <param name="fn">Computes the unreduced loss from float32 <c>(y_true, y_pred)</c>; usually the mean over the
    /// last axis.</param>
    /// <param name="reduction">Reduction (default <c>"sum_over_batch_size"</c>).</param>
    /// <param name="name">Name (default: an automatic <c>loss_function_wrapper</c>, <c>loss_function_wrapper_1</c>, ...).</param>
    /// <exception cref="ArgumentNullException"><paramref name="fn"/> is null.</exception>
    public LossFunctionWrapper(Func<Tensor, Tensor, Tensor> fn, string reduction = "sum_over_batch_size", string? name = null)
        : base(name ?? Naming.Uniquify("loss_function_wrapper"), reduction)
    {
        ArgumentNullException.ThrowIfNull(fn);
        _fn = fn;
    }

    /// <summary>For the built-in losses, which override <see cref="Apply"/>.</summary>
    /// <param name="name">Name.</param>
    /// <param name="reduction">Reduction.</param>
    private protected LossFunctionWrapper(string name, string reduction) : base(name, reduction) { }

    /// <summary>The wrapped function, or <c>null</c> for a built-in loss.</summary>
    public Func<Tensor, Tensor, Tensor>? Fn => _fn;

    /// <inheritdoc />
    public override Tensor Call(Tensor yTrue, Tensor yPred)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        var (t, p) = LossUtils.SqueezeOrExpandToSameRank(yTrue, yPred);
        return Apply(t, p);
    }

    /// <summary>Computes the unreduced values after the rank alignment.</summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions.</param>
    private protected virtual Tensor Apply(Tensor yTrue, Tensor yPred)
    {
        var t = LossUtils.ToFloat(yTrue, yPred.device);
        return _fn!(t, yPred);
    }
}
