using System.Text.RegularExpressions;
using Keras.Rnn.Backend;
using Keras.Rnn.Optimizers.Schedules;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// Base class of the optimizers (Keras' <c>keras.optimizers.Optimizer</c>), with Keras' update order and update
/// rules. One <see cref="ApplyGradients"/> call does, as Keras' <c>apply</c>: skip variables without a gradient;
/// divide by <c>lossScaleFactor</c>; with gradient accumulation, add to the accumulators and update only every
/// <c>gradientAccumulationSteps</c> calls (with the mean gradient); clip (<c>clipnorm</c> per variable,
/// <c>globalClipnorm</c> over all, or <c>clipvalue</c>); decoupled weight decay
/// <c>w ← w·(1 − weightDecay·lr)</c>; the optimizer's own update per variable; the moving average of the weights
/// when <c>useEma</c>; each variable's constraint; and finally the step counter.
/// </summary>
/// <remarks>
/// Accepts Keras' identifiers <c>"sgd"</c>, <c>"adam"</c>, <c>"adamw"</c>, <c>"rmsprop"</c>, <c>"adagrad"</c>,
/// <c>"nadam"</c> (case-insensitive) wherever an optimizer is expected. Updates run in place under
/// <c>torch.no_grad()</c>; state is created on each weight's device and follows the weight if it moves.
/// </remarks>
public abstract class Optimizer
{
    private static readonly string[] KnownIdentifiers = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam"];

    private readonly List<OptimizerVariable> _variables = [];
    private readonly OptimizerVariable _iterationVariable;
    private OptimizerVariable? _learningRateVariable;
    private LearningRateSchedule? _schedule;
    private double _learningRate;
    private long _iterations; // Keras' `_iterations`: every ApplyGradients call with gradients counts

    private Variable[] _trainable = [];
    private Dictionary<Variable, int> _indices = new(ReferenceEqualityComparer.Instance);
    private List<OptimizerVariable>[] _slotsByVariable = [];
    private (DeviceType Type, int Index)[] _devices = [];
    private IReadOnlyList<OptimizerVariable>? _averages;
    private IReadOnlyList<OptimizerVariable>? _accumulators;

    private HashSet<Variable> _excludedVariables = new(ReferenceEqualityComparer.Instance);
    private Regex? _excludedNames;
    private readonly Dictionary<Variable, bool> _weightDecayCache = new(ReferenceEqualityComparer.Instance);
    private bool _warnedMissingGradients;

    /// <summary>Initialises the arguments shared by all optimizers (Keras' <c>BaseOptimizer</c>), validated as Keras does.</summary>
    /// <param name="name">Name; <c>null</c> gives Keras' automatic name (snake_case class name, numbered: <c>adam</c>, <c>adam_1</c>, …).</param>
    /// <param name="learningRate">A constant or a schedule.</param>
    /// <param name="weightDecay">Decoupled weight decay factor, or <c>null</c> for none.</param>
    /// <param name="clipnorm">Clip each gradient to this L2 norm, or <c>null</c>.</param>
    /// <param name="clipvalue">Clip each gradient element to [−clipvalue, clipvalue], or <c>null</c>.</param>
    /// <param name="globalClipnorm">Clip all gradients together to this global L2 norm, or <c>null</c>.</param>
    /// <param name="useEma">Keep an exponential moving average of the weights.</param>
    /// <param name="emaMomentum">EMA momentum in [0, 1] (Keras default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite the weights with their average every this many steps, or <c>null</c>.</param>
    /// <param name="lossScaleFactor">Gradients are divided by this factor before use, or <c>null</c>.</param>
    /// <param name="gradientAccumulationSteps">Update only every this many calls with the mean gradient (≥ 2), or <c>null</c>.</param>
    /// <exception cref="ArgumentException">More than one clipping option, or an invalid EMA or accumulation argument.</exception>
    protected Optimizer(string? name, LearningRate learningRate, double? weightDecay, double? clipnorm, double? clipvalue, double? globalClipnorm,
                        bool useEma, double emaMomentum, int? emaOverwriteFrequency, double? lossScaleFactor, int? gradientAccumulationSteps)
    {
        NativeLibraries.EnsureLoaded();

        if (gradientAccumulationSteps is int steps && steps != 0 && steps < 2)
            throw new ArgumentException(
                $"`gradient_accumulation_steps` must be an integer >= 2. Received: gradient_accumulation_steps={steps}.",
                nameof(gradientAccumulationSteps));
        if (useEma)
        {
            if (!(emaMomentum >= 0 && emaMomentum <= 1))
                throw new ArgumentException($"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={emaMomentum}.", nameof(emaMomentum));
            if (emaOverwriteFrequency is int f && f != 0 && f < 1)
                throw new ArgumentException(
                    $"`ema_overwrite_frequency` must be an integer >= 1 or null. Received: ema_overwrite_frequency={f}.", nameof(emaOverwriteFrequency));
        }
        int clipArgs = (clipnorm is null ? 0 : 1) + (clipvalue is null ? 0 : 1) + (globalClipnorm is null ? 0 : 1);
        if (clipArgs > 1)
            throw new ArgumentException(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. " +
                $"Received: clipnorm={Show(clipnorm)}, clipvalue={Show(clipvalue)}, global_clipnorm={Show(globalClipnorm)}.");

        Name = name ?? Naming.Uniquify(Naming.ToSnakeCase(ClassName));
        WeightDecay = weightDecay;
        Clipnorm = clipnorm;
        Clipvalue = clipvalue;
        GlobalClipnorm = globalClipnorm;
        UseEma = useEma;
        EmaMomentum = emaMomentum;
        EmaOverwriteFrequency = emaOverwriteFrequency;
        LossScaleFactor = lossScaleFactor;
        GradientAccumulationSteps = gradientAccumulationSteps;

        // Keras creates `iteration` first, then `learning_rate` unless a schedule is given.
        _iterationVariable = AddHostScalar("iteration", ScalarType.Int64, () => _iterations, v => _iterations = checked((long)Math.Round(v)));
        if (learningRate.Schedule is { } schedule)
        {
            _schedule = schedule;
        }
        else
        {
            _learningRate = learningRate.Value;
            _learningRateVariable = AddHostScalar("learning_rate", ScalarType.Float32, () => _learningRate, v => _learningRate = v);
        }
    }

    private static string Show(double? v) => v is double d ? d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "None";

    /// <summary>The optimizer's name, the prefix of its variables' paths.</summary>
    public string Name { get; }

    /// <summary>Keras' class name, e.g. <c>Adam</c>.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>
    /// Number of updates applied (Keras' <c>optimizer.iterations</c>): the number of <see cref="ApplyGradients"/>
    /// calls, divided (floor) by <see cref="GradientAccumulationSteps"/> when accumulating.
    /// </summary>
    public long Iterations => AccumulationSteps is int s ? _iterations / s : _iterations;

    /// <summary>
    /// The current learning rate: the constant, or the schedule evaluated at the raw step counter (every
    /// <see cref="ApplyGradients"/> call counts, as in Keras).
    /// </summary>
    /// <exception cref="InvalidOperationException">Setting it when the optimizer was created with a schedule.</exception>
    /// <exception cref="ArgumentException">Setting a NaN or infinite value.</exception>
    public double LearningRate
    {
        get => _schedule?.Call(_iterations) ?? _learningRate;
        set
        {
            if (_schedule is not null)
                throw new InvalidOperationException(
                    $"Optimizer '{Name}' was created with a LearningRateSchedule ({_schedule.ClassName}) as its learning rate, hence its learning " +
                    "rate is not settable. Create the optimizer with a constant learning rate to be able to set it.");
            if (!double.IsFinite(value))
                throw new ArgumentException($"LearningRate: expected a finite number, got {value}.", nameof(value));
            _learningRate = value;
        }
    }

    /// <summary>The learning rate schedule, or <c>null</c> for a constant learning rate.</summary>
    public LearningRateSchedule? LearningRateSchedule => _schedule;

    /// <summary>Decoupled weight decay factor, or <c>null</c>.</summary>
    public double? WeightDecay { get; }

    /// <summary>Per-variable gradient norm clip, or <c>null</c>.</summary>
    public double? Clipnorm { get; }

    /// <summary>Element-wise gradient clip, or <c>null</c>.</summary>
    public double? Clipvalue { get; }

    /// <summary>Global gradient norm clip, or <c>null</c>.</summary>
    public double? GlobalClipnorm { get; }

    /// <summary>Whether a moving average of the weights is kept.</summary>
    public bool UseEma { get; }

    /// <summary>EMA momentum.</summary>
    public double EmaMomentum { get; }

    /// <summary>Overwrite the weights with their EMA every this many updates, or <c>null</c>.</summary>
    public int? EmaOverwriteFrequency { get; }

    /// <summary>Loss scale factor, or <c>null</c>.</summary>
    public double? LossScaleFactor { get; }

    /// <summary>Gradient accumulation steps, or <c>null</c>.</summary>
    public int? GradientAccumulationSteps { get; }

    /// <summary>Whether the optimizer has created its state for a list of weights.</summary>
    public bool Built { get; private set; }

    /// <summary>The weights the optimizer was built for, in order.</summary>
    public IReadOnlyList<Variable> TrainableVariables => _trainable;

    private int? AccumulationSteps => GradientAccumulationSteps is int s && s != 0 ? s : null;
    private int? OverwriteFrequency => EmaOverwriteFrequency is int f && f != 0 ? f : null;

    /// <summary>
    /// The optimizer's variables in Keras' order and naming, for saving and for counting: <c>{name}/iteration</c>,
    /// <c>{name}/learning_rate</c> (only without a schedule), then the per-weight slots created when built, named
    /// <c>{name}/{weight path with '/' → '_'}_{slot}</c> (for Adam <c>…_momentum</c>, <c>…_velocity</c>, interleaved
    /// per weight). The tensors are the live state: read them, do not dispose or modify them (use
    /// <see cref="SetVariableValues"/> to load state).
    /// </summary>
    public IReadOnlyList<(string Path, Tensor Value)> Variables
    {
        get
        {
            var list = new List<(string, Tensor)>(_variables.Count);
            foreach (var v in _variables)
            {
                v.Refresh();
                list.Add((v.Path, v.Value));
            }
            return list;
        }
    }

    /// <summary>Total number of elements in <see cref="Variables"/> (Keras' <c>count_params(optimizer.variables)</c>).</summary>
    public long VariableCount => _variables.Sum(v => v.Value.numel());

    /// <summary>The per-weight moving averages when <see cref="UseEma"/> (Keras' <c>_model_variables_moving_average</c>), else empty.</summary>
    public IReadOnlyList<OptimizerVariable> MovingAverages => _averages ?? [];

    /// <summary>The per-weight gradient accumulators when accumulating gradients, else empty.</summary>
    public IReadOnlyList<OptimizerVariable> GradientAccumulators => _accumulators ?? [];

    /// <summary>
    /// Creates the optimizer's state for <paramref name="variables"/> (Keras' <c>build</c>); called by the first
    /// <see cref="ApplyGradients"/> if not before. Does nothing if already built.
    /// </summary>
    /// <param name="variables">The weights to optimize, in order.</param>
    /// <exception cref="ArgumentException">A weight appears twice.</exception>
    public void Build(IReadOnlyList<Variable> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        if (Built) return;
        var indices = new Dictionary<Variable, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < variables.Count; i++)
        {
            var v = variables[i] ?? throw new ArgumentException($"variables[{i}] is null.", nameof(variables));
            if (!indices.TryAdd(v, i))
                throw new ArgumentException($"Variable '{v.Path}' appears more than once in the list given to optimizer '{Name}'.", nameof(variables));
        }
        _trainable = variables.ToArray();
        _indices = indices;
        _slotsByVariable = _trainable.Select(_ => new List<OptimizerVariable>()).ToArray();
        _devices = _trainable.Select(v => (v.Value.device_type, v.Value.device_index)).ToArray();
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            if (UseEma) _averages = AddOptimizerVariables(_trainable, "average");
            if (AccumulationSteps is not null) _accumulators = AddOptimizerVariables(_trainable, "gradient_accumulator");
            BuildVariables(_trainable);
        }
        Built = true;
    }

    /// <summary>
    /// Applies one step (Keras' <c>apply</c> / <c>apply_gradients</c>). Builds the optimizer on the first call.
    /// Gradients that are <c>null</c> are skipped (their weights are not updated); gradients are cast to their
    /// weight's dtype. See the class summary for the order of operations.
    /// </summary>
    /// <param name="gradients">One gradient per weight, or <c>null</c>.</param>
    /// <param name="variables">The weights, in the order the optimizer was built with (any subset after the first call).</param>
    /// <exception cref="ArgumentException">Counts differ, every gradient is null, a gradient's shape differs from its
    /// weight's, or a weight is unknown to a built optimizer.</exception>
    public void ApplyGradients(IReadOnlyList<Tensor?> gradients, IReadOnlyList<Variable> variables)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(variables);
        if (gradients.Count != variables.Count)
            throw new ArgumentException($"Expected one gradient per variable; got {gradients.Count} gradients for {variables.Count} variables.", nameof(gradients));
        if (gradients.Count == 0) return;

        // Validate everything before any side effect (building included).
        var grads = new List<Tensor>(gradients.Count);
        var vars = new List<Variable>(gradients.Count);
        for (int i = 0; i < gradients.Count; i++)
        {
            var v = variables[i] ?? throw new ArgumentException($"variables[{i}] is null.", nameof(variables));
            if (Built && !_indices.ContainsKey(v))
                throw new ArgumentException(
                    $"Unknown variable: {v}. Optimizer '{Name}' can only be called for the variables it was originally built with; " +
                    "for a new set of variables create a new optimizer.", nameof(variables));
            var g = gradients[i];
            if (g is null) continue;
            if (!g.shape.SequenceEqual(v.Value.shape))
                throw new ArgumentException(
                    $"Gradient for variable '{v.Path}' has shape {Keras.Rnn.Shape.Format(g.shape.Select(d => (int?)d).ToArray())}, " +
                    $"expected {Keras.Rnn.Shape.Format(v.Value.shape.Select(d => (int?)d).ToArray())}.", nameof(gradients));
            grads.Add(g);
            vars.Add(v);
        }
        if (grads.Count == 0)
            throw new ArgumentException("No gradients provided for any variable.", nameof(gradients));
        if (!Built) Build(variables);
        var idx = new List<int>(vars.Count);
        foreach (var v in vars) idx.Add(_indices[v]);
        if (grads.Count < gradients.Count && !_warnedMissingGradients)
        {
            // Keras warns (Python shows a warning once per call site); we notify once per optimizer.
            _warnedMissingGradients = true;
            var missing = Enumerable.Range(0, gradients.Count).Where(i => gradients[i] is null).Select(i => variables[i].Path);
            KerasConfig.Logger?.Invoke($"Gradients do not exist for variables [{string.Join(", ", missing)}] when minimizing the loss " +
                                       $"(optimizer '{Name}'); they are not updated.");
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        FollowVariableDevices();

        for (int i = 0; i < grads.Count; i++)
        {
            var dtype = vars[i].Value.dtype;
            if (grads[i].dtype != dtype) grads[i] = grads[i].to(dtype);
            if (LossScaleFactor is double scale) grads[i] = grads[i].div(scale);
        }

        double lr = LearningRate;
        if (AccumulationSteps is int steps)
        {
            var acc = _accumulators!;
            if ((_iterations + 1) % steps == 0)
            {
                for (int i = 0; i < grads.Count; i++)
                    grads[i] = grads[i].add(acc[idx[i]].Value).div_(steps);
                var clipped = ClipGradients(grads);
                ApplyWeightDecay(vars, lr);
                UpdateSteps(clipped, vars, idx, lr);
                foreach (var a in acc) a.Value.zero_();
            }
            else
            {
                for (int i = 0; i < grads.Count; i++)
                    acc[idx[i]].Value.add_(grads[i]);
            }
        }
        else
        {
            var clipped = ClipGradients(grads);
            ApplyWeightDecay(vars, lr);
            UpdateSteps(clipped, vars, idx, lr);
        }

        if (UseEma)
        {
            UpdateMovingAverages();
            if (OverwriteFrequency is int f && (Iterations + 1) % f == 0)
                OverwriteWithMovingAverages(_trainable);
        }

        foreach (var v in vars)
        {
            if (v.Constraint is null) continue;
            var projected = v.Constraint.Call(v.Value);
            v.Value.copy_(projected);
        }

        // Every variable this step may have changed (updates, weight decay, constraints): derived copies are stale. (A
        // moving-average overwrite marks the variables it writes itself.)
        foreach (var v in vars) v.MarkModified();

        _iterations++;
    }

    /// <summary>
    /// Replaces the weights with their moving averages when <see cref="UseEma"/> (Keras'
    /// <c>finalize_variable_values</c>, which <c>fit</c> calls after the last epoch); does nothing otherwise.
    /// </summary>
    /// <param name="variables">The weights, in the order the optimizer was built with (default: those weights).</param>
    /// <exception cref="ArgumentException">The count differs from the weights the optimizer was built with.</exception>
    /// <exception cref="InvalidOperationException">EMA is on but the optimizer was never built.</exception>
    public void FinalizeVariableValues(IReadOnlyList<Variable>? variables = null)
    {
        if (!UseEma) return;
        if (!Built)
            throw new InvalidOperationException($"Optimizer '{Name}' has not been built: it holds no moving averages to finalize with.");
        variables ??= _trainable;
        if (variables.Count != _trainable.Length)
            throw new ArgumentException(
                $"The number of model variables ({variables.Count}) does not match the number of variables stored in optimizer '{Name}' ({_trainable.Length}).",
                nameof(variables));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        FollowVariableDevices();
        OverwriteWithMovingAverages(variables);
    }

    /// <summary>The loss multiplied by <see cref="LossScaleFactor"/> (Keras' <c>scale_loss</c>), or the loss itself.</summary>
    /// <param name="loss">The loss.</param>
    public Tensor ScaleLoss(Tensor loss) => LossScaleFactor is double s ? loss.mul(s) : loss;

    /// <summary>
    /// Excludes weights from weight decay (Keras' <c>exclude_from_weight_decay</c>). Each call replaces the previous
    /// exclusions.
    /// </summary>
    /// <param name="variables">Weights to exclude (default none).</param>
    /// <param name="varNames">Regular expressions; a weight whose <see cref="Variable.Name"/> matches any is excluded
    /// (e.g. <c>["bias"]</c>) (default none).</param>
    /// <exception cref="ArgumentException">A name pattern is not a valid regular expression.</exception>
    public void ExcludeFromWeightDecay(IEnumerable<Variable>? variables = null, IEnumerable<string>? varNames = null)
    {
        _excludedVariables = new HashSet<Variable>(variables ?? [], ReferenceEqualityComparer.Instance);
        var names = varNames?.Distinct().ToArray() ?? [];
        try
        {
            _excludedNames = names.Length > 0 ? new Regex(string.Join("|", names), RegexOptions.CultureInvariant) : null;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"varNames: invalid pattern in [{string.Join(", ", names)}]: {e.Message}", nameof(varNames), e);
        }
        _weightDecayCache.Clear();
    }

    /// <summary>
    /// Loads the optimizer's state (Keras' <c>set_weights</c> / <c>load_own_variables</c>): one tensor per entry of
    /// <see cref="Variables"/>, in the same order and shapes.
    /// </summary>
    /// <param name="values">The values.</param>
    /// <exception cref="InvalidOperationException">The optimizer is not built.</exception>
    /// <exception cref="ArgumentException">The count or a shape differs.</exception>
    public void SetVariableValues(IReadOnlyList<Tensor> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!Built)
            throw new InvalidOperationException(
                $"You are calling SetVariableValues() on optimizer '{Name}', which has not yet been built. Call Build(trainableVariables) first.");
        if (values.Count != _variables.Count)
            throw new ArgumentException($"Optimizer '{Name}' has {_variables.Count} variables; got {values.Count} values.", nameof(values));
        for (int i = 0; i < values.Count; i++)
        {
            var want = _variables[i].Value.shape;
            if (!values[i].shape.SequenceEqual(want))
                throw new ArgumentException(
                    $"Optimizer variable '{_variables[i].Path}' has shape {Keras.Rnn.Shape.Format(want.Select(d => (int?)d).ToArray())}, " +
                    $"got {Keras.Rnn.Shape.Format(values[i].shape.Select(d => (int?)d).ToArray())}.", nameof(values));
        }
        for (int i = 0; i < values.Count; i++) _variables[i].Load(values[i]);
    }

    /// <summary>Moves all of the optimizer's state to <paramref name="device"/>.</summary>
    /// <param name="device">The device.</param>
    internal void MoveStateTo(Device device)
    {
        foreach (var v in _variables) v.MoveTo(device);
        // Record where each weight's slots now are; a weight living elsewhere gets them back at its next step.
        for (int i = 0; i < _slotsByVariable.Length; i++)
            if (_slotsByVariable[i].Count > 0)
                _devices[i] = (_slotsByVariable[i][0].Value.device_type, _slotsByVariable[i][0].Value.device_index);
    }

    /// <summary>Keras' config: <c>name</c>, <c>learning_rate</c>, <c>weight_decay</c>, <c>clipnorm</c>,
    /// <c>global_clipnorm</c>, <c>clipvalue</c>, <c>use_ema</c>, <c>ema_momentum</c>, <c>ema_overwrite_frequency</c>,
    /// <c>loss_scale_factor</c>, <c>gradient_accumulation_steps</c>, then the optimizer's own keys.</summary>
    /// <remarks>A constant learning rate appears as Keras stores it, in float32 (0.001 → 0.0010000000474974513); a
    /// schedule as its serialized form.</remarks>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() => BaseConfig();

    /// <summary>The base part of <see cref="GetConfig"/>, for subclasses to extend.</summary>
    protected Dictionary<string, object?> BaseConfig() => new()
    {
        ["name"] = Name,
        ["learning_rate"] = _schedule is not null ? _schedule.Serialize() : (double)(float)_learningRate,
        ["weight_decay"] = WeightDecay,
        ["clipnorm"] = Clipnorm,
        ["global_clipnorm"] = GlobalClipnorm,
        ["clipvalue"] = Clipvalue,
        ["use_ema"] = UseEma,
        ["ema_momentum"] = EmaMomentum,
        ["ema_overwrite_frequency"] = EmaOverwriteFrequency,
        ["loss_scale_factor"] = LossScaleFactor,
        ["gradient_accumulation_steps"] = GradientAccumulationSteps,
    };

    /// <summary>
    /// A new optimizer with Keras' defaults from a Keras identifier: <c>"sgd"</c>, <c>"adam"</c>, <c>"adamw"</c>,
    /// <c>"rmsprop"</c>, <c>"adagrad"</c>, <c>"nadam"</c>, case-insensitive (so <c>"Adam"</c>, <c>"RMSprop"</c>).
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier.</exception>
    public static Optimizer Get(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return identifier.Trim().ToLowerInvariant() switch
        {
            "sgd" => new SGD(),
            "adam" => new Adam(),
            "adamw" => new AdamW(),
            "rmsprop" => new RMSprop(),
            "adagrad" => new Adagrad(),
            "nadam" => new Nadam(),
            _ => throw new ArgumentException(
                $"Could not interpret optimizer identifier: '{identifier}'. Known: {string.Join(", ", KnownIdentifiers)} (case-insensitive).",
                nameof(identifier)),
        };
    }

    /// <summary>Converts a Keras identifier (see <see cref="Get"/>).</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Optimizer(string identifier) => Get(identifier);

    /// <inheritdoc />
    public override string ToString() => $"<{ClassName} name={Name}, learning_rate={(_schedule is null ? _learningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : _schedule.ClassName)}>";

    // ----------------------------------------------------------------------------------------------------------
    // For subclasses

    /// <summary>Creates the optimizer's own state (Keras' <c>build</c> after the base part), typically with
    /// <see cref="AddOptimizerVariables(IReadOnlyList{Variable}, string, double)"/>.</summary>
    /// <param name="variables">The weights, in order; a weight's index in this list is the <c>variableIndex</c> of
    /// <see cref="UpdateStep"/>.</param>
    protected abstract void BuildVariables(IReadOnlyList<Variable> variables);

    /// <summary>
    /// Updates one weight in place (Keras' <c>update_step</c>); runs under <c>torch.no_grad()</c> inside a dispose
    /// scope. The gradient is already cast, unscaled, accumulated and clipped, and weight decay already applied.
    /// </summary>
    /// <param name="gradient">The gradient (the weight's dtype and shape).</param>
    /// <param name="variable">The weight.</param>
    /// <param name="variableIndex">The weight's index in the list the optimizer was built with.</param>
    /// <param name="learningRate">The current learning rate.</param>
    protected abstract void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate);

    /// <summary>Runs <see cref="UpdateStep"/> for each weight (Keras' <c>_backend_update_step</c>); override to do
    /// per-step work once before the per-weight updates.</summary>
    /// <param name="gradients">The gradients.</param>
    /// <param name="variables">The weights.</param>
    /// <param name="variableIndices">Each weight's index in the list the optimizer was built with.</param>
    /// <param name="learningRate">The current learning rate.</param>
    protected virtual void UpdateSteps(IReadOnlyList<Tensor> gradients, IReadOnlyList<Variable> variables, IReadOnlyList<int> variableIndices, double learningRate)
    {
        for (int i = 0; i < gradients.Count; i++)
            UpdateStep(gradients[i], variables[i], variableIndices[i], learningRate);
    }

    /// <summary>
    /// Adds one slot per weight (Keras' <c>add_optimizer_variables</c>), shaped and typed like the weight, on its
    /// device, filled with <paramref name="initialValue"/>, named <c>{name}/{weight path with '/' → '_'}_{slotName}</c>.
    /// </summary>
    /// <param name="variables">The weights.</param>
    /// <param name="slotName">The slot's name, e.g. <c>momentum</c>.</param>
    /// <param name="initialValue">Initial value (default 0).</param>
    /// <returns>The slots, one per weight, in order.</returns>
    protected IReadOnlyList<OptimizerVariable> AddOptimizerVariables(IReadOnlyList<Variable> variables, string slotName, double initialValue = 0.0) =>
        AddOptimizerVariables(variables, [slotName], initialValue)[0];

    /// <summary>
    /// Adds several slots per weight, interleaved per weight as Keras does (for Adam: kernel momentum, kernel
    /// velocity, bias momentum, bias velocity).
    /// </summary>
    /// <param name="variables">The weights.</param>
    /// <param name="slotNames">The slots' names.</param>
    /// <param name="initialValue">Initial value (default 0).</param>
    /// <returns>One list per slot name, each with one slot per weight.</returns>
    protected IReadOnlyList<IReadOnlyList<OptimizerVariable>> AddOptimizerVariables(IReadOnlyList<Variable> variables, IReadOnlyList<string> slotNames,
                                                                                    double initialValue = 0.0)
    {
        var lists = slotNames.Select(_ => new List<OptimizerVariable>(variables.Count)).ToArray();
        foreach (var variable in variables)
        {
            int index = _indices.TryGetValue(variable, out var k) ? k : -1;
            for (int j = 0; j < slotNames.Count; j++)
            {
                Tensor value;
                using (torch.no_grad())
                    value = torch.full_like(variable.Value, initialValue);
                var slot = new OptimizerVariable($"{Name}/{variable.Path.Replace('/', '_')}_{slotNames[j]}", value, variable);
                _variables.Add(slot);
                if (index >= 0) _slotsByVariable[index].Add(slot);
                lists[j].Add(slot);
            }
        }
        return lists;
    }

    /// <summary>
    /// Adds a scalar optimizer variable whose value the optimizer keeps on the host (no device round trip in the
    /// step); its tensor is refreshed when <see cref="Variables"/> is read and loaded by <see cref="SetVariableValues"/>.
    /// </summary>
    /// <param name="name">The variable's name (path <c>{optimizer name}/{name}</c>).</param>
    /// <param name="dtype">The tensor's dtype.</param>
    /// <param name="getter">Reads the host value.</param>
    /// <param name="setter">Writes the host value.</param>
    protected OptimizerVariable AddHostScalar(string name, ScalarType dtype, Func<double> getter, Action<double> setter)
    {
        Tensor value;
        using (torch.no_grad())
            value = torch.zeros([], dtype);
        var v = new OptimizerVariable($"{Name}/{name}", value, null, getter, setter);
        v.Refresh();
        _variables.Add(v);
        return v;
    }

    // ----------------------------------------------------------------------------------------------------------

    private void FollowVariableDevices()
    {
        for (int i = 0; i < _trainable.Length; i++)
        {
            var value = _trainable[i].Value;
            var type = value.device_type;
            var index = value.device_index;
            if (_devices[i].Type == type && _devices[i].Index == index) continue;
            foreach (var slot in _slotsByVariable[i]) slot.MoveToDeviceOf(value);
            _devices[i] = (type, index);
        }
    }

    private List<Tensor> ClipGradients(List<Tensor> grads)
    {
        if (Clipnorm is double cn && cn > 0)
        {
            var result = new List<Tensor>(grads.Count);
            foreach (var g in grads)
            {
                var norm = g.square().sum().sqrt_();
                result.Add(g.mul(cn).div_(norm.clamp_min_(cn)));
            }
            return result;
        }
        if (GlobalClipnorm is double gn && gn > 0)
        {
            var first = grads[0];
            var squares = new Tensor[grads.Count];
            for (int i = 0; i < grads.Count; i++)
            {
                var s = grads[i].square().sum();
                if (s.dtype != first.dtype || s.device_type != first.device_type || s.device_index != first.device_index)
                    s = s.to(first.dtype, first.device);
                squares[i] = s;
            }
            var norm = torch.stack(squares).sum().sqrt_();
            // clip · min(1/norm, 1/clip), plus (norm − norm) so that an infinite or NaN norm gives NaN, as Keras.
            var scale = norm.reciprocal().clamp_max_(1.0 / gn).mul_(gn).add_(norm.sub(norm));
            var result = new List<Tensor>(grads.Count);
            foreach (var g in grads)
            {
                var sc = scale;
                if (g.device_type != scale.device_type || g.device_index != scale.device_index || g.dtype != scale.dtype)
                    sc = scale.to(g.dtype, g.device);
                result.Add(g.mul(sc));
            }
            return result;
        }
        if (Clipvalue is double cv && cv > 0)
            return grads.Select(g => g.clamp(-cv, cv)).ToList();
        return grads;
    }

    private void ApplyWeightDecay(List<Variable> vars, double lr)
    {
        if (WeightDecay is not double wd) return;
        double factor = 1.0 - wd * lr;
        using Scalar f = factor;
        foreach (var v in vars)
            if (UsesWeightDecay(v)) v.Value.mul_(f);
    }

    private bool UsesWeightDecay(Variable v)
    {
        if (_weightDecayCache.TryGetValue(v, out var use)) return use;
        use = !_excludedVariables.Contains(v) && (_excludedNames is null || !_excludedNames.IsMatch(v.Name));
        _weightDecayCache[v] = use;
        return use;
    }

    private void UpdateMovingAverages()
    {
        // Keras: the average starts at the weights after the first update (momentum 0 at iteration 0).
        double momentum = Iterations != 0 ? EmaMomentum : 0.0;
        using Scalar m = momentum;
        using Scalar oneMinus = 1.0 - momentum;
        var averages = _averages!;
        for (int i = 0; i < _trainable.Length; i++)
            averages[i].Value.mul_(m).add_(_trainable[i].Value, oneMinus);
    }

    private void OverwriteWithMovingAverages(IReadOnlyList<Variable> variables)
    {
        var averages = _averages!;
        for (int i = 0; i < variables.Count; i++)
        {
            variables[i].Value.copy_(averages[i].Value);
            variables[i].MarkModified();
        }
    }
}
