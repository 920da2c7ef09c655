namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// Cosine decay with warm restarts, SGDR (Keras' <c>CosineDecayRestarts</c>). The first period lasts
/// <c>firstDecaySteps</c>; each next period is <c>tMul</c> times longer and starts from <c>mMul</c> times the
/// previous initial rate; within a period the rate follows
/// <c>initial · ((1 − alpha) · ½ · mMul^i · (1 + cos(π · fraction)) + alpha)</c>.
/// </summary>
public sealed class CosineDecayRestarts : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">The learning rate at step 0.</param>
    /// <param name="firstDecaySteps">Length of the first period; must be &gt; 0.</param>
    /// <param name="tMul">Period length multiplier (default 2).</param>
    /// <param name="mMul">Initial rate multiplier per period (default 1).</param>
    /// <param name="alpha">Minimum learning rate fraction (default 0).</param>
    /// <param name="name">Name (default <c>"SGDRDecay"</c>, as in Keras).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstDecaySteps"/> is not positive.</exception>
    public CosineDecayRestarts(double initialLearningRate, long firstDecaySteps, double tMul = 2.0, double mMul = 1.0, double alpha = 0.0,
                               string name = "SGDRDecay")
    {
        RequirePositive(firstDecaySteps, "first_decay_steps");
        InitialLearningRate = initialLearningRate;
        FirstDecaySteps = firstDecaySteps;
        TMul = tMul;
        MMul = mMul;
        Alpha = alpha;
        Name = name;
    }

    /// <summary>The learning rate at step 0.</summary>
    public double InitialLearningRate { get; }
    /// <summary>Length of the first period.</summary>
    public long FirstDecaySteps { get; }
    /// <summary>Period length multiplier.</summary>
    public double TMul { get; }
    /// <summary>Initial rate multiplier per period.</summary>
    public double MMul { get; }
    /// <summary>Minimum learning rate fraction.</summary>
    public double Alpha { get; }
    /// <summary>Name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override double Call(long step)
    {
        RequireStep(step);
        double completed = (double)step / FirstDecaySteps;
        double restart;
        if (TMul == 1.0)
        {
            restart = Math.Floor(completed);
            completed -= restart;
        }
        else
        {
            restart = Math.Floor(Math.Log(1.0 - completed * (1.0 - TMul)) / Math.Log(TMul));
            double sumR = (1.0 - Math.Pow(TMul, restart)) / (1.0 - TMul);
            completed = (completed - sumR) / Math.Pow(TMul, restart);
        }
        double cosine = 0.5 * Math.Pow(MMul, restart) * (1.0 + Math.Cos(Math.PI * completed));
        return InitialLearningRate * ((1.0 - Alpha) * cosine + Alpha);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["initial_learning_rate"] = InitialLearningRate,
        ["first_decay_steps"] = FirstDecaySteps,
        ["t_mul"] = TMul,
        ["m_mul"] = MMul,
        ["alpha"] = Alpha,
        ["name"] = Name,
    };
}
