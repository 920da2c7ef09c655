using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// One step of a Gated Recurrent Unit (Keras' <c>GRUCell</c>), gate blocks <c>[z | r | h]</c>. With
/// <c>resetAfter = true</c> (Keras 3's default): bias <c>(2, 3·units)</c> (row 0 input, row 1 recurrent),
/// <c>z = σ(xW_z + b0_z + hU_z + b1_z)</c>, <c>r = σ(...)</c>, <c>ĥ = tanh(xW_h + b0_h + r ⊙ (hU_h + b1_h))</c>.
/// With <c>resetAfter = false</c> (older models): bias <c>(3·units,)</c>, <c>ĥ = tanh(xW_h + b_h + (r ⊙ h)U_h)</c>.
/// Then <c>h' = z ⊙ h + (1 − z) ⊙ ĥ</c>.
/// </summary>
public sealed class GRUCell : AbstractRNNCell
{
    private Variable? _kernel, _recurrentKernel, _bias;

    /// <summary>Creates the cell.</summary>
    /// <param name="units">State size, positive.</param>
    /// <param name="activation">Candidate activation (default <c>"tanh"</c>).</param>
    /// <param name="recurrentActivation">Gate activation (default <c>"sigmoid"</c>).</param>
    /// <param name="useBias">Whether to add biases (default <c>true</c>).</param>
    /// <param name="kernelInitializer">Default <c>"glorot_uniform"</c>.</param>
    /// <param name="recurrentInitializer">Default <c>"orthogonal"</c>.</param>
    /// <param name="biasInitializer">Default <c>"zeros"</c>.</param>
    /// <param name="kernelRegularizer">Default none.</param>
    /// <param name="recurrentRegularizer">Default none.</param>
    /// <param name="biasRegularizer">Default none.</param>
    /// <param name="kernelConstraint">Default none.</param>
    /// <param name="recurrentConstraint">Default none.</param>
    /// <param name="biasConstraint">Default none.</param>
    /// <param name="dropout">Fraction of the inputs dropped during training (default 0).</param>
    /// <param name="recurrentDropout">Fraction of the recurrent state dropped during training (default 0; uses implementation 1).</param>
    /// <param name="seed">Kept for Keras compatibility (default <c>null</c>).</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (default <c>true</c>, cuDNN-compatible).</param>
    /// <param name="implementation">Keras' implementation mode, 1 or 2 (default).</param>
    /// <param name="name">Name (default <c>gru_cell</c>, made unique).</param>
    /// <exception cref="ArgumentException">Invalid units or implementation.</exception>
    public GRUCell(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, int? seed = null, bool resetAfter = true, int implementation = 2,
        string? name = null) : base(name)
    {
        if (units <= 0)
            throw new ArgumentException($"GRUCell: received an invalid value for argument `units`, expected a positive integer, got {units}.", nameof(units));
        if (implementation is not (1 or 2))
            throw new ArgumentException($"GRUCell: implementation must be 1 or 2, got {implementation}.", nameof(implementation));
        Units = units;
        Activation = activation ?? ActivationFunction.Tanh;
        RecurrentActivation = recurrentActivation ?? ActivationFunction.Sigmoid;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        RecurrentInitializer = recurrentInitializer ?? new Orthogonal();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        RecurrentRegularizer = recurrentRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        RecurrentConstraint = recurrentConstraint;
        BiasConstraint = biasConstraint;
        DropoutRate = Math.Clamp(dropout, 0.0, 1.0);
        RecurrentDropoutRate = Math.Clamp(recurrentDropout, 0.0, 1.0);
        Seed = seed;
        ResetAfter = resetAfter;
        Implementation = RecurrentDropoutRate != 0.0 ? 1 : implementation;
    }

    /// <summary>State size.</summary>
    public int Units { get; }
    /// <summary>Candidate activation.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Gate activation.</summary>
    public ActivationFunction RecurrentActivation { get; }
    /// <summary>Whether biases are added.</summary>
    public bool UseBias { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Recurrent kernel initializer.</summary>
    public Initializer RecurrentInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Recurrent kernel penalty.</summary>
    public Regularizer? RecurrentRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Kernel constraint.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Recurrent kernel constraint.</summary>
    public Constraint? RecurrentConstraint { get; }
    /// <summary>Bias constraint.</summary>
    public Constraint? BiasConstraint { get; }
    /// <summary>Seed argument as given.</summary>
    public int? Seed { get; }
    /// <summary>Whether the reset gate applies after the recurrent product.</summary>
    public bool ResetAfter { get; }
    /// <summary>Keras' implementation mode.</summary>
    public int Implementation { get; }

    /// <summary>The kernel <c>(input_dim, 3·units)</c>, once built.</summary>
    public Variable? Kernel => _kernel;
    /// <summary>The recurrent kernel <c>(units, 3·units)</c>, once built.</summary>
    public Variable? RecurrentKernel => _recurrentKernel;
    /// <summary>The bias, <c>(2, 3·units)</c> or <c>(3·units,)</c>, once built (if used).</summary>
    public Variable? Bias => _bias;

    /// <inheritdoc />
    public override IReadOnlyList<int> StateSize => [Units];

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var inputDim = inputShapes[0][-1] ?? throw new KerasLayerException(this, $"the last input dimension must be known, got {inputShapes[0]}.");
        _kernel = AddWeight("kernel", [inputDim, 3L * Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        _recurrentKernel = AddWeight("recurrent_kernel", [Units, 3L * Units], RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        if (UseBias)
            _bias = AddWeight("bias", ResetAfter ? [2, 3L * Units] : [3L * Units], BiasInitializer, BiasRegularizer, BiasConstraint);
    }

    private Tensor? InputBias => _bias is null ? null : ResetAfter ? _bias.Value[0] : _bias.Value;
    private Tensor? RecurrentBias => _bias is null || !ResetAfter ? null : _bias.Value[1];

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        using var scope = torch.NewDisposeScope();
        var (h, newStates) = StepProjected(Project(inputs, training), states, training);
        return (h.MoveToOuterDisposeScope(), [newStates[0].MoveToOuterDisposeScope()]);
    }

    internal override Tensor? ProjectInputs(Tensor timeMajorInputs, bool training) => Project(timeMajorInputs, training);

    private Tensor Project(Tensor x, bool training)
    {
        var stepShaped = x.dim() == 3 ? x[0] : x;
        Tensor projected;
        if (Implementation == 1)
        {
            var masks = training ? GetDropoutMasks(stepShaped, 3) : null;
            var kernels = _kernel!.Value.chunk(3, 1);
            projected = torch.cat([
                (masks is null ? x : x.mul(masks[0])).matmul(kernels[0]),
                (masks is null ? x : x.mul(masks[1])).matmul(kernels[1]),
                (masks is null ? x : x.mul(masks[2])).matmul(kernels[2])], -1);
        }
        else
        {
            var dp = training ? GetDropoutMasks(stepShaped) : null;
            projected = (dp is null ? x : x.mul(dp[0])).matmul(_kernel!.Value);
        }
        return InputBias is { } b ? projected.add_(b) : projected;
    }

    internal override (Tensor Output, IReadOnlyList<Tensor> States) StepProjected(Tensor projected, IReadOnlyList<Tensor> states, bool training)
    {
        var h = states[0];
        var rdp = training ? GetRecurrentDropoutMasks(h, 3) : null;
        var kernel = _recurrentKernel!.Value;
        long twoUnits = 2L * Units;
        // The z and r pre-activations in one tensor ((B, 2u), or (2, B, u) from the per-gate products under recurrent
        // dropout), activated in one call where the activation is the element-wise sigmoid.
        Tensor zr, recH;
        bool stacked = rdp is not null;
        var zrInputs = stacked ? projected.reshape(h.shape[0], 3, Units).narrow(1, 0, 2).transpose(0, 1) : projected.narrow(1, 0, twoUnits);
        if (ResetAfter)
        {
            if (rdp is null)
            {
                var inner = h.matmul(kernel);
                if (RecurrentBias is { } rb) inner = inner.add_(rb);
                zr = inner.narrow(1, 0, twoUnits).add(zrInputs);
                recH = inner.narrow(1, twoUnits, Units);
            }
            else
            {
                var products = MaskedRecurrentProducts(h, rdp, kernel, RecurrentBias?.view(3, 1, Units));
                zr = products.narrow(0, 0, 2).add(zrInputs);
                recH = products[2];
            }
        }
        else
        {
            var kernelZr = kernel.narrow(1, 0, twoUnits);
            zr = rdp is null ? h.matmul(kernelZr).add_(zrInputs) : MaskedRecurrentProducts(h, [rdp[0], rdp[1]], kernel, zrInputs);
            recH = kernel.narrow(1, twoUnits, Units);
        }
        Tensor z, r;
        if (ReferenceEquals(RecurrentActivation, ActivationFunction.Sigmoid))
        {
            var gates = zr.sigmoid();
            (z, r) = stacked ? (gates[0], gates[1]) : (gates.narrow(1, 0, Units), gates.narrow(1, Units, Units));
        }
        else
        {
            // Any other activation (softmax over the units, a custom function) sees each gate's (B, u) block on its own, as in Keras.
            (z, r) = stacked
                ? (RecurrentActivation.Call(zr[0]), RecurrentActivation.Call(zr[1]))
                : (RecurrentActivation.Call(zr.narrow(1, 0, Units)), RecurrentActivation.Call(zr.narrow(1, Units, Units)));
        }
        Tensor candidateRecurrent = ResetAfter
            ? r.mul(recH)
            : r.mul(rdp is null ? h : h.mul(rdp[2])).matmul(recH);
        var hh = Activation.Call(projected.narrow(1, twoUnits, Units).add(candidateRecurrent));
        // h' = z·h + (1 − z)·ĥ = ĥ + z·(h − ĥ)
        var newH = hh.lerp(h, z);
        return (newH, [newH]);
    }

    internal override AbstractRNNCell? CloneFresh() => new GRUCell(Units, Activation, RecurrentActivation, UseBias, KernelInitializer, RecurrentInitializer, BiasInitializer, KernelRegularizer, RecurrentRegularizer, BiasRegularizer, KernelConstraint, RecurrentConstraint, BiasConstraint, DropoutRate, RecurrentDropoutRate, Seed, ResetAfter, Implementation, Name);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation;
        c["recurrent_activation"] = RecurrentActivation;
        c["use_bias"] = UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["recurrent_initializer"] = RecurrentInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = KernelRegularizer;
        c["recurrent_regularizer"] = RecurrentRegularizer;
        c["bias_regularizer"] = BiasRegularizer;
        c["kernel_constraint"] = KernelConstraint;
        c["recurrent_constraint"] = RecurrentConstraint;
        c["bias_constraint"] = BiasConstraint;
        c["dropout"] = DropoutRate;
        c["recurrent_dropout"] = RecurrentDropoutRate;
        c["reset_after"] = ResetAfter;
        c["seed"] = Seed;
        return c;
    }
}
