using Keras.Rnn.Models;

namespace Keras.Rnn.Callbacks;

/// <summary>
/// The base class of callbacks (Keras' <c>keras.callbacks.Callback</c>): hooks called by <c>Fit</c>,
/// <c>Evaluate</c> and <c>Predict</c> at the start and end of training, epochs and batches. <c>logs</c> holds the
/// current metric values by Keras name (<c>loss</c>, <c>accuracy</c>, <c>val_loss</c>, ...); a callback may add
/// entries. Override only the hooks you need.
/// </summary>
/// <example>
/// <code>
/// public sealed class PrintLoss : Callback
/// {
///     public override void OnEpochEnd(int epoch, IDictionary&lt;string, double&gt; logs) =>
///         Console.WriteLine($"epoch {epoch}: loss {logs["loss"]:F4}");
/// }
/// model.Fit(x, y, epochs: 5, callbacks: [new PrintLoss()]);
/// </code>
/// </example>
public abstract class Callback
{
    /// <summary>The model being trained, evaluated or run (set before the first hook).</summary>
    public Model? Model { get; private set; }

    /// <summary>Run parameters: <c>verbose</c>, <c>epochs</c>, <c>steps</c> (batches per epoch, or <c>null</c>).</summary>
    public IReadOnlyDictionary<string, object?> Params { get; private set; } = new Dictionary<string, object?>();

    /// <summary>Sets the model (Keras' <c>set_model</c>).</summary>
    /// <param name="model">The model.</param>
    public virtual void SetModel(Model model) => Model = model;

    /// <summary>Sets the run parameters (Keras' <c>set_params</c>).</summary>
    /// <param name="parameters">The parameters.</param>
    public virtual void SetParams(IReadOnlyDictionary<string, object?> parameters) => Params = parameters;

    /// <summary>Called at the start of <c>Fit</c>.</summary>
    /// <param name="logs">Current logs (empty).</param>
    public virtual void OnTrainBegin(IDictionary<string, double> logs) { }
    /// <summary>Called at the end of <c>Fit</c>.</summary>
    /// <param name="logs">The last epoch's logs.</param>
    public virtual void OnTrainEnd(IDictionary<string, double> logs) { }
    /// <summary>Called at the start of an epoch.</summary>
    /// <param name="epoch">Zero-based epoch index.</param>
    /// <param name="logs">Current logs (empty).</param>
    public virtual void OnEpochBegin(int epoch, IDictionary<string, double> logs) { }
    /// <summary>Called at the end of an epoch, after validation.</summary>
    /// <param name="epoch">Zero-based epoch index.</param>
    /// <param name="logs">The epoch's metrics, including <c>val_</c> ones.</param>
    public virtual void OnEpochEnd(int epoch, IDictionary<string, double> logs) { }
    /// <summary>Called before a training batch.</summary>
    /// <param name="batch">Zero-based batch index in the epoch.</param>
    /// <param name="logs">Current logs.</param>
    public virtual void OnTrainBatchBegin(int batch, IDictionary<string, double> logs) { }
    /// <summary>Called after a training batch.</summary>
    /// <param name="batch">Zero-based batch index in the epoch.</param>
    /// <param name="logs">Running metric values of the epoch so far.</param>
    public virtual void OnTrainBatchEnd(int batch, IDictionary<string, double> logs) { }
    /// <summary>Called at the start of evaluation (also validation inside <c>Fit</c>).</summary>
    /// <param name="logs">Current logs.</param>
    public virtual void OnTestBegin(IDictionary<string, double> logs) { }
    /// <summary>Called at the end of evaluation.</summary>
    /// <param name="logs">The evaluation metrics.</param>
    public virtual void OnTestEnd(IDictionary<string, double> logs) { }
    /// <summary>Called before an evaluation batch.</summary>
    /// <param name="batch">Batch index.</param>
    /// <param name="logs">Current logs.</param>
    public virtual void OnTestBatchBegin(int batch, IDictionary<string, double> logs) { }
    /// <summary>Called after an evaluation batch.</summary>
    /// <param name="batch">Batch index.</param>
    /// <param name="logs">Running metric values.</param>
    public virtual void OnTestBatchEnd(int batch, IDictionary<string, double> logs) { }
    /// <summary>Called at the start of <c>Predict</c>.</summary>
    /// <param name="logs">Current logs.</param>
    public virtual void OnPredictBegin(IDictionary<string, double> logs) { }
    /// <summary>Called at the end of <c>Predict</c>.</summary>
    /// <param name="logs">Current logs.</param>
    public virtual void OnPredictEnd(IDictionary<string, double> logs) { }
    /// <summary>Called before a prediction batch.</summary>
    /// <param name="batch">Batch index.</param>
    /// <param name="logs">Current logs.</param>
    public virtual void OnPredictBatchBegin(int batch, IDictionary<string, double> logs) { }
    /// <summary>Called after a prediction batch.</summary>
    /// <param name="batch">Batch index.</param>
    /// <param name="logs">Current logs.</param>
    public virtual void OnPredictBatchEnd(int batch, IDictionary<string, double> logs) { }
}
