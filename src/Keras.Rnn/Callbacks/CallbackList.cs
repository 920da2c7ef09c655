using Keras.Rnn.Models;

namespace Keras.Rnn.Callbacks;

/// <summary>Calls a list of callbacks in order (Keras' <c>CallbackList</c>), adding History and the progress bar for <c>Fit</c>.</summary>
internal sealed class CallbackList
{
    private readonly List<Callback> _callbacks;

    public CallbackList(IEnumerable<Callback>? callbacks, Model model, bool addHistory, bool addProgbar, int verbose, int epochs, int? steps)
    {
        _callbacks = callbacks?.ToList() ?? [];
        if (addProgbar && verbose > 0 && !_callbacks.OfType<ProgbarLogger>().Any()) _callbacks.Add(new ProgbarLogger());
        if (addHistory)
        {
            History = _callbacks.OfType<History>().FirstOrDefault();
            if (History is null)
            {
                History = new History();
                _callbacks.Add(History);
            }
        }
        var parameters = new Dictionary<string, object?> { ["verbose"] = verbose, ["epochs"] = epochs, ["steps"] = steps };
        foreach (var c in _callbacks)
        {
            c.SetModel(model);
            c.SetParams(parameters);
        }
    }

    public History? History { get; }

    public bool HasBatchHooks => _callbacks.Any(c => c is not Keras.Rnn.Callbacks.History);

    public void TrainBegin(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTrainBegin(logs); }
    public void TrainEnd(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTrainEnd(logs); }
    public void EpochBegin(int epoch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnEpochBegin(epoch, logs); }
    public void EpochEnd(int epoch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnEpochEnd(epoch, logs); }
    public void TrainBatchBegin(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTrainBatchBegin(batch, logs); }
    public void TrainBatchEnd(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTrainBatchEnd(batch, logs); }
    public void TestBegin(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTestBegin(logs); }
    public void TestEnd(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTestEnd(logs); }
    public void TestBatchBegin(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTestBatchBegin(batch, logs); }
    public void TestBatchEnd(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnTestBatchEnd(batch, logs); }
    public void PredictBegin(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnPredictBegin(logs); }
    public void PredictEnd(IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnPredictEnd(logs); }
    public void PredictBatchBegin(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnPredictBatchBegin(batch, logs); }
    public void PredictBatchEnd(int batch, IDictionary<string, double> logs) { foreach (var c in _callbacks) c.OnPredictBatchEnd(batch, logs); }
}
