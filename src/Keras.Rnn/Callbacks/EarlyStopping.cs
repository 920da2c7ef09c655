namespace Keras.Rnn.Callbacks;

/// <summary>
/// Stops training when a monitored quantity has stopped improving (Keras' <c>EarlyStopping</c>), optionally restoring
/// the weights of the best epoch.
/// </summary>
/// <example>
/// <code>
/// model.Fit(x, y, epochs: 100, validationSplit: 0.2,
///     callbacks: [new EarlyStopping(monitor: "val_loss", patience: 3, restoreBestWeights: true)]);
/// </code>
/// </example>
public sealed class EarlyStopping : MonitorCallback
{
    private Array[]? _bestWeights;
    private int _wait;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">Quantity to watch (default <c>"val_loss"</c>).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (default 0).</param>
    /// <param name="patience">Epochs without improvement before stopping (default 0).</param>
    /// <param name="verbose">1 prints a message when stopping (default 0).</param>
    /// <param name="mode"><c>"auto"</c> (default), <c>"min"</c> or <c>"max"</c>.</param>
    /// <param name="baseline">Value the quantity must beat; training stops if it does not within <paramref name="patience"/> (default none).</param>
    /// <param name="restoreBestWeights">Restore the weights of the best epoch at the end (default <c>false</c>).</param>
    /// <param name="startFromEpoch">Epochs to wait before monitoring starts (default 0).</param>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, int verbose = 0, string mode = "auto",
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0)
        : base(monitor, mode, null, minDelta)
    {
        Patience = patience;
        Verbose = verbose;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
    }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }
    /// <summary>Verbosity.</summary>
    public int Verbose { get; }
    /// <summary>The baseline, or <c>null</c>.</summary>
    public double? Baseline { get; }
    /// <summary>Whether the best weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }
    /// <summary>Epochs before monitoring starts.</summary>
    public int StartFromEpoch { get; }
    /// <summary>The epoch at which training stopped (0 if it did not stop early).</summary>
    public int StoppedEpoch { get; private set; }
    /// <summary>The best epoch so far.</summary>
    public int BestEpoch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin(IDictionary<string, double> logs)
    {
        _wait = 0;
        StoppedEpoch = 0;
        Best = null;
        _bestWeights = null;
        BestEpoch = 0;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        var current = GetMonitorValue(logs);
        if (current is null || epoch < StartFromEpoch) return;
        if (RestoreBestWeights && _bestWeights is null)
        {
            _bestWeights = Model!.GetWeights();
            BestEpoch = epoch;
        }
        _wait++;
        if (IsImprovement(current.Value, Best))
        {
            Best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) _bestWeights = Model!.GetWeights();
            if (Baseline is null || IsImprovement(current.Value, Baseline)) _wait = 0;
            return;
        }
        if (_wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model!.StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IDictionary<string, double> logs)
    {
        if (StoppedEpoch > 0 && Verbose > 0) Console.WriteLine($"Epoch {StoppedEpoch + 1}: early stopping");
        if (RestoreBestWeights && _bestWeights is not null)
        {
            if (Verbose > 0) Console.WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
            Model!.SetWeights(_bestWeights);
        }
    }
}
