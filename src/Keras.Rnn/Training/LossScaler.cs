using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Training;

/// <summary>
/// Dynamic loss scaling for float16 training (what Keras' <c>LossScaleOptimizer</c> does, which Keras' <c>compile</c>
/// puts around the optimizer of a <c>"mixed_float16"</c> model): the loss is multiplied by a scale (initially 2¹⁵)
/// before the gradients are taken, so that small float16 gradients do not vanish; the gradients are divided by it
/// before the update. When a gradient is not finite the update is skipped and the scale halved; after
/// <see cref="GrowthSteps"/> finite steps in a row it is doubled.
/// </summary>
internal sealed class LossScaler
{
    /// <summary>Keras' <c>initial_scale</c>: 2¹⁵.</summary>
    public const double InitialScale = 32768.0;

    /// <summary>The current scale (Keras' <c>dynamic_scale</c>).</summary>
    public double Scale { get; private set; } = InitialScale;

    /// <summary>Finite steps since the scale last changed (Keras' <c>step_counter</c>).</summary>
    public long StepCounter { get; private set; }

    /// <summary>Keras' default <c>dynamic_growth_steps</c>: 2000.</summary>
    public const int DefaultGrowthSteps = 2000;

    /// <summary>Keras' <c>dynamic_growth_steps</c> (default <see cref="DefaultGrowthSteps"/>).</summary>
    public int GrowthSteps { get; init; } = DefaultGrowthSteps;

    /// <summary>Sets the scale and the counter (from a saved model).</summary>
    /// <exception cref="ArgumentException">A scale that is not positive and finite, or a negative counter.</exception>
    public void Restore(double scale, long stepCounter)
    {
        if (!(scale > 0 && double.IsFinite(scale)) || stepCounter < 0)
            throw new ArgumentException($"Invalid saved loss-scale state: dynamic_scale={scale}, step_counter={stepCounter}.");
        Scale = scale;
        StepCounter = stepCounter;
    }

    /// <summary>The loss times the scale.</summary>
    public Tensor ScaleLoss(Tensor loss) => loss.mul(Scale);

    /// <summary>
    /// Divides the gradients by the scale in place and tells whether all are finite (one device synchronisation).
    /// Updates the scale: halved (and the counter reset) when not finite, doubled after <see cref="GrowthSteps"/>
    /// finite steps. The caller skips the update when this returns <c>false</c>.
    /// </summary>
    public bool UnscaleAndCheck(IReadOnlyList<Tensor?> gradients)
    {
        var present = gradients.OfType<Tensor>().ToList();
        foreach (var g in present) g.div_(Scale);
        // Keras' check_finite: every element of every gradient finite (one transfer to the host).
        bool finite = present.Count == 0 || torch.stack(present.Select(g => g.isfinite().all()).ToArray()).all().item<bool>();
        if (!finite)
        {
            Scale *= 0.5;
            StepCounter = 0;
            return false;
        }
        if (StepCounter == GrowthSteps - 1)
        {
            Scale *= 2.0;
            StepCounter = 0;
        }
        else
        {
            StepCounter++;
        }
        return true;
    }
}
