namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// Polynomial decay (Keras' <c>PolynomialDecay</c>):
/// <c>(initialLearningRate − endLearningRate) · (1 − step / decaySteps) ^ power + endLearningRate</c>, with the
/// step capped at <c>decaySteps</c>; when <c>cycle</c> is true, <c>decaySteps</c> is instead multiplied by
/// <c>ceil(step / decaySteps)</c> (1 at step 0).
/// </summary>
public sealed class PolynomialDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">The learning rate at step 0.</param>
    /// <param name="decaySteps">Steps to reach the end rate; must be &gt; 0.</param>
    /// <param name="endLearningRate">The final learning rate (default 0.0001).</param>
    /// <param name="power">The polynomial's power (default 1).</param>
    /// <param name="cycle">Whether to cycle beyond <paramref name="decaySteps"/> (default false).</param>
    /// <param name="name">Name (default <c>"PolynomialDecay"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="decaySteps"/> is not positive.</exception>
    public PolynomialDecay(double initialLearningRate, long decaySteps, double endLearningRate = 0.0001, double power = 1.0, bool cycle = false,
                           string name = "PolynomialDecay")
    {
        RequirePositive(decaySteps, "decay_steps");
        InitialLearningRate = initialLearningRate;
        DecaySteps = decaySteps;
        EndLearningRate = endLearningRate;
        Power = power;
        Cycle = cycle;
        Name = name;
    }

    /// <summary>The learning rate at step 0.</summary>
    public double InitialLearningRate { get; }
    /// <summary>Steps to reach the end rate.</summary>
    public long DecaySteps { get; }
    /// <summary>The final learning rate.</summary>
    public double EndLearningRate { get; }
    /// <summary>The polynomial's power.</summary>
    public double Power { get; }
    /// <summary>Whether the schedule cycles.</summary>
    public bool Cycle { get; }
    /// <summary>Name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override double Call(long step)
    {
        RequireStep(step);
        double s = step;
        double decaySteps = DecaySteps;
        if (Cycle)
            decaySteps *= step == 0 ? 1.0 : Math.Ceiling(s / DecaySteps);
        else
            s = Math.Min(s, decaySteps);
        double p = s / decaySteps;
        return (InitialLearningRate - EndLearningRate) * Math.Pow(1.0 - p, Power) + EndLearningRate;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["initial_learning_rate"] = InitialLearningRate,
        ["decay_steps"] = DecaySteps,
        ["end_learning_rate"] = EndLearningRate,
        ["power"] = Power,
        ["cycle"] = Cycle,
        ["name"] = Name,
    };
}
