using Keras.Rnn.Utils;

namespace Keras.Rnn.Callbacks;

/// <summary>
/// Prints Keras' progress bar during <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> (Keras' <c>ProgbarLogger</c>);
/// added automatically when <c>verbose</c> is 1 or 2. Validation inside <c>Fit</c> is silent and its metrics appear on
/// the epoch's final line.
/// </summary>
public sealed class ProgbarLogger : Callback
{
    private readonly TextWriter? _output;
    private readonly bool? _interactive;
    private Progbar? _progbar;
    private int _seen;
    private int _verbose = 1;
    private int _epochs = 1;
    private int? _target;
    private bool _calledInFit;

    /// <summary>Creates the logger.</summary>
    /// <param name="output">Where to write (default standard output).</param>
    /// <param name="interactive">Redraw in place (default: when standard output is a terminal).</param>
    public ProgbarLogger(TextWriter? output = null, bool? interactive = null)
    {
        _output = output;
        _interactive = interactive;
    }

    /// <inheritdoc />
    public override void SetParams(IReadOnlyDictionary<string, object?> parameters)
    {
        base.SetParams(parameters);
        _verbose = parameters.TryGetValue("verbose", out var v) && v is int i ? i : 1;
        _epochs = parameters.TryGetValue("epochs", out var e) && e is int n ? n : 1;
        _target = parameters.TryGetValue("steps", out var s) && s is int t ? t : null;
    }

    private TextWriter Out => _output ?? Console.Out;

    /// <inheritdoc />
    public override void OnTrainBegin(IDictionary<string, double> logs) => _calledInFit = true;

    /// <inheritdoc />
    public override void OnTestBegin(IDictionary<string, double> logs)
    {
        if (_calledInFit) return;
        Reset();
        Init();
    }

    /// <inheritdoc />
    public override void OnPredictBegin(IDictionary<string, double> logs)
    {
        Reset();
        Init();
    }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IDictionary<string, double> logs)
    {
        Reset();
        Init();
        if (_verbose > 0 && _epochs > 1)
        {
            Out.WriteLine($"Epoch {epoch + 1}/{_epochs}");
            Out.Flush();
        }
    }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IDictionary<string, double> logs) => UpdateBar(batch, logs);

    /// <inheritdoc />
    public override void OnTestBatchEnd(int batch, IDictionary<string, double> logs)
    {
        if (!_calledInFit) UpdateBar(batch, logs);
    }

    /// <inheritdoc />
    public override void OnPredictBatchEnd(int batch, IDictionary<string, double> logs) => UpdateBar(batch, null);

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs) => Finalize(logs);

    /// <inheritdoc />
    public override void OnTestEnd(IDictionary<string, double> logs)
    {
        if (!_calledInFit) Finalize(logs);
    }

    /// <inheritdoc />
    public override void OnPredictEnd(IDictionary<string, double> logs) => Finalize(null);

    /// <inheritdoc />
    public override void OnTrainEnd(IDictionary<string, double> logs) => _calledInFit = false;

    private void Reset()
    {
        _seen = 0;
        _progbar = null;
    }

    private void Init() => _progbar ??= new Progbar(_target, _verbose, output: _output, interactive: _interactive);

    private void UpdateBar(int batch, IDictionary<string, double>? logs)
    {
        Init();
        _seen = batch + 1;
        if (_verbose == 1) _progbar!.Update(_seen, logs?.ToList(), finalize: false);
    }

    private void Finalize(IDictionary<string, double>? logs)
    {
        Init();
        if (_target is null)
        {
            _target = _seen;
            _progbar!.Target = _seen;
        }
        _progbar!.Update(_target ?? _seen, logs?.ToList(), finalize: true);
    }
}
