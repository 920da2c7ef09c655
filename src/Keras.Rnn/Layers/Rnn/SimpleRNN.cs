using Keras.Rnn.Activations;
using Keras.Rnn.Backend;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Fully connected recurrent layer (Keras' <c>SimpleRNN</c>), an <see cref="RNN"/> over a <see cref="SimpleRNNCell"/>:
/// <c>h' = activation(x·W + b + h·U)</c>. With <c>tanh</c> or <c>relu</c>, no recurrent dropout, no unrolling and no
/// mask or a right-padded one, it runs torch's fused kernel; otherwise a step loop.
/// </summary>
public sealed class SimpleRNN : RNN
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">Output and state size, positive.</param>
    /// <param name="activation">Default <c>"tanh"</c>.</param>
    /// <param name="useBias">Default <c>true</c>.</param>
    /// <param name="kernelInitializer">Default <c>"glorot_uniform"</c>.</param>
    /// <param name="recurrentInitializer">Default <c>"orthogonal"</c>.</param>
    /// <param name="biasInitializer">Default <c>"zeros"</c>.</param>
    /// <param name="kernelRegularizer">Default none.</param>
    /// <param name="recurrentRegularizer">Default none.</param>
    /// <param name="biasRegularizer">Default none.</param>
    /// <param name="kernelConstraint">Default none.</param>
    /// <param name="recurrentConstraint">Default none.</param>
    /// <param name="biasConstraint">Default none.</param>
    /// <param name="dropout">Input dropout rate during training (default 0).</param>
    /// <param name="recurrentDropout">Recurrent dropout rate during training (default 0).</param>
    /// <param name="seed">Kept for Keras compatibility (default <c>null</c>).</param>
    /// <param name="returnSequences">Return every step's output (default <c>false</c>).</param>
    /// <param name="returnState">Also return the final state (default <c>false</c>).</param>
    /// <param name="goBackwards">Process the sequence backwards (default <c>false</c>).</param>
    /// <param name="stateful">Carry states across calls (default <c>false</c>).</param>
    /// <param name="unroll">Keras' flag; disables the fused kernel (default <c>false</c>).</param>
    /// <param name="name">Name (default <c>simple_rnn</c>, made unique).</param>
    public SimpleRNN(int units, ActivationFunction? activation = null, bool useBias = true, Initializer? kernelInitializer = null,
        Initializer? recurrentInitializer = null, Initializer? biasInitializer = null, Regularizer? kernelRegularizer = null,
        Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null, Constraint? kernelConstraint = null,
        Constraint? recurrentConstraint = null, Constraint? biasConstraint = null, double dropout = 0.0, double recurrentDropout = 0.0,
        int? seed = null, bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false,
        bool unroll = false, string? name = null)
        : base(new SimpleRNNCell(units, activation, useBias, kernelInitializer, recurrentInitializer, biasInitializer, kernelRegularizer,
                recurrentRegularizer, biasRegularizer, kernelConstraint, recurrentConstraint, biasConstraint, dropout, recurrentDropout,
                seed, name: "simple_rnn_cell"),
            returnSequences, returnState, goBackwards, stateful, unroll, false, name)
    {
        InputSpec = new InputSpec(ndim: 3);
    }

    private SimpleRNN(SimpleRNNCell cell, bool returnSequences, bool returnState, bool goBackwards, bool stateful, bool unroll,
        bool zeroOutputForMask, string name) : base(cell, returnSequences, returnState, goBackwards, stateful, unroll, zeroOutputForMask, name)
    {
        InputSpec = new InputSpec(ndim: 3);
    }

    /// <summary>The cell.</summary>
    public new SimpleRNNCell Cell => (SimpleRNNCell)base.Cell;
    /// <summary>Output size.</summary>
    public int Units => Cell.Units;

    /// <summary>The weights in torch's layout for the fused kernel, kept between inference calls while the weights are unchanged.</summary>
    private readonly DerivedWeights _torchLayout = new();

    /// <summary>The layer's cache of torch-layout weights (for tests).</summary>
    internal DerivedWeights TorchLayoutWeights => _torchLayout;

    private protected override (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States)? TryFusedLoop(Tensor sequences,
        IReadOnlyList<Tensor> initialState, Tensor? mask, bool training)
    {
        var cell = Cell;
        bool relu = ReferenceEquals(cell.Activation, ActivationFunction.Relu);
        bool allows = relu || ReferenceEquals(cell.Activation, ActivationFunction.Tanh);
        return RunFused(allows, null, "a tanh or relu activation", sequences, mask, training, false, (x, lengths) =>
        {
            var (y, h) = FusedRnn.SimpleRnn(x, initialState[0],
                FusedRnn.SimpleRnnParameters(cell.Kernel!, cell.RecurrentKernel!, cell.Bias, _torchLayout), relu, lengths, ZeroOutputForMask);
            return (y, [h]);
        }, allows ? (x, m) => RecurrentKernels.Run(relu ? RecurrentCell.SimpleRelu : RecurrentCell.SimpleTanh, x, initialState,
            cell.Kernel!.Value, cell.RecurrentKernel!.Value, cell.Bias?.Value, m) : null);
    }

    internal override RNN CloneWith(bool goBackwards, string name) =>
        new SimpleRNN((SimpleRNNCell)Cell.CloneFresh()!, ReturnSequences, ReturnState, goBackwards, Stateful, Unroll, ZeroOutputForMask, name)
        { InputShape = InputShape, BatchSize = BatchSize, ActivityRegularizer = ActivityRegularizer, DTypePolicy = DTypePolicy };

    /// <inheritdoc />
    /// <remarks>Keras 3's <c>SimpleRNN.get_config</c>: the RNN options, then the cell's arguments; the cell itself is not part of it.</remarks>
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        var cell = Cell;
        c["units"] = cell.Units;
        c["activation"] = cell.Activation;
        c["use_bias"] = cell.UseBias;
        c["kernel_initializer"] = cell.KernelInitializer;
        c["recurrent_initializer"] = cell.RecurrentInitializer;
        c["bias_initializer"] = cell.BiasInitializer;
        c["kernel_regularizer"] = cell.KernelRegularizer;
        c["recurrent_regularizer"] = cell.RecurrentRegularizer;
        c["bias_regularizer"] = cell.BiasRegularizer;
        c["activity_regularizer"] = ActivityRegularizer;
        c["kernel_constraint"] = cell.KernelConstraint;
        c["recurrent_constraint"] = cell.RecurrentConstraint;
        c["bias_constraint"] = cell.BiasConstraint;
        c["dropout"] = cell.DropoutRate;
        c["recurrent_dropout"] = cell.RecurrentDropoutRate;
        return c;
    }
}
