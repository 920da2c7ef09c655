using Keras.Rnn.Backend;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Losses;
using Keras.Rnn.Metrics;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Models;

public partial class Model
{
    private CompileSpec? _compileSpec;
    private Trainer? _trainer;

    /// <summary>What <see cref="Compile(Optimizer?, Loss?, IEnumerable{Metric}?, IEnumerable{double}?, IEnumerable{Metric}?)"/> was given; the trainer is built from it once the outputs are known.</summary>
    private sealed record CompileSpec(
        IReadOnlyDictionary<string, object?> Config,
        Optimizer Optimizer,
        Func<IReadOnlyList<string>, IReadOnlyList<Loss?>> Losses,
        Func<IReadOnlyList<string>, IReadOnlyList<double>> LossWeights,
        Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<Metric>>> Metrics,
        Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<Metric>>> WeightedMetrics);

    /// <summary>Whether <c>Compile</c> was called.</summary>
    public bool Compiled => _compileSpec is not null;

    /// <summary>The optimizer given to <c>Compile</c>, or <c>null</c>.</summary>
    public Optimizer? Optimizer => _compileSpec?.Optimizer;

    /// <summary>Set to <c>true</c> (e.g. from a callback) to stop <c>Fit</c> after the current batch (Keras' <c>stop_training</c>).</summary>
    public bool StopTraining { get; set; }

    /// <summary>The <see cref="Callbacks.History"/> of the last <c>Fit</c>, or <c>null</c>.</summary>
    public History? History { get; private set; }

    /// <summary>Keras' <c>compile_config</c> (the <c>Compile</c> arguments), or <c>null</c> when not compiled.</summary>
    internal IReadOnlyDictionary<string, object?>? CompileConfig() => _compileSpec?.Config;

    /// <summary>The optimizer's state tensors to load a weights file into (building the optimizer first, as Keras does), or <c>null</c> when not compiled.</summary>
    internal IReadOnlyList<(string Path, Tensor Value)>? OptimizerTargetsForLoading()
    {
        if (Optimizer is not { } optimizer) return null;
        if (!optimizer.Built) optimizer.Build(TrainableWeights);
        return optimizer.Variables;
    }

    /// <summary>Whether training scales the loss (where Keras wraps the optimizer in a <c>LossScaleOptimizer</c>).</summary>
    internal bool UsesLossScaling => (DTypePolicy.Name == "mixed_float16" && AutoScaleLoss) || ScalesLossFromConfig;

    /// <summary>
    /// The optimizer state in the order Keras 3 weights files store it: where the model scales its loss (and the
    /// optimizer is built), the <c>LossScaleOptimizer</c>'s own variables first (<c>iteration</c>,
    /// <c>learning_rate</c> — both unused by Keras, 0 — <c>step_counter</c>, <c>dynamic_scale</c>), then the
    /// optimizer's; <c>null</c> when not compiled.
    /// </summary>
    /// <param name="forLoading">Build the optimizer first (as Keras does before loading state); saving writes the
    /// state as it is.</param>
    internal IReadOnlyList<(string Path, Tensor Value)>? KerasOptimizerState(bool forLoading)
    {
        var inner = forLoading ? OptimizerTargetsForLoading() : Optimizer?.Variables;
        if (inner is null || !HasLossScaleOptimizerState) return inner;
        var scaler = GetTrainer().LossScaler!;
        return
        [
            ("loss_scale_optimizer/iteration", torch.tensor(0L)),
            ("loss_scale_optimizer/learning_rate", torch.tensor(0f)),
            ("loss_scale_optimizer/step_counter", torch.tensor(scaler.StepCounter)),
            ("loss_scale_optimizer/dynamic_scale", torch.tensor((float)scaler.Scale)),
            .. inner,
        ];
    }

    /// <summary>Whether the saved optimizer state is a <c>LossScaleOptimizer</c>'s (loss scaling and a built optimizer).</summary>
    internal bool HasLossScaleOptimizerState => UsesLossScaling && Optimizer is { Built: true };

    /// <summary>Sets the state read from a Keras 3 weights file, in the order of <see cref="KerasOptimizerState"/>.</summary>
    internal void SetKerasOptimizerState(IReadOnlyList<Tensor> values)
    {
        if (HasLossScaleOptimizerState)
        {
            GetTrainer().LossScaler!.Restore(values[3].to_type(ScalarType.Float64).item<double>(), values[2].to_type(ScalarType.Int64).item<long>());
            values = values.Skip(4).ToList();
        }
        Optimizer!.SetVariableValues(values);
    }

    /// <summary>Whether a compiled metric of this name improves upwards (<c>true</c>), downwards (<c>false</c>), or is unknown.</summary>
    internal bool? MetricDirection(string name) => _trainer?.MetricDirection(name);

    /// <summary>Number of optimizer state elements (Keras' "Optimizer params"), once the optimizer has built its state.</summary>
    private long OptimizerParameterCount() => Optimizer is { Built: true } o ? o.VariableCount : 0;

    partial void OnDeviceChangedCore(torch.Device device) => Optimizer?.MoveStateTo(device);

    // ---------------------------------------------------------------- compile

    /// <summary>Configures the model for training (Keras' <c>compile</c>) with one loss for every output.</summary>
    /// <param name="optimizer">Optimizer object or Keras name (default <c>"rmsprop"</c>, as in Keras).</param>
    /// <param name="loss">Loss object or Keras name, e.g. <c>"mse"</c>, <c>"sparse_categorical_crossentropy"</c>; with several outputs it applies to each (default none: only added losses).</param>
    /// <param name="metrics">Metrics, e.g. <c>["accuracy", "mae"]</c> (<c>"accuracy"</c> becomes binary, categorical or sparse like Keras); with several outputs, one per output in order (default none).</param>
    /// <param name="lossWeights">Weight of each output's loss in the total (default all 1).</param>
    /// <param name="weightedMetrics">Metrics that also take sample weights (default none).</param>
    /// <example>
    /// <code>
    /// model.Compile(optimizer: new Adam(learningRate: 1e-3, clipnorm: 1.0), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
    /// </code>
    /// </example>
    public void Compile(Optimizer? optimizer = null, Loss? loss = null, IEnumerable<Metric>? metrics = null,
        IEnumerable<double>? lossWeights = null, IEnumerable<Metric>? weightedMetrics = null)
    {
        var metricList = metrics?.ToList() ?? [];
        var weightedList = weightedMetrics?.ToList() ?? [];
        var weights = lossWeights?.ToList();
        SetCompileSpec(optimizer, loss, metricList.Count > 0 ? metricList : null, weights is { Count: 1 } ? weights[0] : weights,
            weightedList.Count > 0 ? weightedList : null,
            names => names.Select(_ => loss).ToList(),
            names => ExpandWeights(weights, names),
            names => SpreadMetrics(metricList, names, "metrics"),
            names => SpreadMetrics(weightedList, names, "weightedMetrics"));
    }

    /// <summary>Configures a model with several outputs, one loss per output in order.</summary>
    /// <param name="optimizer">Optimizer object or Keras name (<c>null</c>: <c>"rmsprop"</c>).</param>
    /// <param name="loss">One loss per output (<c>null</c> for an output without loss).</param>
    /// <param name="metrics">One metric list per output (<c>null</c> entries allowed; default none).</param>
    /// <param name="lossWeights">One weight per output (default all 1).</param>
    public void Compile(Optimizer? optimizer, IReadOnlyList<Loss?> loss, IReadOnlyList<IEnumerable<Metric>?>? metrics = null,
        IEnumerable<double>? lossWeights = null)
    {
        var losses = loss.ToList();
        var metricLists = metrics?.Select(m => (IReadOnlyList<Metric>)(m?.ToList() ?? [])).ToList();
        var weights = lossWeights?.ToList();
        SetCompileSpec(optimizer, losses, metricLists, weights, null,
            names => CheckCount(losses, names, "loss"),
            names => ExpandWeights(weights, names),
            names => metricLists is null ? names.Select(_ => (IReadOnlyList<Metric>)[]).ToList() : CheckCount(metricLists, names, "metrics"),
            names => names.Select(_ => (IReadOnlyList<Metric>)[]).ToList());
    }

    /// <summary>Configures a model with several outputs by output name (Keras' dict form).</summary>
    /// <param name="optimizer">Optimizer object or Keras name (<c>null</c>: <c>"rmsprop"</c>).</param>
    /// <param name="loss">Output name → loss; outputs not named have no loss.</param>
    /// <param name="metrics">Output name → metrics (default none).</param>
    /// <param name="lossWeights">Output name → weight (default 1).</param>
    public void Compile(Optimizer? optimizer, IReadOnlyDictionary<string, Loss?> loss, IReadOnlyDictionary<string, IEnumerable<Metric>>? metrics = null,
        IReadOnlyDictionary<string, double>? lossWeights = null)
    {
        SetCompileSpec(optimizer, loss, metrics?.ToDictionary(kv => kv.Key, kv => (object?)kv.Value.ToList()), lossWeights, null,
            names => ByName(loss, names, "loss").Select(l => l).ToList(),
            names => names.Select(n => lossWeights is not null && lossWeights.TryGetValue(n, out var w) ? w : 1.0).ToList(),
            names => metrics is null
                ? names.Select(_ => (IReadOnlyList<Metric>)[]).ToList()
                : ByName(metrics.ToDictionary(kv => kv.Key, kv => (IEnumerable<Metric>?)kv.Value), names, "metrics")
                    .Select(m => (IReadOnlyList<Metric>)(m?.ToList() ?? [])).ToList(),
            names => names.Select(_ => (IReadOnlyList<Metric>)[]).ToList());
    }

    private void SetCompileSpec(Optimizer? optimizer, object? lossArgument, object? metricsArgument, object? lossWeightsArgument,
        object? weightedMetricsArgument, Func<IReadOnlyList<string>, IReadOnlyList<Loss?>> losses,
        Func<IReadOnlyList<string>, IReadOnlyList<double>> weights, Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<Metric>>> metrics,
        Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<Metric>>> weighted)
    {
        var chosen = optimizer ?? Optimizer.Get("rmsprop");
        // Keras' compile_config: the arguments as given, for .keras archives.
        var config = new Dictionary<string, object?>
        {
            ["optimizer"] = chosen,
            ["loss"] = lossArgument,
            ["loss_weights"] = lossWeightsArgument,
            ["metrics"] = metricsArgument,
            ["weighted_metrics"] = weightedMetricsArgument,
            ["run_eagerly"] = false,
            ["steps_per_execution"] = 1,
            ["jit_compile"] = false,
        };
        _compileSpec = new CompileSpec(config, chosen, losses, weights, metrics, weighted);
        _trainer = null;
        if (IsGraphNetwork) _ = GetTrainer();
    }

    private static IReadOnlyList<T> CheckCount<T>(IReadOnlyList<T> values, IReadOnlyList<string> names, string argument)
    {
        if (values.Count != names.Count)
            throw new ArgumentException(
                $"Compile: `{argument}` has {values.Count} entries, but the model has {names.Count} output(s) ({string.Join(", ", names)}).", argument);
        return values;
    }

    private static IReadOnlyList<double> ExpandWeights(List<double>? weights, IReadOnlyList<string> names) =>
        weights is null ? names.Select(_ => 1.0).ToList() : CheckCount(weights, names, "lossWeights");

    private static IReadOnlyList<IReadOnlyList<Metric>> SpreadMetrics(List<Metric> metrics, IReadOnlyList<string> names, string argument)
    {
        if (names.Count == 1 || metrics.Count == 0)
            return names.Select((_, i) => (IReadOnlyList<Metric>)(i == 0 ? metrics : [])).ToList();
        if (metrics.Count == names.Count) return metrics.Select(m => (IReadOnlyList<Metric>)[m]).ToList();
        throw new ArgumentException(
            $"Compile: the model has {names.Count} outputs ({string.Join(", ", names)}); give `{argument}` one entry per output, or use the per-output Compile overloads.", argument);
    }

    private static IReadOnlyList<T?> ByName<T>(IReadOnlyDictionary<string, T?> values, IReadOnlyList<string> names, string argument)
    {
        var unknown = values.Keys.Where(k => !names.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Compile: `{argument}` names unknown outputs [{string.Join(", ", unknown)}]; outputs are [{string.Join(", ", names)}].", argument);
        return names.Select(n => values.TryGetValue(n, out var v) ? v : default).ToList();
    }

    /// <summary>
    /// The current dynamic loss scale of a compiled model whose <see cref="Layers.Layer.DTypePolicy"/> is
    /// <c>"mixed_float16"</c> (Keras' <c>optimizer.dynamic_scale</c> of the <c>LossScaleOptimizer</c> that Keras'
    /// <c>compile</c> adds): starts at 2¹⁵, halves when a step's gradients overflow (that step is skipped), doubles
    /// after 2000 finite steps. Also for a model loaded with a Keras <c>LossScaleOptimizer</c> in its compile config.
    /// <c>null</c> for other policies or before <c>Compile</c>.
    /// </summary>
    public double? LossScale => _compileSpec is null ? null : GetTrainer().LossScaler?.Scale;

    /// <summary>
    /// Whether a <c>"mixed_float16"</c> model trains with dynamic loss scaling (Keras' <c>compile</c> argument
    /// <c>auto_scale_loss</c>; default <c>true</c>). Set it before <c>Compile</c>; it has no effect on other policies.
    /// </summary>
    public bool AutoScaleLoss { get; set; } = true;

    /// <summary>
    /// Set when the model was loaded with a Keras <c>LossScaleOptimizer</c> in its compile config: it trains with
    /// dynamic loss scaling whatever its policy. Set before <c>Compile</c> (which makes the trainer).
    /// </summary>
    internal bool ScalesLossFromConfig { get; set; }

    internal Trainer GetTrainer()
    {
        if (_compileSpec is null)
            throw new InvalidOperationException($"You must call Compile() before using model '{Name}' for training or evaluation.");
        if (_trainer is not null) return _trainer;
        var names = OutputNamesForCompile();
        _trainer = new Trainer(this, _compileSpec.Optimizer, _compileSpec.Losses(names), _compileSpec.LossWeights(names),
            _compileSpec.Metrics(names), _compileSpec.WeightedMetrics(names), names);
        return _trainer;
    }

    private IReadOnlyList<string> OutputNamesForCompile() => IsGraphNetwork ? OutputNames : [Name + "_output"];

    // ---------------------------------------------------------------- forward

    /// <summary>Runs the model on real inputs, building it first if needed; returns outputs and their masks.</summary>
    internal (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Forward(IReadOnlyList<Tensor> inputs, bool training, List<Tensor>? losses)
    {
        if (this is Sequential sequential) sequential.BuildFromData(inputs);
        if (IsGraphNetwork) return RunGraph(inputs, null, training, losses);
        if (!Built) Build(inputs.Select(ShapeWithoutBatch).ToList());
        var context = new CallContext(training, new Tensor?[inputs.Count], null, null, losses);
        // A subclassed model is a layer: its inputs and its own weights follow its policy (graph models leave that to
        // their layers, as Keras' Functional does).
        var cast = CastToComputeDType(inputs);
        using var autocast = EnterAutocast();
        var outputs = CallAll(cast, context);
        return (outputs, new Tensor?[outputs.Count]);
    }

    private IReadOnlyList<string> InputNamesForData => IsGraphNetwork ? InputNames : [];

    private IReadOnlyList<string> OutputNamesForData => IsGraphNetwork ? OutputNames : [];

    // ---------------------------------------------------------------- fit

    /// <summary>
    /// Trains the model for a number of epochs (Keras' <c>fit</c>) and returns the per-epoch history
    /// (<c>loss</c>, metrics, and <c>val_</c> ones with validation).
    /// </summary>
    /// <param name="x">Inputs: an array, a tensor, one per input (<c>[a, b]</c>), or name → array.</param>
    /// <param name="y">Targets, likewise (required unless the loss comes only from added losses).</param>
    /// <param name="batchSize">Samples per gradient update (default 32).</param>
    /// <param name="epochs">Index of the last epoch (default 1); training runs from <paramref name="initialEpoch"/> to it.</param>
    /// <param name="verbose">0 silent, 1 progress bar (default), 2 one line per epoch.</param>
    /// <param name="callbacks">Callbacks (default none; History and the progress bar are added).</param>
    /// <param name="validationSplit">Fraction of the data, taken from the end before shuffling, held out for validation (default 0).</param>
    /// <param name="validationData">Validation inputs and targets (overrides <paramref name="validationSplit"/>; default none).</param>
    /// <param name="shuffle">Reshuffle the training data every epoch (default <c>true</c>).</param>
    /// <param name="classWeight">Class index → loss weight (default none).</param>
    /// <param name="sampleWeight">Per-sample (or per-timestep) loss weights (default none).</param>
    /// <param name="initialEpoch">Epoch to start from, to resume training (default 0).</param>
    /// <param name="stepsPerEpoch">Batches per epoch (default: one pass over the data).</param>
    /// <param name="validationSteps">Batches per validation (default: all).</param>
    /// <param name="validationBatchSize">Validation batch size (default: <paramref name="batchSize"/>).</param>
    /// <param name="validationFreq">Validate every this many epochs (default 1).</param>
    /// <returns>The training history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">Inconsistent data: sizes, shapes, dtypes, NaN values; the message names the argument.</exception>
    public History Fit(ArrayLike x, ArrayLike? y = null, int? batchSize = null, int epochs = 1, int verbose = 1,
        IEnumerable<Callback>? callbacks = null, double validationSplit = 0.0, (ArrayLike X, ArrayLike Y)? validationData = null,
        bool shuffle = true, IReadOnlyDictionary<int, double>? classWeight = null, ArrayLike? sampleWeight = null, int initialEpoch = 0,
        int? stepsPerEpoch = null, int? validationSteps = null, int? validationBatchSize = null, int validationFreq = 1)
    {
        ArgumentNullException.ThrowIfNull(x);
        var trainer = GetTrainer();
        var owned = new List<Tensor>();
        try
        {
            var xs = x.ToTensors(InputNamesForData, "x", owned);
            var ys = y?.ToTensors(OutputNamesForData, "y", owned);
            IReadOnlyList<Tensor?>? sws = sampleWeight?.ToTensors(OutputNamesForData, "sample_weight", owned);
            CheckData(xs, ys, "x", "y");
            if (validationSplit is < 0 or >= 1)
                throw new ArgumentException($"validationSplit must be in [0, 1), got {validationSplit}.", nameof(validationSplit));
            IDataAdapter? validation = null;
            int valBatch = validationBatchSize ?? batchSize ?? 32;
            if (validationData is { } vd)
            {
                var vx = vd.X.ToTensors(InputNamesForData, "validationData.X", owned);
                var vy = vd.Y.ToTensors(OutputNamesForData, "validationData.Y", owned);
                CheckData(vx, vy, "validationData.X", "validationData.Y");
                validation = new ArrayDataAdapter(vx, vy, null, valBatch, false, validationSteps);
            }
            else if (validationSplit > 0)
            {
                long n = ArrayDataAdapter.CheckCardinality(xs, ys, sws);
                long splitAt = (long)Math.Floor(n * (1.0 - validationSplit));
                if (splitAt == 0 || splitAt == n)
                    throw new ArgumentException(
                        $"validationSplit={validationSplit} leaves no training or no validation samples out of {n}.", nameof(validationSplit));
                Tensor Own(Tensor t) { owned.Add(t); return t; }
                IReadOnlyList<Tensor> Head(IReadOnlyList<Tensor> ts) => ts.Select(t => Own(t.narrow(0, 0, splitAt).DetachFromDisposeScope())).ToList();
                IReadOnlyList<Tensor> Tail(IReadOnlyList<Tensor> ts) => ts.Select(t => Own(t.narrow(0, splitAt, n - splitAt).DetachFromDisposeScope())).ToList();
                validation = new ArrayDataAdapter(Tail(xs), ys is null ? null : Tail(ys), sws is null ? null : Tail(sws.Select(t => t!).ToList()), valBatch, false, validationSteps);
                xs = Head(xs);
                ys = ys is null ? null : Head(ys);
                sws = sws is null ? null : Head(sws.Select(t => t!).ToList());
            }
            if (classWeight is not null)
            {
                sws = ApplyClassWeight(classWeight, ys, sws);
                owned.AddRange(sws.OfType<Tensor>());
            }
            var adapter = new ArrayDataAdapter(xs, ys, sws, batchSize ?? 32, shuffle, stepsPerEpoch);
            return RunFit(trainer, adapter, validation, epochs, verbose, callbacks, initialEpoch, validationFreq);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Trains on streaming data: an enumerable of (inputs, targets) batches, re-enumerated each epoch.</summary>
    /// <param name="data">The batches (each an array, tensor, list or dictionary like the array form).</param>
    /// <param name="epochs">Index of the last epoch (default 1).</param>
    /// <param name="verbose">0 silent, 1 progress bar (default), 2 one line per epoch.</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <param name="validationData">Validation batches (default none).</param>
    /// <param name="classWeight">Class index → loss weight (default none).</param>
    /// <param name="initialEpoch">Epoch to start from (default 0).</param>
    /// <param name="stepsPerEpoch">Batches per epoch; the enumeration then continues across epochs and restarts when exhausted (default: one full enumeration per epoch).</param>
    /// <param name="validationSteps">Validation batches per evaluation (default: all).</param>
    /// <param name="validationFreq">Validate every this many epochs (default 1).</param>
    /// <returns>The training history.</returns>
    public History Fit(IEnumerable<(ArrayLike X, ArrayLike Y)> data, int epochs = 1, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        IEnumerable<(ArrayLike X, ArrayLike Y)>? validationData = null, IReadOnlyDictionary<int, double>? classWeight = null,
        int initialEpoch = 0, int? stepsPerEpoch = null, int? validationSteps = null, int validationFreq = 1)
    {
        ArgumentNullException.ThrowIfNull(data);
        var trainer = GetTrainer();
        var adapter = Stream(data, classWeight, stepsPerEpoch);
        var validation = validationData is null ? null : Stream(validationData, null, validationSteps);
        return RunFit(trainer, adapter, validation, epochs, verbose, callbacks, initialEpoch, validationFreq);
    }

    private StreamingDataAdapter Stream(IEnumerable<(ArrayLike X, ArrayLike Y)> data, IReadOnlyDictionary<int, double>? classWeight, int? steps) =>
        new(data.Select(b => (b.X, (ArrayLike?)b.Y, (ArrayLike?)null)),
            (a, role) => a.ToTensors(InputNamesForData, role),
            (a, role) => a.ToTensors(OutputNamesForData, role), steps)
        {
            ClassWeight = classWeight is null ? null : ys => ApplyClassWeight(classWeight, ys, null),
        };

    private History RunFit(Trainer trainer, IDataAdapter adapter, IDataAdapter? validation, int epochs, int verbose,
        IEnumerable<Callback>? callbacks, int initialEpoch, int validationFreq)
    {
        if (epochs < 1) throw new ArgumentException($"epochs must be at least 1, got {epochs}.", nameof(epochs));
        if (initialEpoch < 0 || initialEpoch >= epochs)
            throw new ArgumentException($"initialEpoch must be in [0, epochs), got {initialEpoch} with epochs={epochs}.", nameof(initialEpoch));
        if (verbose is < 0 or > 2) throw new ArgumentException($"verbose must be 0, 1 or 2, got {verbose}.", nameof(verbose));
        if (validationFreq < 1) throw new ArgumentException($"validationFreq must be at least 1, got {validationFreq}.", nameof(validationFreq));
        // The kernels reuse their large buffers from batch to batch while training runs.
        using var pool = HostBufferPool.Scope();
        return RunEpochs(trainer, adapter, validation, epochs, verbose, callbacks, initialEpoch, validationFreq);
    }

    private History RunEpochs(Trainer trainer, IDataAdapter adapter, IDataAdapter? validation, int epochs, int verbose,
        IEnumerable<Callback>? callbacks, int initialEpoch, int validationFreq)
    {
        var device = EnsureOnDevice();
        var list = new CallbackList(callbacks, this, addHistory: true, addProgbar: true, verbose, epochs, adapter.StepsPerEpoch);
        StopTraining = false;
        IDictionary<string, double> trainingLogs = new Dictionary<string, double>();
        list.TrainBegin(new Dictionary<string, double>());
        for (int epoch = initialEpoch; epoch < epochs; epoch++)
        {
            trainer.ResetMetrics();
            list.EpochBegin(epoch, new Dictionary<string, double>());
            var trainable = TrainableWeights;
            int step = 0;
            using (var e = adapter.NextEpoch().GetEnumerator())
            {
                while (true)
                {
                    using var scope = torch.NewDisposeScope();
                    if (!e.MoveNext()) break;
                    list.TrainBatchBegin(step, new Dictionary<string, double>());
                    trainer.TrainStep(e.Current, device, trainable);
                    list.TrainBatchEnd(step, new LazyLogs(trainer.MetricsResult));
                    step++;
                    if (StopTraining) break;
                }
            }
            var epochLogs = trainer.MetricsResult();
            if (validation is not null && (epoch + 1) % validationFreq == 0)
            {
                var valLogs = RunEvaluate(trainer, validation, list, device);
                foreach (var (k, v) in valLogs) epochLogs["val_" + k] = v;
            }
            list.EpochEnd(epoch, epochLogs);
            trainingLogs = epochLogs;
            if (StopTraining) break;
        }
        // Keras: with an exponential moving average, the weights become the averages when training ends.
        if (trainer.Optimizer is { UseEma: true, Built: true }) trainer.Optimizer.FinalizeVariableValues(TrainableWeights);
        list.TrainEnd(trainingLogs);
        History = list.History!;
        return History;
    }

    // ---------------------------------------------------------------- evaluate

    /// <summary>Computes the loss and metrics on data (Keras' <c>evaluate</c> with <c>return_dict=True</c>).</summary>
    /// <param name="x">Inputs.</param>
    /// <param name="y">Targets.</param>
    /// <param name="batchSize">Samples per batch (default 32).</param>
    /// <param name="verbose">0 silent, 1 progress bar (default), 2 one line.</param>
    /// <param name="sampleWeight">Per-sample loss weights (default none).</param>
    /// <param name="steps">Batches to evaluate (default: all).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <returns>Metric name → value: <c>loss</c> first, then the compiled metrics.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    public Dictionary<string, double> Evaluate(ArrayLike x, ArrayLike? y = null, int? batchSize = null, int verbose = 1,
        ArrayLike? sampleWeight = null, int? steps = null, IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var trainer = GetTrainer();
        var owned = new List<Tensor>();
        try
        {
            var xs = x.ToTensors(InputNamesForData, "x", owned);
            var ys = y?.ToTensors(OutputNamesForData, "y", owned);
            var sws = sampleWeight?.ToTensors(OutputNamesForData, "sample_weight", owned);
            CheckData(xs, ys, "x", "y");
            var adapter = new ArrayDataAdapter(xs, ys, sws?.Select(t => (Tensor?)t).ToList(), batchSize ?? 32, false, steps);
            var device = EnsureOnDevice();
            var list = new CallbackList(callbacks, this, addHistory: false, addProgbar: true, verbose, 1, adapter.StepsPerEpoch);
            return RunEvaluate(trainer, adapter, list, device);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Evaluates on streaming batches.</summary>
    /// <param name="data">The (inputs, targets) batches.</param>
    /// <param name="verbose">0 silent, 1 progress bar (default), 2 one line.</param>
    /// <param name="steps">Batches to evaluate (default: all).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <returns>Metric name → value.</returns>
    public Dictionary<string, double> Evaluate(IEnumerable<(ArrayLike X, ArrayLike Y)> data, int verbose = 1, int? steps = null,
        IEnumerable<Callback>? callbacks = null)
    {
        var trainer = GetTrainer();
        var adapter = Stream(data, null, steps);
        var device = EnsureOnDevice();
        var list = new CallbackList(callbacks, this, addHistory: false, addProgbar: true, verbose, 1, adapter.StepsPerEpoch);
        return RunEvaluate(trainer, adapter, list, device);
    }

    private Dictionary<string, double> RunEvaluate(Trainer trainer, IDataAdapter adapter, CallbackList list, torch.Device device)
    {
        // The kernels reuse their large buffers from batch to batch (a nested scope, as validation inside Fit, adds nothing).
        using var pool = HostBufferPool.Scope();
        trainer.ResetMetrics();
        list.TestBegin(new Dictionary<string, double>());
        int step = 0;
        using (var e = adapter.NextEpoch().GetEnumerator())
        {
            while (true)
            {
                using var scope = torch.NewDisposeScope();
                if (!e.MoveNext()) break;
                list.TestBatchBegin(step, new Dictionary<string, double>());
                trainer.TestStep(e.Current, device);
                list.TestBatchEnd(step, new LazyLogs(trainer.MetricsResult));
                step++;
            }
        }
        var logs = trainer.MetricsResult();
        list.TestEnd(logs);
        return logs;
    }

    // ---------------------------------------------------------------- predict

    /// <summary>Runs the model on inputs in batches (Keras' <c>predict</c>), for a model with one output.</summary>
    /// <param name="x">Inputs.</param>
    /// <param name="batchSize">Samples per batch (default 32).</param>
    /// <param name="verbose">0 silent, 1 progress bar (default, as in Keras).</param>
    /// <param name="steps">Batches to run (default: all).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <returns>The outputs for all samples, a CPU tensor (use <c>.ToArray()</c> for a .NET array).</returns>
    /// <exception cref="InvalidOperationException">The model has several outputs; use <c>PredictOutputs</c>.</exception>
    public Tensor Predict(ArrayLike x, int? batchSize = null, int verbose = 1, int? steps = null, IEnumerable<Callback>? callbacks = null)
    {
        var outputs = PredictOutputs(x, batchSize, verbose, steps, callbacks);
        if (outputs.Count != 1)
        {
            foreach (var o in outputs) o.Dispose();
            throw new InvalidOperationException($"Model '{Name}' has {outputs.Count} outputs; use PredictOutputs to get all of them.");
        }
        return outputs[0];
    }

    /// <summary>Runs the model on inputs in batches and returns every output.</summary>
    /// <param name="x">Inputs.</param>
    /// <param name="batchSize">Samples per batch (default 32).</param>
    /// <param name="verbose">0 silent, 1 progress bar (default).</param>
    /// <param name="steps">Batches to run (default: all).</param>
    /// <param name="callbacks">Callbacks (default none).</param>
    /// <returns>One CPU tensor per output.</returns>
    public IReadOnlyList<Tensor> PredictOutputs(ArrayLike x, int? batchSize = null, int verbose = 1, int? steps = null,
        IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var owned = new List<Tensor>();
        try
        {
            var xs = x.ToTensors(InputNamesForData, "x", owned);
            // As Keras' predict: NaN inputs give NaN outputs (no data scan on this path; training rejects them).
            CheckData(xs, null, "x", "y", checkNaN: false);
            var adapter = new ArrayDataAdapter(xs, null, null, batchSize ?? 32, false, steps);
            return RunPredict(adapter, verbose, callbacks);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Runs the model on streaming input batches and returns every output.</summary>
    /// <param name="data">Input batches.</param>
    /// <param name="verbose">0 silent, 1 progress bar (default).</param>
    /// <param name="steps">Batches to run (default: all).</param>
    /// <returns>One CPU tensor per output.</returns>
    public IReadOnlyList<Tensor> PredictOutputs(IEnumerable<ArrayLike> data, int verbose = 1, int? steps = null)
    {
        var adapter = new StreamingDataAdapter(data.Select(b => (b, (ArrayLike?)null, (ArrayLike?)null)),
            (a, role) => a.ToTensors(InputNamesForData, role), null, steps);
        return RunPredict(adapter, verbose, null);
    }

    private IReadOnlyList<Tensor> RunPredict(IDataAdapter adapter, int verbose, IEnumerable<Callback>? callbacks)
    {
        var device = EnsureOnDevice();
        var list = new CallbackList(callbacks, this, addHistory: false, addProgbar: true, verbose, 1, adapter.StepsPerEpoch);
        using var pool = HostBufferPool.Scope();
        list.PredictBegin(new Dictionary<string, double>());
        List<Tensor>[]? pieces = null;
        int step = 0;
        try
        {
            using var e = adapter.NextEpoch().GetEnumerator();
            while (true)
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                if (!e.MoveNext()) break;
                list.PredictBatchBegin(step, new Dictionary<string, double>());
                var x = e.Current.X.Select(t => Devices.To(t, device)).ToList();
                var (outputs, _) = Forward(x, training: false, null);
                pieces ??= outputs.Select(_ => new List<Tensor>()).ToArray();
                for (int i = 0; i < outputs.Count; i++) pieces[i].Add(outputs[i].detach().cpu().DetachFromDisposeScope());
                list.PredictBatchEnd(step, new Dictionary<string, double>());
                step++;
            }
            if (pieces is null) throw new ArgumentException("Predict received no data.");
            // Copies (one batch: a clone) own ordinary storage: an output may be a view of a kernel's pooled buffer.
            var result = pieces.Select(p => p.Count == 1 ? p[0].clone().DetachFromDisposeScope() : torch.cat(p, 0).DetachFromDisposeScope()).ToList();
            list.PredictEnd(new Dictionary<string, double>());
            return result;
        }
        finally
        {
            if (pieces is not null) foreach (var p in pieces) foreach (var t in p) t.Dispose();
        }
    }

    // ---------------------------------------------------------------- single batches

    /// <summary>One gradient update on one batch (Keras' <c>train_on_batch</c>); metrics are reset first.</summary>
    /// <param name="x">Inputs of the batch.</param>
    /// <param name="y">Targets of the batch.</param>
    /// <param name="sampleWeight">Sample weights (default none).</param>
    /// <param name="classWeight">Class weights (default none).</param>
    /// <returns>The batch's loss and metrics.</returns>
    public Dictionary<string, double> TrainOnBatch(ArrayLike x, ArrayLike? y = null, ArrayLike? sampleWeight = null,
        IReadOnlyDictionary<int, double>? classWeight = null)
    {
        var trainer = GetTrainer();
        var owned = new List<Tensor>();
        using var scope = torch.NewDisposeScope();
        try
        {
            var xs = x.ToTensors(InputNamesForData, "x", owned);
            var ys = y?.ToTensors(OutputNamesForData, "y", owned);
            IReadOnlyList<Tensor?>? sws = sampleWeight?.ToTensors(OutputNamesForData, "sample_weight", owned);
            CheckData(xs, ys, "x", "y");
            if (classWeight is not null)
            {
                sws = ApplyClassWeight(classWeight, ys, sws);
                owned.AddRange(sws.OfType<Tensor>());
            }
            long n = ArrayDataAdapter.CheckCardinality(xs, ys, sws);
            var device = EnsureOnDevice();
            trainer.ResetMetrics();
            trainer.TrainStep(new DataBatch(xs, ys, sws, n), device, TrainableWeights);
            return trainer.MetricsResult();
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Loss and metrics on one batch (Keras' <c>test_on_batch</c>).</summary>
    /// <param name="x">Inputs of the batch.</param>
    /// <param name="y">Targets of the batch.</param>
    /// <param name="sampleWeight">Sample weights (default none).</param>
    /// <returns>The batch's loss and metrics.</returns>
    public Dictionary<string, double> TestOnBatch(ArrayLike x, ArrayLike? y = null, ArrayLike? sampleWeight = null)
    {
        var trainer = GetTrainer();
        var owned = new List<Tensor>();
        using var scope = torch.NewDisposeScope();
        try
        {
            var xs = x.ToTensors(InputNamesForData, "x", owned);
            var ys = y?.ToTensors(OutputNamesForData, "y", owned);
            var sws = sampleWeight?.ToTensors(OutputNamesForData, "sample_weight", owned);
            CheckData(xs, ys, "x", "y");
            long n = ArrayDataAdapter.CheckCardinality(xs, ys, sws);
            var device = EnsureOnDevice();
            trainer.ResetMetrics();
            trainer.TestStep(new DataBatch(xs, ys, sws?.Select(t => (Tensor?)t).ToList(), n), device);
            return trainer.MetricsResult();
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>The model's output for one batch (Keras' <c>predict_on_batch</c>), for a model with one output.</summary>
    /// <param name="x">Inputs of the batch.</param>
    /// <returns>A CPU tensor.</returns>
    public Tensor PredictOnBatch(ArrayLike x)
    {
        var outputs = PredictOutputs(x, batchSize: int.MaxValue, verbose: 0);
        if (outputs.Count != 1)
        {
            foreach (var o in outputs) o.Dispose();
            throw new InvalidOperationException($"Model '{Name}' has {outputs.Count} outputs; use PredictOutputs.");
        }
        return outputs[0];
    }

    // ---------------------------------------------------------------- data checks

    /// <summary>Checks ranks and dtypes of the data and, with <paramref name="checkNaN"/> (training, evaluation), that it holds no NaN (clear errors instead of NaN losses).</summary>
    private void CheckData(IReadOnlyList<Tensor> xs, IReadOnlyList<Tensor>? ys, string xName, string yName, bool checkNaN = true)
    {
        for (int i = 0; i < xs.Count; i++)
        {
            var t = xs[i];
            if (t.dim() == 0) throw new ArgumentException($"{xName}[{i}] is a scalar; expected samples along the first axis.");
            if (IsGraphNetwork && i < Inputs.Count)
            {
                var expected = Inputs[i].Shape;
                if (t.dim() != expected.Rank)
                    throw new ArgumentException(
                        $"{xName}: input {i} (\"{InputNames[i]}\") of model \"{Name}\" expects data of rank {expected.Rank} with shape {expected}, but the data has shape {Shape.Of(t.shape)}.");
                if (Inputs[i].DType == "float32" && !t.is_floating_point() && t.dtype != ScalarType.Bool && t.dtype != ScalarType.Int64)
                    throw new ArgumentException($"{xName}: input {i} expects float32 data, got {t.dtype}.");
            }
            if (checkNaN && ContainsNaN(t))
                throw new ArgumentException($"{xName}[{i}] contains NaN values (shape {Shape.Of(t.shape)}); clean or impute the data before training.");
        }
        if (ys is null) return;
        for (int i = 0; i < ys.Count; i++)
        {
            var t = ys[i];
            if (ContainsNaN(t))
                throw new ArgumentException($"{yName}[{i}] contains NaN values (shape {Shape.Of(t.shape)}).");
        }
    }

    /// <summary>Whether a floating tensor holds a NaN: a sum (one pass, no mask) is NaN when there is a NaN (or when
    /// infinities of both signs meet); only then is the element-wise check run. The sum stays in the data's dtype: an
    /// overflow gives ±inf, never a missed NaN, and no copy of the data set is made (a float64 sum would convert all of
    /// it first — twice the data's size in memory at the start of every Fit).</summary>
    private static bool ContainsNaN(Tensor t)
    {
        if (!t.is_floating_point() || t.numel() == 0) return false;
        using var scope = torch.NewDisposeScope();
        if (!t.sum().isnan().item<bool>()) return false;
        return t.isnan().any().item<bool>();
    }

    /// <summary>Keras' <c>class_weight</c> → per-sample weights from the class of each target.</summary>
    private static IReadOnlyList<Tensor?> ApplyClassWeight(IReadOnlyDictionary<int, double> classWeight, IReadOnlyList<Tensor>? ys,
        IReadOnlyList<Tensor?>? sampleWeight)
    {
        if (ys is null) throw new ArgumentException("classWeight needs targets (y).", nameof(classWeight));
        if (ys.Count > 1)
            throw new ArgumentException("`classWeight` is only supported for models with a single output.", nameof(classWeight));
        using var scope = torch.NewDisposeScope();
        var y = ys[0];
        if (y.dim() > 1) y = y.shape[^1] != 1 ? y.argmax(-1) : y.squeeze(-1);
        var classes = y.to_type(ScalarType.Float64).round().to_type(ScalarType.Int64).cpu();
        var ids = classes.data<long>().ToArray();
        var weights = new float[ids.Length];
        for (int i = 0; i < ids.Length; i++) weights[i] = (float)(classWeight.TryGetValue((int)ids[i], out var w) ? w : 1.0);
        var classWeights = torch.tensor(weights);
        Tensor result = sampleWeight is { Count: > 0 } && sampleWeight[0] is { } sw
            ? sw.to_type(ScalarType.Float32).mul(classWeights.reshape([classWeights.shape[0], .. Enumerable.Repeat(1L, (int)sw.dim() - 1)]))
            : classWeights;
        return [result.DetachFromDisposeScope()];
    }
}
