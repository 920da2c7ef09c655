using Keras.Rnn.Backend;
using System.Collections;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Losses;
using Keras.Rnn.Metrics;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Training;

/// <summary>
/// What <c>Compile</c> fixed: the optimizer, one loss per output (with weights), and the metrics per output —
/// Keras' <c>CompileLoss</c> and <c>CompileMetrics</c> — plus the train, test and predict steps that use them.
/// </summary>
internal sealed class Trainer
{
    private readonly Model _model;
    private readonly IReadOnlyList<Loss?> _losses;
    private readonly IReadOnlyList<double> _lossWeights;
    private readonly IReadOnlyList<IReadOnlyList<Metric>> _metricSpecs;
    private readonly IReadOnlyList<IReadOnlyList<Metric>> _weightedMetricSpecs;
    private List<List<Metric>>? _metrics;
    private List<List<Metric>>? _weightedMetrics;
    private readonly Mean _lossTracker = new("loss");
    private readonly List<Mean> _outputLossTrackers = [];
    private readonly IReadOnlyList<string> _outputNames;

    public Trainer(Model model, Optimizer optimizer, IReadOnlyList<Loss?> losses, IReadOnlyList<double> lossWeights,
        IReadOnlyList<IReadOnlyList<Metric>> metrics, IReadOnlyList<IReadOnlyList<Metric>> weightedMetrics, IReadOnlyList<string> outputNames)
    {
        _model = model;
        Optimizer = optimizer;
        _losses = losses;
        _lossWeights = lossWeights;
        _metricSpecs = metrics;
        _weightedMetricSpecs = weightedMetrics;
        _outputNames = outputNames;
        // Keras' compile wraps the optimizer of a mixed_float16 model in a LossScaleOptimizer.
        if (model.UsesLossScaling) LossScaler = new LossScaler();
        if (losses.Count(l => l is not null) > 1)
            foreach (var (loss, i) in losses.Select((l, i) => (l, i)))
                if (loss is not null) _outputLossTrackers.Add(new Mean($"{outputNames[i]}_loss"));
    }

    public Optimizer Optimizer { get; }

    /// <summary>Dynamic loss scaling where the model uses it (see <see cref="Model.UsesLossScaling"/>), else <c>null</c>.</summary>
    public LossScaler? LossScaler { get; }

    public IReadOnlyList<Loss?> Losses => _losses;

    public bool HasLoss => _losses.Any(l => l is not null);

    // ------------------------------------------------------------------ steps

    /// <summary>One optimisation step on a batch (Keras' <c>train_step</c>).</summary>
    public void TrainStep(DataBatch batch, Device device, IReadOnlyList<Variable> trainable)
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, sw) = ToDevice(batch, device);
        if (y is null) throw new ArgumentException("Fit: targets (y) are required to train the model.");
        var extraLosses = new List<Tensor>();
        var (yPred, masks) = _model.Forward(x, training: true, extraLosses);
        var total = ComputeLoss(y, yPred, masks, sw, extraLosses, batch.Size);
        if (trainable.Count > 0)
        {
            if (!total.requires_grad)
                throw new InvalidOperationException(
                    $"The loss of model '{_model.Name}' does not depend on any trainable weight; check that the outputs are connected to trainable layers.");
            var parameters = trainable.Select(v => v.Value).ToList();
            var scaled = Optimizer.ScaleLoss(total);
            if (LossScaler is not null) scaled = LossScaler.ScaleLoss(scaled);
            var grads = torch.autograd.grad([scaled], parameters, allow_unused: true);
            var gradList = new Tensor?[trainable.Count];
            for (int i = 0; i < gradList.Length; i++) gradList[i] = grads[i] is { } g && !g.IsInvalid ? g : null;
            if (LossScaler is null || LossScaler.UnscaleAndCheck(gradList)) Optimizer.ApplyGradients(gradList, trainable);
        }
        using (torch.no_grad()) UpdateMetrics(y, yPred, masks, sw);
    }

    /// <summary>One evaluation step on a batch (Keras' <c>test_step</c>).</summary>
    public void TestStep(DataBatch batch, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (x, y, sw) = ToDevice(batch, device);
        if (y is null) throw new ArgumentException("Evaluate: targets (y) are required.");
        var extraLosses = new List<Tensor>();
        var (yPred, masks) = _model.Forward(x, training: false, extraLosses);
        ComputeLoss(y, yPred, masks, sw, extraLosses, batch.Size);
        UpdateMetrics(y, yPred, masks, sw);
    }

    private static (IReadOnlyList<Tensor> X, IReadOnlyList<Tensor>? Y, IReadOnlyList<Tensor?>? SampleWeight) ToDevice(DataBatch batch, Device device)
    {
        static Tensor Move(Tensor t, Device d) => Devices.To(t, d);
        return (batch.X.Select(t => Move(t, device)).ToList(),
            batch.Y?.Select(t => Move(t, device)).ToList(),
            batch.SampleWeight?.Select(t => t is null ? null : Move(t, device)).ToList());
    }

    /// <summary>The total loss (Keras' <c>compute_loss</c>): weighted output losses plus regularization and added losses.</summary>
    private Tensor ComputeLoss(IReadOnlyList<Tensor> y, IReadOnlyList<Tensor> yPred, IReadOnlyList<Tensor?> masks,
        IReadOnlyList<Tensor?>? sampleWeight, List<Tensor> extraLosses, long batchSize)
    {
        if (y.Count != yPred.Count)
            throw new ArgumentException(
                $"The model '{_model.Name}' has {yPred.Count} output(s) ({string.Join(", ", _outputNames)}), but {y.Count} target array(s) were given.");
        var terms = new List<Tensor>();
        int tracker = 0;
        for (int i = 0; i < yPred.Count; i++)
        {
            var loss = _losses[i];
            if (loss is null) continue;
            var sw = sampleWeight is null ? null : i < sampleWeight.Count ? sampleWeight[i] : null;
            var value = loss.Compute(y[i], yPred[i], sw, masks[i]);
            if (_outputLossTrackers.Count > 0) _outputLossTrackers[tracker++].Update(value.detach(), (double)batchSize);
            terms.Add(_lossWeights[i] == 1.0 ? value : value.mul(_lossWeights[i]));
        }
        foreach (var r in _model.RegularizationLosses()) terms.Add(r);
        foreach (var l in extraLosses) terms.Add(l.sum());
        if (terms.Count == 0)
            throw new InvalidOperationException("No loss to compute. Provide a `loss` argument in Compile().");
        var total = terms[0];
        for (int i = 1; i < terms.Count; i++) total = total.add(terms[i]);
        _lossTracker.Update(total.detach(), (double)batchSize);
        return total;
    }

    private void UpdateMetrics(IReadOnlyList<Tensor> y, IReadOnlyList<Tensor> yPred, IReadOnlyList<Tensor?> masks, IReadOnlyList<Tensor?>? sampleWeight)
    {
        ResolveMetrics(y, yPred);
        for (int i = 0; i < yPred.Count; i++)
        {
            foreach (var m in _metrics![i]) m.UpdateState(y[i], yPred[i], null, masks[i]);
            var sw = sampleWeight is null ? null : i < sampleWeight.Count ? sampleWeight[i] : null;
            foreach (var m in _weightedMetrics![i]) m.UpdateState(y[i], yPred[i], sw, masks[i]);
        }
    }

    /// <summary>Resolves <c>"accuracy"</c> and friends from the first batch's shapes (Keras' <c>get_metric</c>).</summary>
    private void ResolveMetrics(IReadOnlyList<Tensor> y, IReadOnlyList<Tensor> yPred)
    {
        if (_metrics is not null) return;
        _metrics = _metricSpecs.Select((list, i) => list.Select(m => Metric.Resolve(m, y[i].shape, yPred[i].shape, _losses[i])).ToList()).ToList();
        _weightedMetrics = _weightedMetricSpecs.Select((list, i) => list.Select(m => Metric.Resolve(m, y[i].shape, yPred[i].shape, _losses[i])).ToList()).ToList();
    }

    /// <summary>Forgets metric states (start of an epoch or an evaluation).</summary>
    public void ResetMetrics()
    {
        _lossTracker.ResetState();
        foreach (var t in _outputLossTrackers) t.ResetState();
        foreach (var m in (_metrics ?? []).SelectMany(l => l)) m.ResetState();
        foreach (var m in (_weightedMetrics ?? []).SelectMany(l => l)) m.ResetState();
    }

    /// <summary>Current metric values in Keras' log order and naming: loss, compile metrics, per-output losses.</summary>
    public Dictionary<string, double> MetricsResult()
    {
        var logs = new Dictionary<string, double> { ["loss"] = _lossTracker.Result() };
        var counters = new Dictionary<string, int>();
        bool multi = _outputNames.Count > 1;
        if (_metrics is not null)
        {
            for (int i = 0; i < _metrics.Count; i++)
                foreach (var m in _metrics[i])
                {
                    var name = multi ? $"{_outputNames[i]}_{m.Name}" : m.Name;
                    if (counters.TryGetValue(name, out var n)) { counters[name] = n + 1; name = $"{name}_{n}"; }
                    else counters[name] = 1;
                    logs[name] = m.Result();
                }
            for (int i = 0; i < _weightedMetrics!.Count; i++)
                foreach (var m in _weightedMetrics[i])
                {
                    var name = multi ? $"{_outputNames[i]}_{m.Name}" : m.Name;
                    if (counters.ContainsKey(name))
                    {
                        name = multi ? $"{_outputNames[i]}_weighted_{m.Name}" : $"weighted_{m.Name}";
                        if (counters.TryGetValue(name, out var n)) { counters[name] = n + 1; name = $"{name}_{n}"; }
                        else counters[name] = 1;
                    }
                    else counters[name] = 1;
                    logs[name] = m.Result();
                }
        }
        foreach (var t in _outputLossTrackers) logs[t.Name] = t.Result();
        return logs;
    }

    /// <summary>Direction of a compiled metric by its logged name (Keras' <c>_direction</c>): accuracies, AUC, precision and recall go up; errors and cross-entropies down.</summary>
    public bool? MetricDirection(string name)
    {
        var all = (_metrics ?? []).Concat(_weightedMetrics ?? []).SelectMany(l => l)
            .Concat((_metrics is null ? _metricSpecs.Concat(_weightedMetricSpecs) : []).SelectMany(l => l));
        foreach (var m in all)
        {
            if (m.Name != name && !name.EndsWith("_" + m.Name, StringComparison.Ordinal)) continue;
            var type = m.GetType().Name;
            if (type.Contains("Accuracy") || type is "AUC" or "Precision" or "Recall" || m.Name is "accuracy" or "acc") return true;
            if (type.Contains("Error") || type.Contains("Crossentropy") || type.Contains("Hinge") || type.Contains("Divergence") || type is "LogCoshError" or "Poisson")
                return false;
        }
        return null;
    }

    /// <summary>Keras' metric names before any data is seen (for empty logs).</summary>
    public IReadOnlyList<string> MetricNames => MetricsResult().Keys.ToList();
}

/// <summary>
/// A logs dictionary whose values are computed on first read, so that per-batch callbacks that do not look at the
/// values (e.g. a progress bar between redraws) cost no device synchronisation.
/// </summary>
internal sealed class LazyLogs : IDictionary<string, double>
{
    private readonly Func<Dictionary<string, double>> _compute;
    private Dictionary<string, double>? _values;

    public LazyLogs(Func<Dictionary<string, double>> compute) => _compute = compute;

    private Dictionary<string, double> Values => _values ??= _compute();

    public double this[string key] { get => Values[key]; set => Values[key] = value; }
    public ICollection<string> Keys => Values.Keys;
    ICollection<double> IDictionary<string, double>.Values => Values.Values;
    public int Count => Values.Count;
    public bool IsReadOnly => false;
    public void Add(string key, double value) => Values.Add(key, value);
    public void Add(KeyValuePair<string, double> item) => Values.Add(item.Key, item.Value);
    public void Clear() => Values.Clear();
    public bool Contains(KeyValuePair<string, double> item) => ((IDictionary<string, double>)Values).Contains(item);
    public bool ContainsKey(string key) => Values.ContainsKey(key);
    public void CopyTo(KeyValuePair<string, double>[] array, int arrayIndex) => ((IDictionary<string, double>)Values).CopyTo(array, arrayIndex);
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => Values.GetEnumerator();
    public bool Remove(string key) => Values.Remove(key);
    public bool Remove(KeyValuePair<string, double> item) => ((IDictionary<string, double>)Values).Remove(item);
    public bool TryGetValue(string key, out double value) => Values.TryGetValue(key, out value);
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
