using Keras.Rnn.Activations;
using Keras.Rnn.Backend;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Gated Recurrent Unit layer (Keras' <c>GRU</c>), an <see cref="RNN"/> over a <see cref="GRUCell"/>. Weights in
/// Keras' layout: kernel <c>(input_dim, 3·units)</c>, recurrent kernel <c>(units, 3·units)</c>, gates <c>[z | r | h]</c>;
/// bias <c>(2, 3·units)</c> with <c>resetAfter = true</c> (Keras 3's default) or <c>(3·units,)</c> with
/// <c>resetAfter = false</c> (older models).
/// </summary>
/// <remarks>
/// With <c>resetAfter = true</c>, <c>tanh</c>/<c>sigmoid</c>, no recurrent dropout, no unrolling and no mask or a
/// right-padded one (not with <c>goBackwards</c>), it runs torch's fused GRU kernel (gate blocks reordered to torch's
/// <c>[r, z, n]</c> on the fly); otherwise a step loop. Both give the same numbers.
/// </remarks>
public sealed class GRU : RNN
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">Output and state size, positive.</param>
    /// <param name="activation">Default <c>"tanh"</c>.</param>
    /// <param name="recurrentActivation">Gate activation (default <c>"sigmoid"</c>).</param>
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
    /// <param name="resetAfter">Reset gate after the recurrent product (default <c>true</c>).</param>
    /// <param name="useCudnn">Use the fused kernel: <c>null</c> = when possible (default), <c>true</c> = required, <c>false</c> = never.</param>
    /// <param name="name">Name (default <c>gru</c>, made unique).</param>
    /// <param name="implementation">Keras' implementation mode of the cell, 1 (one input-dropout mask per gate) or 2
    /// (default, one mask); both compute the same outputs. Keras 2's mode 0 is mode 1 here. Recurrent dropout forces
    /// mode 1, as in Keras.</param>
    public GRU(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, int? seed = null, bool returnSequences = false, bool returnState = false,
        bool goBackwards = false, bool stateful = false, bool unroll = false, bool resetAfter = true, bool? useCudnn = null,
        string? name = null, int implementation = 2)
        : base(new GRUCell(units, activation, recurrentActivation, useBias, kernelInitializer, recurrentInitializer, biasInitializer,
                kernelRegularizer, recurrentRegularizer, biasRegularizer, kernelConstraint, recurrentConstraint, biasConstraint,
                dropout, recurrentDropout, seed, resetAfter, implementation == 0 ? 1 : implementation, name: "gru_cell"),
            returnSequences, returnState, goBackwards, stateful, unroll, false, name)
    {
        UseCudnn = useCudnn;
        InputSpec = new InputSpec(ndim: 3);
    }

    private GRU(GRUCell cell, bool returnSequences, bool returnState, bool goBackwards, bool stateful, bool unroll, bool zeroOutputForMask,
        bool? useCudnn, string name) : base(cell, returnSequences, returnState, goBackwards, stateful, unroll, zeroOutputForMask, name)
    {
        UseCudnn = useCudnn;
        InputSpec = new InputSpec(ndim: 3);
    }

    /// <summary>The cell.</summary>
    public new GRUCell Cell => (GRUCell)base.Cell;
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
        bool activations = ReferenceEquals(cell.Activation, ActivationFunction.Tanh)
                           && ReferenceEquals(cell.RecurrentActivation, ActivationFunction.Sigmoid);
        var kind = cell.ResetAfter ? RecurrentCell.GruResetAfter : RecurrentCell.GruResetBefore;
        return RunFused(activations && cell.ResetAfter, UseCudnn, "resetAfter=true and tanh/sigmoid activations", sequences, mask, training,
            cell.Implementation == 1,
            (x, lengths) =>
            {
                var (y, h) = FusedRnn.Gru(x, initialState[0], FusedRnn.GruParameters(cell.Kernel!, cell.RecurrentKernel!, cell.Bias, _torchLayout),
                    lengths, ZeroOutputForMask);
                return (y, [h]);
            },
            activations ? (x, m) => RecurrentKernels.Run(kind, x, initialState, cell.Kernel!.Value, cell.RecurrentKernel!.Value, cell.Bias?.Value, m,
                training ? cell.StackedRecurrentDropoutMasks(initialState[0], 3) : null) : null,
            recurrentDropoutInKernel: true);
    }

    internal override RNN CloneWith(bool goBackwards, string name) =>
        new GRU((GRUCell)Cell.CloneFresh()!, ReturnSequences, ReturnState, goBackwards, Stateful, Unroll, ZeroOutputForMask, UseCudnn, name)
        { InputShape = InputShape, BatchSize = BatchSize, ActivityRegularizer = ActivityRegularizer, DTypePolicy = DTypePolicy };

    /// <inheritdoc />
    /// <remarks>Keras 3's <c>GRU.get_config</c>: the RNN options, then the cell's arguments; the cell itself, its
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
        c["kernel_regularizer"] = cell.KernelRegularizer;
        c["recurrent_regularizer"] = cell.RecurrentRegularizer;
        c["bias_regularizer"] = cell.BiasRegularizer;
        c["activity_regularizer"] = ActivityRegularizer;
        c["kernel_constraint"] = cell.KernelConstraint;
        c["recurrent_constraint"] = cell.RecurrentConstraint;
        c["bias_constraint"] = cell.BiasConstraint;
        c["dropout"] = cell.DropoutRate;
        c["recurrent_dropout"] = cell.RecurrentDropoutRate;
        c["reset_after"] = cell.ResetAfter;
        c["seed"] = cell.Seed;
        return c;
    }
}
