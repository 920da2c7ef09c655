namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// Inverse time decay (Keras' <c>InverseTimeDecay</c>):
/// <c>initialLearningRate / (1 + decayRate · step / decaySteps)</c>, with <c>step / decaySteps</c> floored when
/// <c>staircase</c> is true.
/// </summary>
public sealed class InverseTimeDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">The learning rate at step 0.</param>
    /// <param name="decaySteps">How often decay is applied; must be &gt; 0.</param>
    /// <param name="decayRate">The decay rate.</param>
    /// <param name="staircase">Whether to decay in discrete periods (default false).</param>
    /// <param name="name">Name (default <c>"InverseTimeDecay"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decaySteps"/> is not positive.</exception>
    public InverseTimeDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false, string name = "InverseTimeDecay")
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
    /// <summary>How often decay is applied.</summary>
    public long DecaySteps { get; }
    /// <summary>The decay rate.</summary>
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
        return InitialLearningRate / (1.0 + DecayRate * p);
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
