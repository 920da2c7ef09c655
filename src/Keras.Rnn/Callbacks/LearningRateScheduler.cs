namespace Keras.Rnn.Callbacks;

/// <summary>
/// Sets the learning rate at the start of each epoch from a function of the epoch index and the current rate
/// (Keras' <c>LearningRateScheduler</c>). Logs the rate as <c>learning_rate</c>.
/// </summary>
/// <example>
/// <code>
/// var scheduler = new LearningRateScheduler((epoch, lr) => epoch &lt; 10 ? lr : lr * Math.Exp(-0.1));
/// </code>
/// </example>
public sealed class LearningRateScheduler : Callback
{
    private readonly Func<int, double, double> _schedule;

    /// <summary>Creates the callback.</summary>
    /// <param name="schedule">(epoch index, current rate) → new rate.</param>
    /// <param name="verbose">1 prints each change (default 0).</param>
    public LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0)
    {
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Verbose = verbose;
    }

    /// <summary>Verbosity.</summary>
    public int Verbose { get; }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IDictionary<string, double> logs)
    {
        var optimizer = Model?.Optimizer ?? throw new InvalidOperationException("LearningRateScheduler needs a compiled model.");
        double lr = _schedule(epoch, optimizer.LearningRate);
        if (double.IsNaN(lr) || double.IsInfinity(lr))
            throw new ArgumentException($"The output of the `schedule` function should be a finite float. Got: {lr}");
        optimizer.LearningRate = lr;
        if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.");
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs) =>
        logs["learning_rate"] = Model!.Optimizer!.LearningRate;
}
