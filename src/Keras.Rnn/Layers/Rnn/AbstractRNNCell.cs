using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// The base of recurrent cells: a layer that computes one time step, <c>(input_t, states) → (output_t, new states)</c>.
/// Built-in cells are <see cref="SimpleRNNCell"/>, <see cref="LSTMCell"/> and <see cref="GRUCell"/>; subclass this to
/// write your own and run it over sequences with <see cref="RNN"/> (Keras accepts any layer with
/// <c>call(inputs, states)</c> and <c>state_size</c>; this class makes that contract explicit).
/// </summary>
/// <example>
/// <code>
/// public sealed class MinimalRNNCell(int units) : AbstractRNNCell
/// {
///     private Variable? _kernel, _recurrent;
///     public override IReadOnlyList&lt;int&gt; StateSize =&gt; [units];
///     protected override void BuildCore(IReadOnlyList&lt;Shape&gt; inputShapes)
///     {
///         _kernel = AddWeight("kernel", [inputShapes[0][-1]!.Value, units]);
///         _recurrent = AddWeight("recurrent_kernel", [units, units], initializer: "orthogonal");
///     }
///     public override (Tensor Output, IReadOnlyList&lt;Tensor&gt; States) Step(Tensor inputs, IReadOnlyList&lt;Tensor&gt; states, bool training)
///     {
///         var h = (inputs.matmul(_kernel!.Value) + states[0].matmul(_recurrent!.Value)).tanh();
///         return (h, [h]);
///     }
/// }
/// var layer = new RNN(new MinimalRNNCell(32), returnSequences: true);
/// </code>
/// </example>
public abstract class AbstractRNNCell : Layer
{
    private Tensor[]? _dropoutMasks;
    private Tensor[]? _recurrentDropoutMasks;
    private Tensor? _stackedRecurrentMasks, _recurrentKernelBlocks;
    private Tensor? _stackedFrom, _blocksFrom;

    /// <summary>Creates the cell.</summary>
    /// <param name="name">Name (default: snake_case class name, made unique).</param>
    /// <param name="trainable">Whether its weights train (default <c>true</c>).</param>
    protected AbstractRNNCell(string? name = null, bool trainable = true) : base(name, trainable) { }

    /// <summary>Size of each state tensor (Keras' <c>state_size</c>): one entry per state, e.g. <c>[units, units]</c> for LSTM.</summary>
    public abstract IReadOnlyList<int> StateSize { get; }

    /// <summary>Size of the output at each step (Keras' <c>output_size</c>); default: the first state's size.</summary>
    public virtual int OutputSize => StateSize[0];

    /// <summary>Input dropout rate used with <see cref="GetDropoutMasks"/> (default 0).</summary>
    public double DropoutRate { get; protected init; }

    /// <summary>Recurrent dropout rate used with <see cref="GetRecurrentDropoutMasks"/> (default 0).</summary>
    public double RecurrentDropoutRate { get; protected init; }

    /// <summary>Computes one time step (Keras' <c>cell.call(inputs, states, training)</c>).</summary>
    /// <param name="inputs">The step input, <c>(batch, features)</c>.</param>
    /// <param name="states">The previous states, one tensor per <see cref="StateSize"/> entry.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <returns>The step output and the new states.</returns>
    public abstract (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training);

    /// <summary>Initial states (default zeros of <c>(batch, state_size)</c>).</summary>
    /// <param name="batchSize">Batch size.</param>
    /// <param name="device">Device for the states.</param>
    public virtual IReadOnlyList<Tensor> GetInitialState(long batchSize, Device device) =>
        StateSize.Select(s => torch.zeros([batchSize, s], ScalarType.Float32, device)).ToList();

    /// <summary>
    /// Input dropout masks (scaled by <c>1 / (1 − rate)</c>), created on first use for the current sequence and reused at
    /// every step until <see cref="ResetDropoutMasks"/> (Keras' <c>DropoutRNNCell.get_dropout_mask</c>).
    /// </summary>
    /// <param name="stepInput">A step input, for the mask's shape.</param>
    /// <param name="count">How many independent masks (1, or one per gate).</param>
    /// <returns>The masks, or <c>null</c> when the rate is 0.</returns>
    protected Tensor[]? GetDropoutMasks(Tensor stepInput, int count = 1) =>
        DropoutRate > 0 ? _dropoutMasks ??= CreateMasks(stepInput, DropoutRate, count) : null;

    /// <summary>Recurrent dropout masks, reused at every step of one sequence.</summary>
    /// <param name="state">A state tensor, for the mask's shape.</param>
    /// <param name="count">How many independent masks.</param>
    /// <returns>The masks, or <c>null</c> when the rate is 0.</returns>
    protected Tensor[]? GetRecurrentDropoutMasks(Tensor state, int count = 1) =>
        RecurrentDropoutRate > 0 ? _recurrentDropoutMasks ??= CreateMasks(state, RecurrentDropoutRate, count) : null;

    /// <summary>
    /// Keras' recurrent products under recurrent dropout (implementation 1), <c>(h ⊙ m_g)·U_g</c> for the first <c>G</c>
    /// gate blocks, as one batched product: <paramref name="masks"/> <c>[m_0 … m_{G−1}]</c> (each <c>(B, u)</c>) stacked,
    /// and the first <c>G</c> <c>(u, u)</c> blocks of <paramref name="recurrentKernel"/> as one <c>(G, u, u)</c> view.
    /// Both are kept while the same masks and the same kernel tensor come back (the steps of one sequence) and forgotten
    /// with the masks; another kernel tensor (weights replaced, or a fresh cast under a mixed policy) is read anew.
    /// </summary>
    /// <param name="h">The previous state <c>(B, u)</c>.</param>
    /// <param name="masks">The recurrent dropout masks of the first <c>G</c> gate blocks.</param>
    /// <param name="recurrentKernel">The whole recurrent kernel <c>(u, gates·u)</c>.</param>
    /// <param name="addend">Added to the products (broadcast to <c>(G, B, u)</c>), or <c>null</c>.</param>
    /// <returns>The products <c>(G, B, u)</c>: block <c>g</c> is gate <c>g</c>'s.</returns>
    private protected Tensor MaskedRecurrentProducts(Tensor h, Tensor[] masks, Tensor recurrentKernel, Tensor? addend)
    {
        long units = h.shape[1];
        int count = masks.Length;
        var stacked = Stacked(masks);
        if (_recurrentKernelBlocks is null || !ReferenceEquals(_blocksFrom, recurrentKernel) || _recurrentKernelBlocks.shape[0] != count)
        {
            _recurrentKernelBlocks?.Dispose();
            _recurrentKernelBlocks = recurrentKernel.view(units, recurrentKernel.shape[1] / units, units).permute(1, 0, 2)
                .narrow(0, 0, count).DetachFromDisposeScope();
            _blocksFrom = recurrentKernel;
        }
        var masked = h.unsqueeze(0).mul(stacked);
        // Not torch.baddbmm: TorchSharp 0.107 passes its arguments to libtorch in the wrong order (it computes
        // batch2 + input·batch1).
        var products = masked.bmm(_recurrentKernelBlocks);
        return addend is null ? products : products.add_(addend);
    }

    private static Tensor[] CreateMasks(Tensor like, double rate, int count)
    {
        var masks = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            using var ones = torch.ones_like(like);
            // The masks live until the sequence ends, outside any step's dispose scope.
            masks[i] = torch.nn.functional.dropout(ones, rate, training: true).DetachFromDisposeScope();
        }
        return masks;
    }

    /// <summary>Forgets the cached dropout masks; the RNN layer calls this after each sequence.</summary>
    public virtual void ResetDropoutMasks()
    {
        if (_dropoutMasks != null) foreach (var m in _dropoutMasks) m.Dispose();
        if (_recurrentDropoutMasks != null) foreach (var m in _recurrentDropoutMasks) m.Dispose();
        _stackedRecurrentMasks?.Dispose();
        _recurrentKernelBlocks?.Dispose();
        _dropoutMasks = null;
        _recurrentDropoutMasks = null;
        _stackedRecurrentMasks = null;
        _recurrentKernelBlocks = null;
        _stackedFrom = null;
        _blocksFrom = null;
    }

    /// <summary>A new, unbuilt cell of the same configuration and name (for <see cref="Bidirectional"/>, which, like Keras,
    /// re-creates its layers from their config), or <c>null</c> when the cell cannot be copied.</summary>
    internal virtual AbstractRNNCell? CloneFresh() => null;

    /// <summary>
    /// The recurrent dropout masks of the current sequence stacked <c>(count, B, u)</c> for a whole-sequence kernel (the
    /// same masks the step loop would draw), or <c>null</c> when the rate is 0.
    /// </summary>
    internal Tensor? StackedRecurrentDropoutMasks(Tensor state, int count) =>
        GetRecurrentDropoutMasks(state, count) is { } masks ? Stacked(masks) : null;

    /// <summary>
    /// <paramref name="masks"/> stacked <c>(G, B, u)</c>, kept while the same masks come back (the steps of one
    /// sequence) and forgotten with them.
    /// </summary>
    private Tensor Stacked(Tensor[] masks)
    {
        if (_stackedRecurrentMasks is null || !ReferenceEquals(_stackedFrom, masks[0]) || _stackedRecurrentMasks.shape[0] != masks.Length)
        {
            _stackedRecurrentMasks?.Dispose();
            _stackedRecurrentMasks = torch.stack(masks).DetachFromDisposeScope();
            _stackedFrom = masks[0];
        }
        return _stackedRecurrentMasks;
    }

    /// <summary>Input dropout masks for a fused kernel, from the first step's input.</summary>
    internal Tensor[]? InputDropoutMasks(Tensor stepInput) => GetDropoutMasks(stepInput);

    /// <summary>
    /// Optional speed-up: the input part of every step computed for the whole sequence at once (one large matrix
    /// product), <c>(T, B, K)</c> from time-major inputs, or <c>null</c> when the cell does not support it.
    /// </summary>
    internal virtual Tensor? ProjectInputs(Tensor timeMajorInputs, bool training) => null;

    /// <summary>A step from a pre-projected input (see <see cref="ProjectInputs"/>).</summary>
    internal virtual (Tensor Output, IReadOnlyList<Tensor> States) StepProjected(Tensor projected, IReadOnlyList<Tensor> states, bool training) =>
        throw new InvalidOperationException($"{GetType().Name} does not pre-project its inputs.");

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        var states = context.InitialState ?? GetInitialState(inputs[0].shape[0], inputs[0].device);
        CheckStates(states, inputs[0].shape[0]);
        try
        {
            var (output, newStates) = Step(inputs[0], states, context.Training);
            return [output, .. newStates];
        }
        finally
        {
            ResetDropoutMasks();
        }
    }

    /// <summary>Checks state count and shapes, naming the layer on mismatch.</summary>
    internal void CheckStates(IReadOnlyList<Tensor> states, long batch, Layer? owner = null)
    {
        var layer = owner ?? this;
        if (states.Count != StateSize.Count)
            throw new KerasLayerException(layer,
                $"expected {StateSize.Count} initial state tensor(s) of shapes {string.Join(", ", StateSize.Select(s => $"(batch, {s})"))}, but received {states.Count}.");
        for (int i = 0; i < states.Count; i++)
        {
            var s = states[i].shape;
            if (s.Length != 2 || s[0] != batch || s[1] != StateSize[i])
                throw new KerasLayerException(layer,
                    $"initial state {i} must have shape ({batch}, {StateSize[i]}), but it has shape {Shape.Of(s)}.");
        }
    }

    /// <summary>Checks symbolic initial-state shapes (count, rank 2, state sizes, batch where known), naming the layer on mismatch.</summary>
    internal void CheckStateShapes(IReadOnlyList<Shape> states, int? batch, Layer owner)
    {
        if (states.Count != StateSize.Count)
            throw new KerasLayerException(owner,
                $"expected {StateSize.Count} initial state tensor(s) of shapes {string.Join(", ", StateSize.Select(s => $"(batch, {s})"))}, but received {states.Count}.");
        for (int i = 0; i < states.Count; i++)
        {
            var s = states[i];
            if (s.Rank != 2 || s[1] is { } size && size != StateSize[i] || batch is { } b && s[0] is { } sb && sb != b)
                throw new KerasLayerException(owner,
                    $"initial state {i} must have shape ({(batch is { } bb ? bb.ToString() : "None")}, {StateSize[i]}), but it has shape {s}.");
        }
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var batch = inputShapes[0][0];
        return [new Shape(batch, OutputSize), .. StateSize.Select(s => new Shape(batch, s))];
    }
}
