using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Keras.Rnn.Backend;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// The base class of every layer (Keras' <c>keras.layers.Layer</c>). A layer owns weights
/// (<see cref="Variable"/>s in Keras' layout), is built lazily from the shape of its first input, and is called
/// either on symbolic tensors (functional API, <see cref="Apply(KerasTensors, KerasTensors?, KerasTensors?, bool?, IReadOnlyDictionary{string, object?}?)"/>)
/// or on real tensors (<see cref="Apply(Tensor, Tensor?, bool)"/>).
/// </summary>
/// <remarks>
/// To write a custom layer, subclass <see cref="Layer"/>: create weights in <see cref="BuildCore"/> with
/// <see cref="AddWeight"/>, compute in <see cref="Call(Tensor, CallContext)"/> (one input, one output) or
/// <see cref="CallAll"/> (several), and override <see cref="ComputeOutputShapes"/> when the output shape is not the
/// input shape. <see cref="Lambda"/> wraps a plain function.
/// </remarks>
/// <example>
/// <code>
/// public sealed class Scale : Layer
/// {
///     private Variable? _alpha;
///     public Scale(string? name = null) : base(name) { }
///     protected override void BuildCore(IReadOnlyList&lt;Shape&gt; inputShapes) =>
///         _alpha = AddWeight("alpha", [inputShapes[0][-1]!.Value], initializer: "ones");
///     protected override Tensor Call(Tensor inputs, CallContext context) => inputs * _alpha!.Value;
/// }
/// </code>
/// </example>
public abstract class Layer
{
    private readonly List<Variable> _trainableVariables = [];
    private readonly List<Variable> _nonTrainableVariables = [];
    private readonly List<Layer> _layers = [];
    private bool _trainable;
    private string _name;
    private static readonly ConditionalWeakTable<Tensor, Tensor> EagerMasks = new();

    /// <summary>Creates the layer.</summary>
    /// <param name="name">Name; default: the snake_case class name made unique (<c>lstm</c>, <c>lstm_1</c>, ...).</param>
    /// <param name="trainable">Whether the layer's weights are updated by training (default <c>true</c>).</param>
    protected Layer(string? name = null, bool trainable = true)
    {
        NativeLibraries.EnsureLoaded();
        _name = string.IsNullOrEmpty(name) ? Naming.Uniquify(DefaultNameBase()) : name;
        _trainable = trainable;
    }

    /// <summary>The base of automatic names; Keras uses the snake_case class name.</summary>
    private protected virtual string DefaultNameBase() => Naming.ToSnakeCase(GetType().Name);

    /// <summary>The layer's name, unique within a model.</summary>
    public string Name
    {
        get => _name;
        internal set => _name = value;
    }

    /// <summary>
    /// Whether training updates this layer's weights. Setting it sets every weight and sub-layer too, as in Keras.
    /// Change it before <c>Compile</c> (or compile again) for it to take effect.
    /// </summary>
    public virtual bool Trainable
    {
        get => _trainable;
        set
        {
            _trainable = value;
            foreach (var v in _trainableVariables) v.Trainable = value;
            foreach (var l in _layers) l.Trainable = value;
        }
    }

    /// <summary>
    /// The dtypes the layer computes in and stores its weights in (Keras' <c>dtype_policy</c>). Default: the global
    /// policy when the layer was created (<see cref="DTypePolicies.MixedPrecision.GlobalPolicy"/>, normally
    /// <c>"float32"</c>). Under a mixed policy the layer casts its floating inputs to the compute dtype and reads its
    /// float32 weights in that dtype during its call.
    /// </summary>
    public DTypePolicies.DTypePolicy DTypePolicy { get; set; } = DTypePolicies.MixedPrecision.GlobalPolicy();

    /// <summary>The dtype of the layer's computations (Keras' <c>compute_dtype</c>), from <see cref="DTypePolicy"/>.</summary>
    public string ComputeDType => DTypePolicy.ComputeDType;

    /// <summary>
    /// Whether the layer casts its floating inputs to <see cref="ComputeDType"/> and, under a mixed policy, reads its
    /// weights in it during its call (Keras' <c>autocast</c>; default <c>true</c>). A layer that needs exact inputs
    /// turns it off (e.g. <see cref="Embedding"/>: float token ids above 2048 do not survive float16).
    /// </summary>
    public bool Autocast { get; protected set; } = true;

    /// <summary>Whether the weights exist (the layer has seen an input shape).</summary>
    public bool Built { get; protected set; }

    /// <summary>Whether the layer passes masks on (<see cref="ComputeMask"/>); a layer that does not drops them.</summary>
    public bool SupportsMasking { get; protected set; }

    /// <summary>
    /// Input shape without the batch dimension, for the first layer of a <see cref="Models.Sequential"/> model
    /// (Keras' <c>input_shape</c> argument). Default <c>null</c>.
    /// </summary>
    public Shape? InputShape { get; init; }

    /// <summary>Fixed batch size for the first layer of a <see cref="Models.Sequential"/> model (needed by stateful layers). Default <c>null</c>.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Dtype of the input declared with <see cref="InputShape"/> (default <c>"float32"</c>; token ids: <c>"int32"</c>).</summary>
    public string InputDType { get; init; } = "float32";

    /// <summary>What the layer accepts as input, checked at every call (<c>null</c>: anything). One spec per positional input, or one for all.</summary>
    public IReadOnlyList<InputSpec>? InputSpecs { get; protected set; }

    /// <summary>Sets a single <see cref="InputSpec"/> for the first input.</summary>
    protected InputSpec? InputSpec
    {
        set => InputSpecs = value is null ? null : [value];
    }

    /// <summary>A penalty on the layer's output added to the loss during training (Keras' <c>activity_regularizer</c>). Default <c>null</c>.</summary>
    public Regularizer? ActivityRegularizer { get; init; }

    /// <summary>The calls of this layer on symbolic tensors, in order.</summary>
    internal List<Node> InboundNodes { get; } = [];

    /// <summary>Shapes of the inputs the layer was built with (batch first), once built.</summary>
    public IReadOnlyList<Shape>? BuildInputShapes { get; private set; }

    // ---------------------------------------------------------------- weights

    /// <summary>All weights: own trainable, own non-trainable, then sub-layers' (Keras' order).</summary>
    public IReadOnlyList<Variable> Weights
    {
        get
        {
            var result = new List<Variable>();
            var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
            foreach (var v in _trainableVariables.Concat(_nonTrainableVariables))
                if (seen.Add(v)) result.Add(v);
            foreach (var layer in _layers)
                foreach (var v in layer.Weights)
                    if (seen.Add(v)) result.Add(v);
            return result;
        }
    }

    /// <summary>The weights training updates (none when <see cref="Trainable"/> is false).</summary>
    public IReadOnlyList<Variable> TrainableWeights => Trainable ? Weights.Where(v => v.Trainable).ToList() : [];

    /// <summary>The weights training leaves alone.</summary>
    public IReadOnlyList<Variable> NonTrainableWeights => Trainable ? Weights.Where(v => !v.Trainable).ToList() : Weights;

    /// <summary>Total number of weight elements.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public long CountParams()
    {
        if (!Built)
            throw new InvalidOperationException(
                $"You tried to call CountParams on layer '{Name}', but the layer isn't built. Call it on an input (or call Build) first.");
        return Weights.Sum(v => v.Size);
    }

    /// <summary>The weights as .NET arrays, in Keras' order and layout (e.g. <c>float[,]</c> kernels, <c>float[]</c> biases).</summary>
    public Array[] GetWeights() => Weights.Select(v => v.ToArray()).ToArray();

    /// <summary>The weights as detached CPU tensors, in Keras' order and layout.</summary>
    public Tensor[] GetWeightTensors() => Weights.Select(v => v.ToTensor()).ToArray();

    /// <summary>Sets the weights from .NET arrays in Keras' order and layout.</summary>
    /// <param name="weights">One array per weight, shapes as <see cref="GetWeights"/> returns them (a scalar weight as a one-element array).</param>
    /// <exception cref="ArgumentException">The count or a shape differs; the message names the weight.</exception>
    public void SetWeights(IReadOnlyList<Array> weights)
    {
        var vars = CheckCount(weights.Count);
        for (int i = 0; i < vars.Count; i++)
        {
            using var t = ArrayConversion.ToTensor(weights[i], $"weight {i} of layer '{Name}'");
            // .NET has no rank-0 arrays: GetWeights returns a scalar weight (shape ()) as a one-element array.
            using var value = vars[i].Shape.Length == 0 && t.shape.SequenceEqual([1L]) ? t.reshape([]) : t.alias();
            AssignChecked(vars[i], value, i);
        }
    }

    /// <summary>Sets the weights from tensors in Keras' order and layout.</summary>
    /// <param name="weights">One tensor per weight.</param>
    /// <exception cref="ArgumentException">The count or a shape differs.</exception>
    public void SetWeights(IReadOnlyList<Tensor> weights)
    {
        var vars = CheckCount(weights.Count);
        for (int i = 0; i < vars.Count; i++) AssignChecked(vars[i], weights[i], i);
    }

    private IReadOnlyList<Variable> CheckCount(int count)
    {
        var vars = Weights;
        if (vars.Count != count)
            throw new ArgumentException(
                $"Layer '{Name}' ({GetType().Name}) expects {vars.Count} weights ({string.Join(", ", vars.Select(v => v.Path))}), but received {count}.");
        return vars;
    }

    private void AssignChecked(Variable v, Tensor value, int index)
    {
        if (!value.shape.SequenceEqual(v.Shape))
            throw new ArgumentException(
                $"Layer '{Name}' weight {index} ('{v.Path}') has shape {Shape.Of(v.Shape)}, but the value given has shape {Shape.Of(value.shape)}.");
        v.Assign(value);
    }

    /// <summary>Creates a weight (Keras' <c>add_weight</c>) on the default device.</summary>
    /// <param name="name">Name, e.g. <c>kernel</c>.</param>
    /// <param name="shape">Shape in Keras layout.</param>
    /// <param name="initializer">Initial values (default <c>"glorot_uniform"</c>; <c>"zeros"</c> is typical for biases).</param>
    /// <param name="regularizer">Loss penalty (default none).</param>
    /// <param name="constraint">Projection after updates (default none).</param>
    /// <param name="trainable">Whether training updates it (default <c>true</c>).</param>
    protected Variable AddWeight(string name, long[] shape, Initializer? initializer = null, Regularizer? regularizer = null,
        Constraint? constraint = null, bool trainable = true)
    {
        initializer ??= new GlorotUniform();
        using var value = initializer.Call(shape);
        if (!value.shape.SequenceEqual(shape))
            throw new InvalidOperationException($"Initializer {initializer.ClassName} returned shape {Shape.Of(value.shape)} for weight '{name}' of shape {Shape.Of(shape)}.");
        using var placed = value.to(Devices.Resolve(KerasConfig.DefaultDevice));
        var path = NameScope.Current is { } scope && scope.EndsWith(Name, StringComparison.Ordinal) ? $"{scope}/{name}" : $"{Name}/{name}";
        var variable = new Variable(name, path, placed, trainable && _trainable, regularizer, constraint);
        (trainable ? _trainableVariables : _nonTrainableVariables).Add(variable);
        return variable;
    }

    /// <summary>Registers a sub-layer so its weights count as this layer's (Keras tracks attributes automatically).</summary>
    /// <typeparam name="T">Layer type.</typeparam>
    /// <param name="layer">The sub-layer.</param>
    /// <returns>The same layer.</returns>
    protected T TrackLayer<T>(T layer) where T : Layer
    {
        if (!_layers.Contains(layer)) _layers.Add(layer);
        return layer;
    }

    /// <summary>Stops tracking a sub-layer.</summary>
    /// <param name="layer">The sub-layer.</param>
    protected void UntrackLayer(Layer layer) => _layers.Remove(layer);

    /// <summary>The sub-layers this layer tracks.</summary>
    internal IReadOnlyList<Layer> TrackedLayers => _layers;

    /// <summary>Regularization penalties of this layer's and its sub-layers' weights, as scalar tensors.</summary>
    public IReadOnlyList<Tensor> RegularizationLosses() =>
        Weights.Where(v => v.Regularizer != null).Select(v => v.Regularizer!.Call(v.Value)).ToList();

    /// <summary>Applies each weight's constraint after an update.</summary>
    internal static void ApplyConstraints(IEnumerable<Variable> variables)
    {
        foreach (var v in variables)
        {
            if (v.Constraint is null) continue;
            using var _ = torch.no_grad();
            using var projected = v.Constraint.Call(v.Value);
            v.Value.copy_(projected);
            v.MarkModified();
        }
    }

    /// <summary>Moves every weight (and sub-layer weight) to <paramref name="device"/>.</summary>
    internal virtual void MoveTo(Device device)
    {
        foreach (var v in Weights) v.MoveTo(device);
    }

    // ---------------------------------------------------------------- building and shapes

    /// <summary>Creates the weights for inputs of this shape (batch first); does nothing when already built.</summary>
    /// <param name="inputShape">The input shape, batch dimension first (<c>null</c> where unknown).</param>
    public void Build(Shape inputShape) => Build([inputShape]);

    /// <summary>Creates the weights for several inputs; does nothing when already built.</summary>
    /// <param name="inputShapes">One shape per positional input, batch first.</param>
    public void Build(IReadOnlyList<Shape> inputShapes)
    {
        if (Built) return;
        CheckInputSpecs(inputShapes);
        NameScope.Push(Name);
        try
        {
            BuildCore(inputShapes);
        }
        catch (Exception e) when (e is not KerasLayerException && e is not ArgumentException && e is not InvalidOperationException)
        {
            throw new KerasLayerException(this, $"building with input shape(s) {string.Join(", ", inputShapes)} failed: {e.Message}", e);
        }
        finally
        {
            NameScope.Pop();
        }
        BuildInputShapes = inputShapes;
        Built = true;
    }

    /// <summary>Creates the layer's weights for the given input shapes (batch first). The default creates none.</summary>
    /// <param name="inputShapes">One shape per positional input.</param>
    protected virtual void BuildCore(IReadOnlyList<Shape> inputShapes) { }

    /// <summary>
    /// The output shapes (batch first) for inputs of these shapes. The default runs the layer on small zero tensors
    /// (twice, with different sizes for unknown dimensions) to find out; built-in layers compute it directly.
    /// </summary>
    /// <param name="inputShapes">One shape per positional input.</param>
    /// <param name="arguments">The call's keyword arguments.</param>
    public virtual IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        SymbolicShapeInference.Infer(this, inputShapes, arguments);

    /// <summary>The output shape for one input of shape <paramref name="inputShape"/> (Keras' <c>compute_output_shape</c>).</summary>
    /// <param name="inputShape">Input shape, batch first.</param>
    public Shape ComputeOutputShape(Shape inputShape) => ComputeOutputShapes([inputShape], CallContext.EmptyArguments)[0];

    /// <summary>The dtypes of the outputs (default: <c>"float32"</c> for every output).</summary>
    /// <param name="inputDTypes">The input dtypes.</param>
    /// <param name="outputCount">How many outputs the call produces.</param>
    protected internal virtual IReadOnlyList<string> ComputeOutputDTypes(IReadOnlyList<string> inputDTypes, int outputCount) =>
        Enumerable.Repeat("float32", outputCount).ToList();

    private void CheckInputSpecs(IReadOnlyList<Shape> shapes)
    {
        if (InputSpecs is not { Count: > 0 } specs) return;
        for (int i = 0; i < shapes.Count; i++)
        {
            var spec = specs.Count == 1 ? (i == 0 ? specs[0] : null) : i < specs.Count ? specs[i] : null;
            spec?.Check(this, i, shapes[i]);
        }
    }

    // ---------------------------------------------------------------- calling

    /// <summary>
    /// The computation for one input and one output. Override this or <see cref="CallAll"/>.
    /// </summary>
    /// <param name="inputs">The input tensor.</param>
    /// <param name="context">Training flag, masks, states and arguments.</param>
    /// <exception cref="InvalidOperationException">The subclass overrides neither method.</exception>
    protected virtual Tensor Call(Tensor inputs, CallContext context) =>
        throw new InvalidOperationException($"Layer class {GetType().Name} must override Call(Tensor, CallContext) or CallAll(...).");

    /// <summary>The computation for any number of inputs and outputs. The default calls <see cref="Call(Tensor, CallContext)"/>.</summary>
    /// <param name="inputs">The positional inputs.</param>
    /// <param name="context">Training flag, masks, states and arguments.</param>
    protected internal virtual IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        if (inputs.Count != 1)
            throw new ArgumentException($"Layer \"{Name}\" ({GetType().Name}) expects 1 input, but it received {inputs.Count} input tensors.");
        return [Call(inputs[0], context)];
    }

    /// <summary>
    /// The masks of the outputs. The default passes the first input's mask to the first output when
    /// <see cref="SupportsMasking"/>, else none.
    /// </summary>
    /// <param name="inputs">The positional inputs.</param>
    /// <param name="context">The call context (its <see cref="CallContext.Masks"/> are the input masks).</param>
    /// <param name="outputCount">Number of outputs.</param>
    protected internal virtual IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount)
    {
        var result = new Tensor?[outputCount];
        if (SupportsMasking && outputCount > 0) result[0] = context.Mask;
        return result;
    }

    /// <summary>Runs the layer on real tensors: casts, builds, checks, calls, computes masks and activity penalties.</summary>
    internal virtual (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(
        IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training,
        IReadOnlyDictionary<string, object?>? arguments, List<Tensor>? losses)
    {
        var cast = CastToComputeDType(inputs);
        using var autocast = EnterAutocast();
        var shapes = cast.Select(t => ShapeWithoutBatch(t)).ToList();
        if (!Built) Build(shapes);
        else CheckInputSpecs(shapes);

        var maskList = masks ?? new Tensor?[cast.Length];
        if (maskList.Count != cast.Length)
        {
            var padded = new Tensor?[cast.Length];
            for (int i = 0; i < Math.Min(maskList.Count, padded.Length); i++) padded[i] = maskList[i];
            maskList = padded;
        }
        var context = new CallContext(training, maskList, initialState, arguments, losses);
        IReadOnlyList<Tensor> outputs;
        try
        {
            outputs = CallAll(cast, context);
        }
        catch (ExternalException e)
        {
            throw new KerasLayerException(this,
                $"the computation failed for input shape(s) {string.Join(", ", cast.Select(t => Shape.Of(t.shape)))}: {FirstLine(e.Message)}", e);
        }
        if (ActivityRegularizer != null && losses != null && training)
        {
            foreach (var o in outputs)
            {
                using var penalty = ActivityRegularizer.Call(o);
                losses.Add(penalty.div(o.shape.Length > 0 ? o.shape[0] : 1));
            }
        }
        var outMasks = ComputeMask(cast, context, outputs.Count);
        return (outputs, outMasks);
    }

    /// <summary>The floating inputs cast to the compute dtype (none when <see cref="Autocast"/> is off), as Keras' <c>__call__</c> converts them.</summary>
    internal Tensor[] CastToComputeDType(IReadOnlyList<Tensor> inputs)
    {
        var computeType = DTypePolicy.ComputeScalarType;
        var cast = new Tensor[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var x = inputs[i];
            cast[i] = Autocast && x.is_floating_point() && x.dtype != computeType ? x.to_type(computeType) : x;
        }
        return cast;
    }

    /// <summary>
    /// The scope of this layer's call: under a mixed policy its weights are read in the compute dtype (Keras'
    /// autocast scope); a float32 layer inside a mixed model reads them as stored. Dispose to leave it.
    /// </summary>
    internal DTypePolicies.AutocastScope.Scope EnterAutocast() =>
        DTypePolicies.AutocastScope.Enter(Autocast && DTypePolicy.IsMixed ? DTypePolicy.ComputeScalarType : null);

    private static string FirstLine(string message)
    {
        var idx = message.IndexOf('\n');
        return idx < 0 ? message : message[..idx];
    }

    /// <summary>A tensor's shape with the batch dimension made unknown (shape used for building).</summary>
    internal static Shape ShapeWithoutBatch(Tensor t)
    {
        var dims = t.shape.Select(d => (int?)checked((int)d)).ToArray();
        if (dims.Length > 0) dims[0] = null;
        return new Shape(dims);
    }

    /// <summary>
    /// Calls the layer on real tensors, for one input and one output (Keras' <c>layer(x)</c> in eager mode).
    /// The output carries its mask on to the next eager call.
    /// </summary>
    /// <param name="inputs">Input tensor, batch first.</param>
    /// <param name="mask">Mask for the input (default: the mask that came with it from a previous eager call).</param>
    /// <param name="training">Training mode, e.g. dropout active (default <c>false</c>).</param>
    /// <returns>The output tensor.</returns>
    /// <exception cref="InvalidOperationException">The layer returns several outputs; use <see cref="ApplyAll"/>.</exception>
    public Tensor Apply(Tensor inputs, Tensor? mask = null, bool training = false)
    {
        var outputs = ApplyAll([inputs], masks: mask is null ? null : [mask], training: training);
        if (outputs.Count != 1)
            throw new InvalidOperationException($"Layer '{Name}' returned {outputs.Count} outputs; use ApplyAll to get them all.");
        return outputs[0];
    }

    /// <summary>Calls the layer on real tensors with any number of inputs, states and outputs.</summary>
    /// <param name="inputs">Positional inputs, batch first.</param>
    /// <param name="initialState">Initial states for recurrent layers (default none).</param>
    /// <param name="masks">One mask per input (default: the masks that came with them from previous eager calls).</param>
    /// <param name="training">Training mode (default <c>false</c>).</param>
    /// <param name="arguments">Extra keyword arguments (default none).</param>
    /// <returns>The outputs; each carries its mask, if any, to the next eager call.</returns>
    public IReadOnlyList<Tensor> ApplyAll(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor>? initialState = null,
        IReadOnlyList<Tensor?>? masks = null, bool training = false, IReadOnlyDictionary<string, object?>? arguments = null)
    {
        masks ??= inputs.Select(t => EagerMasks.TryGetValue(t, out var m) ? m : null).ToList();
        var (outputs, outMasks) = Invoke(inputs, masks, initialState, training, arguments, null);
        for (int i = 0; i < outputs.Count; i++)
            if (outMasks[i] is { } m) EagerMasks.AddOrUpdate(outputs[i], m);
        return outputs;
    }

    /// <summary>The mask an eager call attached to <paramref name="tensor"/>, or <c>null</c>.</summary>
    /// <param name="tensor">An output of <see cref="Apply(Tensor, Tensor?, bool)"/>.</param>
    public static Tensor? GetMask(Tensor tensor) => EagerMasks.TryGetValue(tensor, out var m) ? m : null;

    /// <summary>
    /// Calls the layer on symbolic tensors (functional API): checks shapes, builds the layer, and returns the
    /// symbolic outputs. Wrong shapes fail here, naming the layer.
    /// </summary>
    /// <param name="inputs">One or more symbolic inputs.</param>
    /// <param name="initialState">Symbolic initial states for recurrent layers (default none).</param>
    /// <param name="mask">Explicit masks for the inputs (default: the masks that flow with the inputs).</param>
    /// <param name="training">Fixes the training flag for this call (default: follow the model).</param>
    /// <param name="arguments">Extra keyword arguments (default none).</param>
    /// <returns>The symbolic outputs (convertible to a single <see cref="KerasTensor"/>).</returns>
    public virtual KerasTensors Apply(KerasTensors inputs, KerasTensors? initialState = null, KerasTensors? mask = null,
        bool? training = null, IReadOnlyDictionary<string, object?>? arguments = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException($"Layer \"{Name}\" was called with no inputs.");
        arguments ??= CallContext.EmptyArguments;
        var shapes = inputs.Select(t => t.Shape).ToList();
        if (!Built) Build(shapes);
        else CheckInputSpecs(shapes);

        IReadOnlyList<Shape> outShapes;
        try
        {
            outShapes = ComputeOutputShapesForCall(shapes, initialState?.Select(s => s.Shape).ToList(), arguments);
        }
        catch (Exception e) when (e is not KerasLayerException && e is not ArgumentException)
        {
            throw new KerasLayerException(this, $"could not compute the output shape for input shape(s) {string.Join(", ", shapes)}: {e.Message}", e);
        }
        var dtypes = ComputeOutputDTypes(inputs.Select(t => t.DType).ToList(), outShapes.Count);
        var node = new Node(this, inputs.ToList(), initialState?.ToList(), mask?.ToList(), training, arguments);
        node.Outputs = outShapes.Select((s, i) => new KerasTensor(s, dtypes[i], node, i)).ToList();
        InboundNodes.Add(node);
        return new KerasTensors(node.Outputs);
    }

    /// <summary>Output shapes of a symbolic call, which may depend on the initial state shapes (recurrent layers).</summary>
    private protected virtual IReadOnlyList<Shape> ComputeOutputShapesForCall(IReadOnlyList<Shape> inputShapes,
        IReadOnlyList<Shape>? stateShapes, IReadOnlyDictionary<string, object?> arguments) =>
        ComputeOutputShapes(inputShapes, arguments);

    // ---------------------------------------------------------------- configuration

    /// <summary>
    /// Keras' config of the layer: every constructor argument by its Keras name (snake_case), plus <c>name</c>,
    /// <c>trainable</c> and <c>dtype</c> (and <c>activity_regularizer</c> when one is set), as Keras 3's
    /// <c>Layer.get_config</c>. An input shape given with <see cref="InputShape"/> is not part of it: a
    /// <see cref="Models.Sequential"/> model records it as its <see cref="InputLayer"/>, as Keras does.
    /// </summary>
    public virtual Dictionary<string, object?> GetConfig()
    {
        var config = new Dictionary<string, object?>
        {
            ["name"] = Name,
            ["trainable"] = Trainable,
            ["dtype"] = DTypePolicy.Name,
        };
        if (ActivityRegularizer is not null) config["activity_regularizer"] = ActivityRegularizer;
        return config;
    }

    /// <inheritdoc />
    public override string ToString() => $"<{GetType().Name} name={Name}, built={Built}>";
}

/// <summary>The names of the layers being built, outermost first: Keras' variable paths (<c>lstm/lstm_cell/kernel</c>).</summary>
internal static class NameScope
{
    [ThreadStatic] private static List<string>? _stack;

    public static void Push(string name) => (_stack ??= []).Add(name);

    public static void Pop() => _stack!.RemoveAt(_stack.Count - 1);

    public static string? Current => _stack is { Count: > 0 } s ? string.Join("/", s) : null;
}

/// <summary>An error raised by a layer, naming the layer and its class.</summary>
public sealed class KerasLayerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="layer">The failing layer.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The underlying error (default <c>null</c>).</param>
    public KerasLayerException(Layer layer, string message, Exception? inner = null)
        : base($"Layer \"{layer.Name}\" ({layer.GetType().Name}): {message}", inner)
    {
        LayerName = layer.Name;
    }

    /// <summary>The failing layer's name.</summary>
    public string LayerName { get; }
}
