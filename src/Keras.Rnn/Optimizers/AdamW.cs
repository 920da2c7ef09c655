namespace Keras.Rnn.Optimizers;

/// <summary>
/// AdamW (Keras' <c>keras.optimizers.AdamW</c>): <see cref="Adam"/> with decoupled weight decay on by default
/// (<c>w ← w·(1 − weightDecay·lr)</c> before each Adam update, as in every Keras optimizer given a weight decay).
/// </summary>
public class AdamW : Adam
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.001).</param>
    /// <param name="weightDecay">Decoupled weight decay (default 0.004); required.</param>
    /// <param name="beta1">Decay of the first moment (default 0.9).</param>
    /// <param name="beta2">Decay of the second moment (default 0.999).</param>
    /// <param name="epsilon">Added to √v (default 1e-7).</param>
    /// <param name="amsgrad">Use the AMSGrad variant (default false).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>adam_w</c>, <c>adam_w_1</c>, … as Keras).</param>
    /// <exception cref="ArgumentNullException"><paramref name="weightDecay"/> is null.</exception>
    public AdamW(LearningRate? learningRate = null, double? weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
                 bool amsgrad = false, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
                 bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
                 int? gradientAccumulationSteps = null, string? name = null)
        : base(learningRate, beta1, beta2, epsilon, amsgrad, RequireWeightDecay(weightDecay), clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum,
               emaOverwriteFrequency, lossScaleFactor, gradientAccumulationSteps, name)
    {
    }

    private static double RequireWeightDecay(double? weightDecay) =>
        weightDecay ?? throw new ArgumentNullException(nameof(weightDecay), "Argument `weight_decay` must be a float. Received: weight_decay=None.");
}
