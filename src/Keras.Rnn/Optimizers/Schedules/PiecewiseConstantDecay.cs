namespace Keras.Rnn.Optimizers.Schedules;

/// <summary>
/// A piecewise constant learning rate (Keras' <c>PiecewiseConstantDecay</c>): <c>values[0]</c> while
/// <c>step ≤ boundaries[0]</c>, <c>values[i]</c> while <c>boundaries[i−1] &lt; step ≤ boundaries[i]</c>, and the
/// last value after the last boundary.
/// </summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly double[] _values;

    /// <summary>Creates the schedule.</summary>
    /// <param name="boundaries">Increasing step boundaries.</param>
    /// <param name="values">One more value than boundaries.</param>
    /// <param name="name">Name (default <c>"PiecewiseConstant"</c>, as in Keras).</param>
    /// <exception cref="ArgumentException">The counts do not match, or the boundaries are not increasing.</exception>
    public PiecewiseConstantDecay(IReadOnlyList<long> boundaries, IReadOnlyList<double> values, string name = "PiecewiseConstant")
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (boundaries.Count != values.Count - 1)
            throw new ArgumentException(
                $"The length of boundaries should be 1 less than the length of values. Received: {boundaries.Count} boundaries and {values.Count} values.",
                nameof(boundaries));
        for (int i = 1; i < boundaries.Count; i++)
            if (boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException($"boundaries must be strictly increasing; got {boundaries[i - 1]} then {boundaries[i]}.", nameof(boundaries));
        _boundaries = boundaries.ToArray();
        _values = values.ToArray();
        Name = name;
    }

    /// <summary>The step boundaries.</summary>
    public IReadOnlyList<long> Boundaries => _boundaries;
    /// <summary>The values, one per interval.</summary>
    public IReadOnlyList<double> Values => _values;
    /// <summary>Name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override double Call(long step)
    {
        for (int i = 0; i < _boundaries.Length; i++)
            if (step <= _boundaries[i]) return _values[i];
        return _values[^1];
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>
    {
        ["boundaries"] = _boundaries.ToArray(),
        ["values"] = _values.ToArray(),
        ["name"] = Name,
    };
}
