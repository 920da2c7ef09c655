namespace Keras.Rnn.Callbacks;

/// <summary>
/// Base of callbacks that watch one logged quantity for improvement (Keras' <c>MonitorCallback</c>), used by
/// <see cref="EarlyStopping"/>, <see cref="ReduceLROnPlateau"/> and <see cref="ModelCheckpoint"/>. In <c>"auto"</c>
/// mode the direction comes from the metric: losses and errors go down, accuracies and AUC go up.
/// </summary>
public abstract class MonitorCallback : Callback
{
    private int _sign;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The logged quantity, e.g. <c>"val_loss"</c>.</param>
    /// <param name="mode"><c>"auto"</c>, <c>"min"</c> or <c>"max"</c>.</param>
    /// <param name="baseline">Initial best value, or <c>null</c>.</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (absolute value used).</param>
    /// <exception cref="ArgumentException">Unknown mode.</exception>
    protected MonitorCallback(string monitor, string mode, double? baseline, double minDelta)
    {
        if (mode is not ("auto" or "min" or "max"))
            throw new ArgumentException($"{GetType().Name}: mode must be \"auto\", \"min\" or \"max\", got \"{mode}\".", nameof(mode));
        Monitor = monitor;
        Mode = mode;
        Best = baseline;
        MinDelta = Math.Abs(minDelta);
    }

    /// <summary>The watched quantity.</summary>
    public string Monitor { get; }
    /// <summary>The direction mode.</summary>
    public string Mode { get; }
    /// <summary>The best value so far (or the baseline), <c>null</c> before the first.</summary>
    public double? Best { get; protected set; }
    /// <summary>Smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Whether larger values are better (after <c>"auto"</c> resolution).</summary>
    protected bool Maximize => ResolveSign() > 0;

    private int ResolveSign()
    {
        if (_sign != 0) return _sign;
        if (Mode == "min") return _sign = -1;
        if (Mode == "max") return _sign = 1;
        var name = Monitor.StartsWith("val_", StringComparison.Ordinal) ? Monitor[4..] : Monitor;
        if (name == "loss" || name.EndsWith("_loss", StringComparison.Ordinal)) return _sign = -1;
        var direction = Model?.MetricDirection(name);
        if (direction is null)
            throw new InvalidOperationException(
                $"{GetType().Name} callback received monitor={Monitor}, but Keras.Rnn cannot tell whether that metric should be maximized or minimized. Pass mode: \"max\" or mode: \"min\".");
        return _sign = direction.Value ? 1 : -1;
    }

    /// <summary>Whether <paramref name="value"/> improves on <paramref name="reference"/> by more than <see cref="MinDelta"/>.</summary>
    /// <param name="value">The new value.</param>
    /// <param name="reference">The best so far, or <c>null</c> (any value improves).</param>
    protected bool IsImprovement(double value, double? reference)
    {
        if (reference is null) return true;
        return ResolveSign() > 0 ? value - MinDelta > reference.Value : value + MinDelta < reference.Value;
    }

    /// <summary>The monitored value from the logs, or <c>null</c> with a warning listing the available keys.</summary>
    /// <param name="logs">The logs.</param>
    protected double? GetMonitorValue(IDictionary<string, double> logs)
    {
        if (logs.TryGetValue(Monitor, out var v)) return v;
        KerasConfig.Log($"{GetType().Name} is conditioned on metric `{Monitor}` which is not available. Available metrics are: {string.Join(",", logs.Keys)}");
        return null;
    }
}
