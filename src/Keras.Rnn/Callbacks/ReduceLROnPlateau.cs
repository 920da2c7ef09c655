namespace Keras.Rnn.Callbacks;

/// <summary>
/// Multiplies the learning rate by <c>factor</c> when a monitored quantity has stopped improving for
/// <c>patience</c> epochs (Keras' <c>ReduceLROnPlateau</c>). Logs the current rate as <c>learning_rate</c>.
/// </summary>
public sealed class ReduceLROnPlateau : MonitorCallback
{
    private int _wait;
    private int _cooldownCounter;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">Quantity to watch (default <c>"val_loss"</c>).</param>
    /// <param name="factor">Multiplier of the rate, below 1 (default 0.1).</param>
    /// <param name="patience">Epochs without improvement before reducing (default 10).</param>
    /// <param name="verbose">1 prints each reduction (default 0).</param>
    /// <param name="mode"><c>"auto"</c> (default), <c>"min"</c> or <c>"max"</c>.</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (default 1e-4).</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting again (default 0).</param>
    /// <param name="minLr">Lower bound of the rate (default 0).</param>
    /// <exception cref="ArgumentException"><paramref name="factor"/> is 1 or more.</exception>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, int verbose = 0, string mode = "auto",
        double minDelta = 1e-4, int cooldown = 0, double minLr = 0.0) : base(monitor, mode, null, minDelta)
    {
        if (factor >= 1.0)
            throw new ArgumentException($"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}", nameof(factor));
        Factor = factor;
        Patience = patience;
        Verbose = verbose;
        Cooldown = cooldown;
        MinLr = minLr;
    }

    /// <summary>Multiplier of the rate.</summary>
    public double Factor { get; }
    /// <summary>Epochs without improvement before reducing.</summary>
    public int Patience { get; }
    /// <summary>Verbosity.</summary>
    public int Verbose { get; }
    /// <summary>Cooldown epochs.</summary>
    public int Cooldown { get; }
    /// <summary>Lower bound of the rate.</summary>
    public double MinLr { get; }

    /// <inheritdoc />
    public override void OnTrainBegin(IDictionary<string, double> logs)
    {
        Best = null;
        _cooldownCounter = 0;
        _wait = 0;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        var optimizer = Model?.Optimizer ?? throw new InvalidOperationException("ReduceLROnPlateau needs a compiled model.");
        logs["learning_rate"] = optimizer.LearningRate;
        var current = GetMonitorValue(logs);
        if (current is null) return;
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _wait = 0;
        }
        if (IsImprovement(current.Value, Best))
        {
            Best = current;
            _wait = 0;
        }
        else if (_cooldownCounter <= 0)
        {
            _wait++;
            if (_wait >= Patience)
            {
                double oldLr = optimizer.LearningRate;
                if (oldLr > (float)MinLr)
                {
                    double newLr = Math.Max(oldLr * Factor, MinLr);
                    optimizer.LearningRate = newLr;
                    if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {newLr}.");
                    _cooldownCounter = Cooldown;
                    _wait = 0;
                }
            }
        }
    }
}
