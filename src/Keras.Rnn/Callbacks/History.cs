namespace Keras.Rnn.Callbacks;

/// <summary>
/// Records every epoch's logs (Keras' <c>History</c>); <c>Fit</c> returns it. <see cref="HistoryValues"/> maps each
/// Keras key (<c>loss</c>, <c>accuracy</c>, <c>val_loss</c>, ...) to its per-epoch values.
/// </summary>
/// <example>
/// <code>
/// var history = model.Fit(x, y, epochs: 10, validationSplit: 0.2);
/// double lastValLoss = history.HistoryValues["val_loss"][^1];
/// </code>
/// </example>
public sealed class History : Callback
{
    private readonly Dictionary<string, List<double>> _history = new();
    private readonly List<int> _epochs = [];

    /// <summary>Metric name → one value per epoch, in order.</summary>
    public IReadOnlyDictionary<string, List<double>> HistoryValues => _history;

    /// <summary>The epochs recorded (zero-based, so they start at <c>initialEpoch</c>).</summary>
    public IReadOnlyList<int> Epoch => _epochs;

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        _epochs.Add(epoch);
        foreach (var (k, v) in logs)
        {
            if (!_history.TryGetValue(k, out var list)) _history[k] = list = [];
            list.Add(v);
        }
    }

    /// <summary>The values of one key (e.g. <c>"loss"</c>).</summary>
    /// <param name="key">Metric name.</param>
    /// <exception cref="KeyNotFoundException">The key was never logged; the message lists the keys.</exception>
    public IReadOnlyList<double> this[string key] => _history.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"History has no key '{key}'. Keys: [{string.Join(", ", _history.Keys)}].");
}
