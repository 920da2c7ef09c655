namespace Keras.Rnn.Callbacks;

/// <summary>A callback built from delegates (Keras' <c>LambdaCallback</c>); each argument is optional.</summary>
/// <example>
/// <code>
/// var log = new LambdaCallback(onEpochEnd: (epoch, logs) => Console.WriteLine($"{epoch}: {logs["loss"]}"));
/// </code>
/// </example>
/// <param name="onEpochBegin">Called with (epoch, logs) at each epoch start (default none).</param>
/// <param name="onEpochEnd">Called with (epoch, logs) at each epoch end (default none).</param>
/// <param name="onTrainBatchBegin">Called with (batch, logs) before each training batch (default none).</param>
/// <param name="onTrainBatchEnd">Called with (batch, logs) after each training batch (default none).</param>
/// <param name="onTrainBegin">Called with logs at the start of training (default none).</param>
/// <param name="onTrainEnd">Called with logs at the end of training (default none).</param>
public sealed class LambdaCallback(
    Action<int, IDictionary<string, double>>? onEpochBegin = null,
    Action<int, IDictionary<string, double>>? onEpochEnd = null,
    Action<int, IDictionary<string, double>>? onTrainBatchBegin = null,
    Action<int, IDictionary<string, double>>? onTrainBatchEnd = null,
    Action<IDictionary<string, double>>? onTrainBegin = null,
    Action<IDictionary<string, double>>? onTrainEnd = null) : Callback
{
    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IDictionary<string, double> logs) => onEpochBegin?.Invoke(epoch, logs);
    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs) => onEpochEnd?.Invoke(epoch, logs);
    /// <inheritdoc />
    public override void OnTrainBatchBegin(int batch, IDictionary<string, double> logs) => onTrainBatchBegin?.Invoke(batch, logs);
    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IDictionary<string, double> logs) => onTrainBatchEnd?.Invoke(batch, logs);
    /// <inheritdoc />
    public override void OnTrainBegin(IDictionary<string, double> logs) => onTrainBegin?.Invoke(logs);
    /// <inheritdoc />
    public override void OnTrainEnd(IDictionary<string, double> logs) => onTrainEnd?.Invoke(logs);
}
