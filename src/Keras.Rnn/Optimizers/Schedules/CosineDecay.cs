namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// Cosine decay with optional linear warmup (Keras' <c>CosineDecay</c>). Without warmup:
/// <c>lr(step) = initial · ((1 − alpha) · ½(1 + cos(π · min(step, decaySteps) / decaySteps)) + alpha)</c>.
/// With <c>warmupTarget</c>: a linear ramp from <c>initialLearningRate</c> to <c>warmupTarget</c> over
/// <c>warmupSteps</c>, then the same cosine decay from <c>warmupTarget</c> over <c>decaySteps</c>.
/// </summary>
public sealed class CosineDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">The learning rate at step 0.</param>
    /// <param name="decaySteps">Steps to decay over; must be &gt; 0.</param>
    /// <param name="alpha">Minimum learning rate as a fraction of the decayed-from rate (default 0).</param>
    /// <param name="warmupTarget">The rate reached at the end of warmup, or <c>null</c> for no warmup (default null).</param>
    /// <param name="warmupSteps">Warmup steps (default 0).</param>
    /// <param name="name">Name (default <c>"CosineDecay"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decaySteps"/> is not positive, or
    /// <paramref name="warmupSteps"/> is negative.</exception>
    public CosineDecay(double initialLearningRate, long decaySteps, double alpha = 0.0, double? warmupTarget = null, long warmupSteps = 0,
                       string name = "CosineDecay")
    {
        RequirePositive(decaySteps, "decay_steps");
        if (warmupSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "warmup_steps must be >= 0.");
        InitialLearningRate = initialLearningRate;
        DecaySteps = decaySteps;
        Alpha = alpha;
        WarmupTarget = warmupTarget;
        WarmupSteps = warmupSteps;
        Name = name;
    }

    /// <summary>The learning rate at step 0.</summary>
    public double InitialLearningRate { get; }
    /// <summary>Steps to decay over.</summary>
    public long DecaySteps { get; }
    /// <summary>Minimum learning rate fraction.</summary>
    public double Alpha { get; }
    /// <summary>Warmup target, or null.</summary>
    public double? WarmupTarget { get; }
    /// <summary>Warmup steps.</summary>
    public long WarmupSteps { get; }
    /// <summary>Name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override double Call(long step)
    {
        RequireStep(step);
        double s = step;
        if (WarmupTarget is not double target)
            return Decay(Math.Min(s, DecaySteps), InitialLearningRate);
        s = Math.Min(s, DecaySteps + WarmupSteps);
        if (s < WarmupSteps)
            return (target - InitialLearningRate) * (s / WarmupSteps) + InitialLearningRate;
        return Decay(s - WarmupSteps, target);
    }

    private double Decay(double step, double from)
    {
        double completed = step / DecaySteps;
        double cosine = 0.5 * (1.0 + Math.Cos(Math.PI * completed));
        return from * ((1.0 - Alpha) * cosine + Alpha);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["initial_learning_rate"] = InitialLearningRate,
        ["decay_steps"] = DecaySteps,
        ["alpha"] = Alpha,
        ["name"] = Name,
        ["warmup_target"] = WarmupTarget,
        ["warmup_steps"] = WarmupSteps,
    };
}
