using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Runs a recurrent cell over the time axis of <c>(batch, time, features)</c> inputs (Keras' <c>RNN</c>). Owns the
/// sequence concerns: masks (at a masked step the states are held and the output repeats the previous one),
/// <c>returnSequences</c>, <c>returnState</c>, <c>goBackwards</c>, <c>stateful</c> and initial states. Works with any
/// <see cref="AbstractRNNCell"/>, including your own; <see cref="LSTM"/>, <see cref="GRU"/> and
/// <see cref="SimpleRNN"/> add fused kernels.
/// </summary>
/// <example>
/// <code>
/// var rnn = new RNN(new LSTMCell(32), returnSequences: true);
/// var stacked = new RNN([new GRUCell(64), new GRUCell(32)]);   // StackedRNNCells
/// var (seq, h, c) = new RNN(new LSTMCell(16), returnSequences: true, returnState: true).Apply(x);
/// </code>
/// </example>
public class RNN : Layer
{
    private Tensor[]? _states;
    private long? _expectedBatchSize;

    /// <summary>Creates the layer.</summary>
    /// <param name="cell">The cell run at every step.</param>
    /// <param name="returnSequences">Return the output of every step <c>(batch, time, units)</c> instead of the last <c>(batch, units)</c> (default <c>false</c>).</param>
    /// <param name="returnState">Also return the final states, after the output (default <c>false</c>).</param>
    /// <param name="goBackwards">Process the sequence from the end; outputs stay in processing order (default <c>false</c>).</param>
    /// <param name="stateful">Carry the final states of batch k over as the initial states of batch k (same index) of the next call (default <c>false</c>); needs a fixed batch size.</param>
    /// <param name="unroll">Keras' unrolling flag; here it only disables the fused kernels (default <c>false</c>).</param>
    /// <param name="zeroOutputForMask">Output zeros at masked steps instead of repeating the previous output (default <c>false</c>).</param>
    /// <param name="name">Name (default: snake_case class name, made unique).</param>
    public RNN(AbstractRNNCell cell, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
        bool stateful = false, bool unroll = false, bool zeroOutputForMask = false, string? name = null) : base(name)
    {
        Cell = TrackLayer(cell ?? throw new ArgumentNullException(nameof(cell)));
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
        Stateful = stateful;
        Unroll = unroll;
        ZeroOutputForMask = zeroOutputForMask;
        SupportsMasking = true;
        InputSpec = new InputSpec(minNdim: 3);
    }

    /// <summary>Creates the layer over a stack of cells (<see cref="StackedRNNCells"/>).</summary>
    /// <param name="cells">The cells, first applied first.</param>
    /// <param name="returnSequences">See the other constructor (default <c>false</c>).</param>
    /// <param name="returnState">Default <c>false</c>.</param>
    /// <param name="goBackwards">Default <c>false</c>.</param>
    /// <param name="stateful">Default <c>false</c>.</param>
    /// <param name="unroll">Default <c>false</c>.</param>
    /// <param name="zeroOutputForMask">Default <c>false</c>.</param>
    /// <param name="name">Name (default <c>rnn</c>, made unique).</param>
    public RNN(IEnumerable<AbstractRNNCell> cells, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
        bool stateful = false, bool unroll = false, bool zeroOutputForMask = false, string? name = null)
        : this(new StackedRNNCells(cells), returnSequences, returnState, goBackwards, stateful, unroll, zeroOutputForMask, name) { }

    /// <summary>The cell.</summary>
    public AbstractRNNCell Cell { get; }
    /// <summary>Whether every step's output is returned.</summary>
    public bool ReturnSequences { get; }
    /// <summary>Whether the final states are returned too.</summary>
    public bool ReturnState { get; }
    /// <summary>Whether the sequence is processed from the end.</summary>
    public bool GoBackwards { get; }
    /// <summary>Whether states carry over between calls.</summary>
    public bool Stateful { get; }
    /// <summary>Keras' unroll flag.</summary>
    public bool Unroll { get; }
    /// <summary>Whether masked steps output zeros (set by <see cref="Bidirectional"/> when returning sequences).</summary>
    public bool ZeroOutputForMask { get; internal set; }

    /// <summary>The carried states of a stateful layer (copies), or <c>null</c> before the first call.</summary>
    public IReadOnlyList<Tensor>? States => _states?.Select(s => s.detach().clone()).ToList();

    /// <summary>The state sizes of the cell.</summary>
    public IReadOnlyList<int> StateSize => Cell.StateSize;

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var sequences = inputShapes[0];
        Cell.Build(new Shape([sequences[0], .. sequences.Slice(2)]));
        // The weights now fix the feature size: later inputs with another size fail with a clear error naming the layer.
        if (sequences.Rank > 0 && sequences[-1] is { } features && InputSpecs is [var spec])
            InputSpec = new InputSpec(spec.Ndim, spec.MinNdim, spec.MaxNdim, new Dictionary<int, int> { [-1] = features });
        if (Stateful)
        {
            if (sequences[0] is null && BatchSize is null && _expectedBatchSize is null)
                throw new KerasLayerException(this,
                    $"when using stateful=true in an RNN, the batch size must be static. Found dynamic batch size: sequence.shape={sequences}. " +
                    "Give the input a fixed batch size (Input(shape, batchSize: N) or InputLayer(shape, batchSize: N)).");
            _expectedBatchSize = sequences[0] ?? BatchSize ?? _expectedBatchSize;
        }
    }

    /// <summary>
    /// Keras builds a layer called on real data with the data's concrete shape, so a stateful layer called eagerly
    /// takes its batch size from its first input (symbolic calls still need a static batch size).
    /// </summary>
    internal void NoteEagerBatchSize(long batch)
    {
        if (Stateful && !Built) _expectedBatchSize ??= batch;
    }

    internal override (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training, IReadOnlyDictionary<string, object?>? arguments,
        List<Tensor>? losses)
    {
        if (inputs.Count > 0 && inputs[0].dim() > 0) NoteEagerBatchSize(inputs[0].shape[0]);
        return base.Invoke(inputs, masks, initialState, training, arguments, losses);
    }

    /// <summary>Zeros the carried states of a stateful layer (Keras' <c>reset_state</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer is not stateful.</exception>
    public void ResetStates()
    {
        if (!Stateful) throw new InvalidOperationException($"Layer '{Name}' is not stateful; ResetStates applies only to stateful=true layers.");
        if (_states is null) return;
        using var _ = torch.no_grad();
        foreach (var s in _states) s.zero_();
    }

    /// <summary>Sets the carried states of a stateful layer to given values.</summary>
    /// <param name="states">One tensor per state, <c>(batch, state_size)</c>.</param>
    /// <exception cref="InvalidOperationException">The layer is not stateful.</exception>
    /// <exception cref="KerasLayerException">Wrong count or shapes.</exception>
    public void ResetStates(IReadOnlyList<Tensor> states)
    {
        if (!Stateful) throw new InvalidOperationException($"Layer '{Name}' is not stateful; ResetStates applies only to stateful=true layers.");
        var batch = _expectedBatchSize ?? states[0].shape[0];
        Cell.CheckStates(states, batch, this);
        StoreStates(states);
    }

    private void StoreStates(IReadOnlyList<Tensor> states)
    {
        var old = _states;
        _states = states.Select(s => s.detach().clone().DetachFromDisposeScope()).ToArray();
        if (old != null) foreach (var s in old) s.Dispose();
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        var sequences = inputs[0];
        // Keras promotes integer (and bool) sequences to the compute dtype of the layer.
        if (!sequences.is_floating_point()) sequences = sequences.to_type(DTypePolicy.ComputeScalarType);
        var stateType = sequences.dtype;
        long batch = sequences.shape[0];
        if (sequences.shape[1] == 0)
            throw new KerasLayerException(this, $"received a sequence with 0 time steps (input shape {Shape.Of(sequences.shape)}).");
        if (Stateful)
        {
            _expectedBatchSize ??= batch;
            if (batch != _expectedBatchSize)
                throw new KerasLayerException(this,
                    $"if an RNN is stateful, the batch size of the input sequences must be the same as the batch size of the initial state. Expected batch size: {_expectedBatchSize}; received batch size: {batch}.");
        }
        IReadOnlyList<Tensor> initial;
        if (context.InitialState is { Count: > 0 } given)
        {
            Cell.CheckStates(given, batch, this);
            initial = given;
        }
        else if (Stateful)
        {
            if (_states is null || _states[0].device_type != sequences.device_type || _states[0].device_index != sequences.device_index)
                StoreStates(Cell.GetInitialState(batch, sequences.device));
            initial = _states!;
        }
        else
        {
            initial = Cell.GetInitialState(batch, sequences.device);
        }
        // The states follow the sequences' dtype (given ones of another dtype; under a mixed policy, the cell's float32
        // zeros and stored states, which stay as they are).
        if (initial.Any(s => s.dtype != stateType)) initial = initial.Select(s => s.dtype == stateType ? s : s.to_type(stateType)).ToList();

        var mask = context.Mask;
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != batch || mask.shape[1] != sequences.shape[1]))
            throw new KerasLayerException(this,
                $"the mask must have shape (batch, time) = ({batch}, {sequences.shape[1]}), but it has shape {Shape.Of(mask.shape)}.");

        (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States) result;
        try
        {
            result = InnerLoop(sequences, initial, mask, context.Training);
        }
        finally
        {
            Cell.ResetDropoutMasks();
        }

        if (Stateful) StoreStates(result.States);
        var output = ReturnSequences ? result.Outputs : result.Last;
        return ReturnState ? [output, .. result.States] : [output];
    }

    /// <summary>
    /// Runs the cell over the sequence. The default tries <see cref="TryFusedLoop"/> and falls back to the generic step
    /// loop (with the input projection for all steps in one product when the cell supports it).
    /// </summary>
    private protected (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States) InnerLoop(Tensor sequences,
        IReadOnlyList<Tensor> initialState, Tensor? mask, bool training)
    {
        if (TryFusedLoop(sequences, initialState, mask, training) is { } fused) return fused;
        return StepLoop(sequences, initialState, mask, training);
    }

    /// <summary>The generic step loop (also the reference the fused paths are tested against).</summary>
    internal (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States) StepLoop(Tensor sequences, IReadOnlyList<Tensor> initialState,
        Tensor? mask, bool training)
    {
        var projected = Cell.ProjectInputs(sequences.transpose(0, 1), training);
        if (projected is not null)
        {
            return RnnLoop.Run((x, s) => Cell.StepProjected(x, s, training), projected.transpose(0, 1), initialState,
                GoBackwards, mask, ZeroOutputForMask, ReturnSequences);
        }
        return RnnLoop.Run((x, s) => Cell.Step(x, s, training), sequences, initialState, GoBackwards, mask, ZeroOutputForMask, ReturnSequences);
    }

    /// <summary>
    /// Runs a fused kernel when the configuration allows, or returns <c>null</c>. Subclasses override; the plain RNN
    /// has none.
    /// </summary>
    private protected virtual (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States)? TryFusedLoop(Tensor sequences,
        IReadOnlyList<Tensor> initialState, Tensor? mask, bool training) => null;

    /// <summary>
    /// Runs a whole-sequence kernel when the layer's configuration allows it, else returns <c>null</c> (the step loop
    /// runs) — or throws when <paramref name="useCudnn"/> is <c>true</c> and torch's fused kernel cannot run. With
    /// <paramref name="useCudnn"/> <c>null</c> (auto) on CPU, our own kernels (<see cref="RecurrentKernels"/>) run any
    /// mask, <c>goBackwards</c> and every configuration they cover; on other devices (GPU), or with
    /// <paramref name="useCudnn"/> <c>true</c>, torch's fused kernel (cuDNN) runs when the mask is absent or
    /// right-padded, and (auto only) our kernels run where it cannot. Input dropout (one mask for the whole sequence)
    /// and <c>goBackwards</c> are applied here.
    /// </summary>
    /// <param name="configurationAllows">Whether the cell's activations and options have a torch fused equivalent.</param>
    /// <param name="useCudnn"><c>null</c> auto, <c>true</c> torch's fused kernel required, <c>false</c> never a whole-sequence kernel.</param>
    /// <param name="requirement">What the fused kernel needs, for the error when it is required.</param>
    /// <param name="sequences">The inputs, batch first.</param>
    /// <param name="mask">The mask or <c>null</c>.</param>
    /// <param name="training">Training mode.</param>
    /// <param name="perGateDropout">Whether the cell draws one input-dropout mask per gate (Keras' implementation 1), which no fused kernel reproduces.</param>
    /// <param name="kernel">Runs torch's fused kernel: (inputs, lengths or <c>null</c>) → (outputs, final states).</param>
    /// <param name="recurrentKernel">Runs our kernel when the cell's configuration is one it covers, else <c>null</c>:
    /// (inputs in processing order, boolean mask in processing order or <c>null</c>) → (states after every step, final states).</param>
    /// <param name="preferTorchKernel">Under <see cref="RecurrentKernelMode.Auto"/>, try torch's fused kernel first even
    /// on CPU (where it is known to be faster, e.g. libtorch's CPU LSTM for inference or tiny layers); ours still runs
    /// where torch's cannot.</param>
    /// <param name="recurrentDropoutInKernel">Whether <paramref name="recurrentKernel"/> applies the cell's recurrent
    /// dropout itself (one mask per gate, as the step loop does); otherwise training with recurrent dropout takes the step
    /// loop. Torch's kernels never do.</param>
    private protected (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States)? RunFused(bool configurationAllows, bool? useCudnn,
        string requirement, Tensor sequences, Tensor? mask, bool training, bool perGateDropout,
        Func<Tensor, Tensor?, (Tensor Outputs, IReadOnlyList<Tensor> States)> kernel,
        Func<Tensor, Tensor?, (Tensor Sequence, IReadOnlyList<Tensor> States)>? recurrentKernel = null, bool preferTorchKernel = false,
        bool recurrentDropoutInKernel = false)
    {
        bool recurrentDropout = training && Cell.RecurrentDropoutRate > 0;
        bool wholeSequence = useCudnn != false && !Unroll && !(training && Cell.DropoutRate > 0 && perGateDropout);
        bool oursAllowed = wholeSequence && (!recurrentDropout || recurrentDropoutInKernel) && useCudnn is null && recurrentKernel is not null
                           && RecurrentKernels.Mode != RecurrentKernelMode.Aten;
        bool tryTorchFirst = !(oursAllowed && RecurrentKernels.AppliesTo(sequences.device))
                             || (preferTorchKernel && RecurrentKernels.Mode == RecurrentKernelMode.Auto);
        if (tryTorchFirst)
        {
            var plan = FusedRnn.MaskPlan.Unsupported;
            Tensor? lengths = null;
            bool eligible = configurationAllows && wholeSequence && !recurrentDropout
                            && (plan = FusedRnn.PlanMask(mask, GoBackwards, out lengths)) != FusedRnn.MaskPlan.Unsupported;
            if (eligible)
            {
                using (lengths)
                {
                    var x = WithInputDropout(sequences, training);
                    if (GoBackwards) x = x.flip(1);
                    var (outputs, states) = kernel(x, plan == FusedRnn.MaskPlan.Packed ? lengths : null);
                    var last = outputs.select(1, outputs.shape[1] - 1);
                    return (last, ReturnSequences ? outputs : last.unsqueeze(1), states);
                }
            }
            if (useCudnn == true)
                throw new KerasLayerException(this,
                    $"useCudnn=true was specified, but the fused kernel does not support this configuration (it needs {requirement}, no recurrent dropout during training, no unroll, and no mask or a right-padded one without goBackwards). Pass useCudnn: null to fall back.");
            // On other devices (GPU), our kernel still beats the step loop where torch's kernel cannot run (masks with
            // gaps, go_backwards with a mask, reset_after=False).
            if (!oursAllowed) return null;
        }

        {
            var x = WithInputDropout(sequences, training);
            var m = mask?.to_type(ScalarType.Bool);
            if (GoBackwards)
            {
                x = x.flip(1);
                m = m?.flip(1);
            }
            var (sequence, states) = recurrentKernel!(x, m);
            // The final state equals the sequence's last step; taking it from the kernel's own output keeps a layer that
            // returns only its last output from sending a whole-sequence gradient buffer through backward.
            var lastState = states[0];
            if (ReturnSequences)
            {
                var outputs = RecurrentKernels.MaskOutputs(sequence, m, ZeroOutputForMask);
                return (outputs.select(1, outputs.shape[1] - 1), outputs, states);
            }
            var last = RecurrentKernels.MaskLastOutput(lastState, m, ZeroOutputForMask);
            return (last, last.unsqueeze(1), states);
        }
    }

    /// <summary>The inputs times the cell's input-dropout mask (one mask for the whole sequence) during training.</summary>
    private Tensor WithInputDropout(Tensor sequences, bool training) =>
        training && Cell.DropoutRate > 0 && Cell.InputDropoutMasks(sequences.select(1, 0)) is { } masks
            ? sequences.mul(masks[0].unsqueeze(1))
            : sequences;

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount)
    {
        var result = new Tensor?[outputCount];
        if (ReturnSequences) result[0] = context.Mask;
        return result;
    }

    private protected override IReadOnlyList<Shape> ComputeOutputShapesForCall(IReadOnlyList<Shape> inputShapes,
        IReadOnlyList<Shape>? stateShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (stateShapes is { Count: > 0 }) Cell.CheckStateShapes(stateShapes, inputShapes[0][0], this);
        return base.ComputeOutputShapesForCall(inputShapes, stateShapes, arguments);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var s = inputShapes[0];
        var batch = s[0] ?? BatchSize;
        var output = ReturnSequences ? new Shape(batch, s[1], Cell.OutputSize) : new Shape(batch, Cell.OutputSize);
        if (!ReturnState) return [output];
        return [output, .. Cell.StateSize.Select(n => new Shape(batch, n))];
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["return_sequences"] = ReturnSequences;
        c["return_state"] = ReturnState;
        c["go_backwards"] = GoBackwards;
        c["stateful"] = Stateful;
        c["unroll"] = Unroll;
        c["zero_output_for_mask"] = ZeroOutputForMask;
        if (GetType() == typeof(RNN)) c["cell"] = Cell;
        return c;
    }

    /// <summary>A new layer of the same configuration with <c>go_backwards</c> set as given and a new name (used by <see cref="Bidirectional"/>).</summary>
    internal virtual RNN CloneWith(bool goBackwards, string name) =>
        new(Cell.CloneFresh() ?? throw new InvalidOperationException(
                $"Bidirectional cannot copy the custom cell {Cell.GetType().Name} of layer '{Name}'; pass the backward layer explicitly (backwardLayer: new RNN(new {Cell.GetType().Name}(...), goBackwards: true))."),
            ReturnSequences, ReturnState, goBackwards, Stateful, Unroll, ZeroOutputForMask, name)
        { InputShape = InputShape, BatchSize = BatchSize, DTypePolicy = DTypePolicy };
}
