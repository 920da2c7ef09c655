namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// A learning rate that changes with the optimizer step (Keras' <c>keras.optimizers.schedules.LearningRateSchedule</c>).
/// An optimizer given a schedule evaluates it at its raw step counter before each update; the schedule is then not
/// an optimizer variable and the optimizer's learning rate cannot be set.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate at <paramref name="step"/> (the number of optimizer steps applied so far).</summary>
    /// <param name="step">The step, 0 before the first update.</param>
    public abstract double Call(long step);

    /// <summary>Keras' config of the schedule (snake_case keys, including <c>name</c>).</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Keras' class name, e.g. <c>ExponentialDecay</c>.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>
    /// Keras' serialized form (<c>keras.optimizers.schedules.serialize</c>): <c>module</c>, <c>class_name</c>,
    /// <c>config</c>, <c>registered_name</c>.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Serialize() => new Dictionary<string, object?>
    {
        ["module"] = "keras.optimizers.schedules",
        ["class_name"] = ClassName,
        ["config"] = GetConfig(),
        ["registered_name"] = null,
    };

    /// <summary>Throws unless <paramref name="steps"/> is positive (Keras' check on decay steps).</summary>
    /// <param name="steps">The value.</param>
    /// <param name="argumentName">The argument's name in the message.</param>
    private protected static void RequirePositive(long steps, string argumentName)
    {
        if (steps <= 0)
            throw new ArgumentOutOfRangeException(argumentName, steps, $"Argument `{argumentName}` must be > 0. Received: {argumentName}={steps}.");
    }

    /// <summary>Throws if <paramref name="step"/> is negative.</summary>
    /// <param name="step">The step.</param>
    private protected static void RequireStep(long step)
    {
        if (step < 0)
            throw new ArgumentOutOfRangeException(nameof(step), step, "A learning rate schedule is evaluated at a step >= 0.");
    }
}
