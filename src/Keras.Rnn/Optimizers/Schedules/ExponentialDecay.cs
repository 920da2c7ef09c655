namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// Exponential decay (Keras' <c>ExponentialDecay</c>):
/// <c>initialLearningRate · decayRate ^ (step / decaySteps)</c>, with <c>step / decaySteps</c> floored when
/// <c>staircase</c> is true.
/// </summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">The learning rate at step 0.</param>
    /// <param name="decaySteps">Steps per decay period; must be &gt; 0.</param>
    /// <param name="decayRate">Factor applied per period.</param>
    /// <param name="staircase">Whether to decay in discrete periods (default false).</param>
    /// <param name="name">Name (default <c>"ExponentialDecay"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decaySteps"/> is not positive.</exception>
    public ExponentialDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false, string name = "ExponentialDecay")
    {
        RequirePositive(decaySteps, "decay_steps");
        InitialLearningRate = initialLearningRate;
        DecaySteps = decaySteps;
        DecayRate = decayRate;
        Staircase = staircase;
        Name = name;
    }

    /// <summary>The learning rate at step 0.</summary>
    public double InitialLearningRate { get; }
    /// <summary>Steps per decay period.</summary>
    public long DecaySteps { get; }
    /// <summary>Factor applied per period.</summary>
    public double DecayRate { get; }
    /// <summary>Whether the decay is applied in discrete periods.</summary>
    public bool Staircase { get; }
    /// <summary>Name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override double Call(long step)
    {
        RequireStep(step);
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return InitialLearningRate * Math.Pow(DecayRate, p);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["initial_learning_rate"] = InitialLearningRate,
        ["decay_steps"] = DecaySteps,
        ["decay_rate"] = DecayRate,
        ["staircase"] = Staircase,
        ["name"] = Name,
    };
}
