using Keras.Rnn.Activations;
using Keras.Rnn.Backend;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Long Short-Term Memory layer (Keras' <c>LSTM</c>), an <see cref="RNN"/> over an <see cref="LSTMCell"/>.
/// Weights in Keras' layout: kernel <c>(input_dim, 4·units)</c>, recurrent kernel <c>(units, 4·units)</c>, bias
/// <c>(4·units,)</c>, gates <c>[i | f | c | o]</c>; states <c>[h, c]</c>.
/// </summary>
/// <remarks>
/// When the configuration allows — <c>tanh</c>/<c>sigmoid</c> activations, no recurrent dropout, no unrolling, and no
/// mask or a right-padded one (not with <c>goBackwards</c>) — it runs torch's fused LSTM kernel (cuDNN on GPU);
/// otherwise a step loop. Both give the same numbers.
/// </remarks>
/// <example>
/// <code>
/// var model = new Sequential(new InputLayer([20, 1]), new LSTM(32), new Dense(1));
/// var (seq, h, c) = new LSTM(64, returnSequences: true, returnState: true).Apply(x);
/// </code>
/// </example>
public sealed class LSTM : RNN
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">Output and state size, positive.</param>
    /// <param name="activation">Default <c>"tanh"</c>.</param>
    /// <param name="recurrentActivation">Gate activation (default <c>"sigmoid"</c>).</param>
    /// <param name="useBias">Default <c>true</c>.</param>
    /// <param name="kernelInitializer">Default <c>"glorot_uniform"</c>.</param>
    /// <param name="recurrentInitializer">Default <c>"orthogonal"</c>.</param>
    /// <param name="biasInitializer">Default <c>"zeros"</c>.</param>
    /// <param name="unitForgetBias">Forget-gate bias starts at 1 (default <c>true</c>).</param>
    /// <param name="kernelRegularizer">Default none.</param>
    /// <param name="recurrentRegularizer">Default none.</param>
    /// <param name="biasRegularizer">Default none.</param>
    /// <param name="kernelConstraint">Default none.</param>
    /// <param name="recurrentConstraint">Default none.</param>
    /// <param name="biasConstraint">Default none.</param>
    /// <param name="dropout">Input dropout rate during training, one mask per sequence (default 0).</param>
    /// <param name="recurrentDropout">Recurrent dropout rate during training (default 0).</param>
    /// <param name="seed">Kept for Keras compatibility (default <c>null</c>).</param>
    /// <param name="returnSequences">Return every step's output (default <c>false</c>).</param>
    /// <param name="returnState">Also return <c>h</c> and <c>c</c> (default <c>false</c>).</param>
    /// <param name="goBackwards">Process the sequence backwards (default <c>false</c>).</param>
    /// <param name="stateful">Carry states across calls (default <c>false</c>).</param>
    /// <param name="unroll">Keras' flag; disables the fused kernel (default <c>false</c>).</param>
    /// <param name="useCudnn">Use the fused kernel: <c>null</c> = when possible (Keras' <c>"auto"</c>, default), <c>true</c> = required, <c>false</c> = never.</param>
    /// <param name="name">Name (default <c>lstm</c>, made unique).</param>
    /// <param name="implementation">Keras' implementation mode of the cell, 1 (one input-dropout mask per gate) or 2
    /// (default, one mask); both compute the same outputs. Keras 2's mode 0 (input projections for all steps at once,
    /// one dropout mask per gate) is mode 1 here. Recurrent dropout forces mode 1, as in Keras.</param>
    public LSTM(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool unitForgetBias = true, Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null,
        Regularizer? biasRegularizer = null, Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null,
        Constraint? biasConstraint = null, double dropout = 0.0, double recurrentDropout = 0.0, int? seed = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool stateful = false, bool unroll = false,
        bool? useCudnn = null, string? name = null, int implementation = 2)
        : base(new LSTMCell(units, activation, recurrentActivation, useBias, kernelInitializer, recurrentInitializer, biasInitializer,
                unitForgetBias, kernelRegularizer, recurrentRegularizer, biasRegularizer, kernelConstraint, recurrentConstraint,
                biasConstraint, dropout, recurrentDropout, seed, implementation == 0 ? 1 : implementation, name: "lstm_cell"),
            returnSequences, returnState, goBackwards, stateful, unroll, false, name)
    {
        UseCudnn = useCudnn;
        InputSpec = new InputSpec(ndim: 3);
    }

    private LSTM(LSTMCell cell, bool returnSequences, bool returnState, bool goBackwards, bool stateful, bool unroll, bool zeroOutputForMask,
        bool? useCudnn, string name) : base(cell, returnSequences, returnState, goBackwards, stateful, unroll, zeroOutputForMask, name)
    {
        UseCudnn = useCudnn;
        InputSpec = new InputSpec(ndim: 3);
    }

    /// <summary>The cell.</summary>
    public new LSTMCell Cell => (LSTMCell)base.Cell;
    /// <summary>Output size.</summary>
    public int Units => Cell.Units;
    /// <summary>Whether the fused kernel is used: <c>null</c> auto, <c>true</c> required, <c>false</c> never.</summary>
    public bool? UseCudnn { get; }

    /// <summary>The weights in torch's layout for the fused kernel, kept between inference calls while the weights are unchanged.</summary>
    private readonly DerivedWeights _torchLayout = new();

    /// <summary>The layer's cache of torch-layout weights (for tests).</summary>
    internal DerivedWeights TorchLayoutWeights => _torchLayout;

    private protected override (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States)? TryFusedLoop(Tensor sequences,
        IReadOnlyList<Tensor> initialState, Tensor? mask, bool training)
    {
        var cell = Cell;
        bool allows = ReferenceEquals(cell.Activation, ActivationFunction.Tanh) && ReferenceEquals(cell.RecurrentActivation, ActivationFunction.Sigmoid);
        return RunFused(allows, UseCudnn, "tanh/sigmoid activations", sequences, mask, training, cell.Implementation == 1, (x, lengths) =>
        {
            var (y, h, c) = FusedRnn.Lstm(x, initialState[0], initialState[1],
                FusedRnn.LstmParameters(cell.Kernel!, cell.RecurrentKernel!, cell.Bias, _torchLayout), lengths, ZeroOutputForMask);
            return (y, [h, c]);
        }, allows ? (x, m) => RecurrentKernels.Run(RecurrentCell.Lstm, x, initialState, cell.Kernel!.Value, cell.RecurrentKernel!.Value,
            cell.Bias?.Value, m, training ? cell.StackedRecurrentDropoutMasks(initialState[0], 4) : null) : null,
            preferTorchKernel: allows && RecurrentKernels.PreferTorchLstm(sequences, Units), recurrentDropoutInKernel: true);
    }

    internal override RNN CloneWith(bool goBackwards, string name) =>
        new LSTM((LSTMCell)Cell.CloneFresh()!, ReturnSequences, ReturnState, goBackwards, Stateful, Unroll, ZeroOutputForMask, UseCudnn, name)
        { InputShape = InputShape, BatchSize = BatchSize, ActivityRegularizer = ActivityRegularizer, DTypePolicy = DTypePolicy };

    /// <inheritdoc />
    /// <remarks>Keras 3's <c>LSTM.get_config</c>: the RNN options, then the cell's arguments; the cell itself, its
    /// <c>implementation</c> and <c>use_cudnn</c> are not part of it.</remarks>
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        var cell = Cell;
        c["units"] = cell.Units;
        c["activation"] = cell.Activation;
        c["recurrent_activation"] = cell.RecurrentActivation;
        c["use_bias"] = cell.UseBias;
        c["kernel_initializer"] = cell.KernelInitializer;
        c["recurrent_initializer"] = cell.RecurrentInitializer;
        c["bias_initializer"] = cell.BiasInitializer;
        c["unit_forget_bias"] = cell.UnitForgetBias;
        c["kernel_regularizer"] = cell.KernelRegularizer;
        c["recurrent_regularizer"] = cell.RecurrentRegularizer;
        c["bias_regularizer"] = cell.BiasRegularizer;
        c["activity_regularizer"] = ActivityRegularizer;
        c["kernel_constraint"] = cell.KernelConstraint;
        c["recurrent_constraint"] = cell.RecurrentConstraint;
        c["bias_constraint"] = cell.BiasConstraint;
        c["dropout"] = cell.DropoutRate;
        c["recurrent_dropout"] = cell.RecurrentDropoutRate;
        c["seed"] = cell.Seed;
        return c;
    }
}
