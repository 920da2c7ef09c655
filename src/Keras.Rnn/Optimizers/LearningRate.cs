using Keras.Rnn.Optimizers.Schedules;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// An optimizer's learning rate as Keras accepts it: a constant (<c>double</c>) or a
/// <see cref="Schedules.LearningRateSchedule"/> evaluated at the optimizer's step. Both convert implicitly, so
/// <c>new Adam(learningRate: 0.01)</c> and <c>new Adam(learningRate: new ExponentialDecay(0.1, 1000, 0.96))</c>
/// both work.
/// </summary>
public readonly struct LearningRate
{
    private LearningRate(double value, LearningRateSchedule? schedule)
    {
        Value = value;
        Schedule = schedule;
    }

    /// <summary>The constant learning rate (meaningless when <see cref="Schedule"/> is set).</summary>
    public double Value { get; }

    /// <summary>The schedule, or <c>null</c> for a constant learning rate.</summary>
    public LearningRateSchedule? Schedule { get; }

    /// <summary>Whether this learning rate is a schedule.</summary>
    public bool IsSchedule => Schedule is not null;

    /// <summary>A constant learning rate.</summary>
    /// <param name="value">The learning rate.</param>
    /// <exception cref="ArgumentException">The value is NaN or infinite.</exception>
    public static implicit operator LearningRate(double value)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"learningRate: expected a finite number, got {value}.", nameof(value));
        return new LearningRate(value, null);
    }

    /// <summary>A scheduled learning rate.</summary>
    /// <param name="schedule">The schedule (not null).</param>
    /// <exception cref="ArgumentNullException">The schedule is null.</exception>
    public static implicit operator LearningRate(LearningRateSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new LearningRate(double.NaN, schedule);
    }

    /// <inheritdoc />
    public override string ToString() => Schedule is null ? Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : Schedule.ClassName;
}
