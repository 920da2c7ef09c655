using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// One step of a Long Short-Term Memory network (Keras' <c>LSTMCell</c>): with <c>z = x·W + h·U + b</c> split into
/// gate blocks <c>[i | f | c | o]</c>, <c>c' = σ(f)·c + σ(i)·tanh(z_c)</c> and <c>h' = σ(o)·tanh(c')</c> (σ is the
/// recurrent activation). Kernel <c>(input_dim, 4·units)</c>, recurrent kernel <c>(units, 4·units)</c>, bias
/// <c>(4·units,)</c>; states <c>[h, c]</c>.
/// </summary>
public sealed class LSTMCell : AbstractRNNCell
{
    private Variable? _kernel, _recurrentKernel, _bias;

    /// <summary>Creates the cell.</summary>
    /// <param name="units">State size, positive.</param>
    /// <param name="activation">Activation of the candidate and the output (default <c>"tanh"</c>).</param>
    /// <param name="recurrentActivation">Gate activation (default <c>"sigmoid"</c>).</param>
    /// <param name="useBias">Whether to add a bias (default <c>true</c>).</param>
    /// <param name="kernelInitializer">Default <c>"glorot_uniform"</c>.</param>
    /// <param name="recurrentInitializer">Default <c>"orthogonal"</c>.</param>
    /// <param name="biasInitializer">Default <c>"zeros"</c>.</param>
    /// <param name="unitForgetBias">Initialise the forget-gate bias to 1 (default <c>true</c>; only the initial value).</param>
    /// <param name="kernelRegularizer">Default none.</param>
    /// <param name="recurrentRegularizer">Default none.</param>
    /// <param name="biasRegularizer">Default none.</param>
    /// <param name="kernelConstraint">Default none.</param>
    /// <param name="recurrentConstraint">Default none.</param>
    /// <param name="biasConstraint">Default none.</param>
    /// <param name="dropout">Fraction of the inputs dropped during training (default 0).</param>
    /// <param name="recurrentDropout">Fraction of the recurrent state dropped during training (default 0); when
    /// non-zero, Keras' implementation 1 is used (one mask per gate).</param>
    /// <param name="seed">Kept for Keras compatibility (default <c>null</c>).</param>
    /// <param name="implementation">Keras' implementation mode, 1 (per-gate products and dropout masks) or 2 (default, fused).</param>
    /// <param name="name">Name (default <c>lstm_cell</c>, made unique).</param>
    /// <exception cref="ArgumentException">Invalid units or implementation.</exception>
    public LSTMCell(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool unitForgetBias = true, Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null,
        Regularizer? biasRegularizer = null, Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null,
        Constraint? biasConstraint = null, double dropout = 0.0, double recurrentDropout = 0.0, int? seed = null,
        int implementation = 2, string? name = null) : base(name)
    {
        if (units <= 0)
            throw new ArgumentException($"LSTMCell: received an invalid value for argument `units`, expected a positive integer, got {units}.", nameof(units));
        if (implementation is not (1 or 2))
            throw new ArgumentException($"LSTMCell: implementation must be 1 or 2, got {implementation}.", nameof(implementation));
        Units = units;
        Activation = activation ?? ActivationFunction.Tanh;
        RecurrentActivation = recurrentActivation ?? ActivationFunction.Sigmoid;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        RecurrentInitializer = recurrentInitializer ?? new Orthogonal();
        BiasInitializer = biasInitializer ?? new Zeros();
        UnitForgetBias = unitForgetBias;
        KernelRegularizer = kernelRegularizer;
        RecurrentRegularizer = recurrentRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        RecurrentConstraint = recurrentConstraint;
        BiasConstraint = biasConstraint;
        DropoutRate = Math.Clamp(dropout, 0.0, 1.0);
        RecurrentDropoutRate = Math.Clamp(recurrentDropout, 0.0, 1.0);
        Seed = seed;
        Implementation = RecurrentDropoutRate != 0.0 ? 1 : implementation;
    }

    /// <summary>State size.</summary>
    public int Units { get; }
    /// <summary>Activation of candidate and output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Gate activation.</summary>
    public ActivationFunction RecurrentActivation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Recurrent kernel initializer.</summary>
    public Initializer RecurrentInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Whether the forget-gate bias starts at 1.</summary>
    public bool UnitForgetBias { get; }
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
    /// <summary>Keras' implementation mode (1 when recurrent dropout is used).</summary>
    public int Implementation { get; }

    /// <summary>The kernel <c>(input_dim, 4·units)</c>, once built.</summary>
    public Variable? Kernel => _kernel;
    /// <summary>The recurrent kernel <c>(units, 4·units)</c>, once built.</summary>
    public Variable? RecurrentKernel => _recurrentKernel;
    /// <summary>The bias <c>(4·units,)</c>, once built (if used).</summary>
    public Variable? Bias => _bias;

    /// <inheritdoc />
    public override IReadOnlyList<int> StateSize => [Units, Units];

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var inputDim = inputShapes[0][-1] ?? throw new KerasLayerException(this, $"the last input dimension must be known, got {inputShapes[0]}.");
        _kernel = AddWeight("kernel", [inputDim, 4L * Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        _recurrentKernel = AddWeight("recurrent_kernel", [Units, 4L * Units], RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        if (UseBias)
        {
            var init = UnitForgetBias ? new UnitForgetBiasInitializer(BiasInitializer, Units) : BiasInitializer;
            _bias = AddWeight("bias", [4L * Units], init, BiasRegularizer, BiasConstraint);
        }
    }

    /// <summary>Keras' unit-forget-bias initial value: <c>[init(u), ones(u), init(2u)]</c>.</summary>
    private sealed class UnitForgetBiasInitializer(Initializer inner, int units) : Initializer
    {
        public override Tensor Call(long[] shape)
        {
            using var a = inner.Call([units]);
            using var b = torch.ones(units, ScalarType.Float32);
            using var c = inner.Call([2L * units]);
            return torch.cat([a, b, c]);
        }

        public override IReadOnlyDictionary<string, object?> GetConfig() => inner.GetConfig();
    }

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        using var scope = torch.NewDisposeScope();
        var projected = Project(inputs, training);
        var (h, newStates) = StepProjected(projected, states, training);
        return (h.MoveToOuterDisposeScope(), newStates.Select(s => s.MoveToOuterDisposeScope()).ToList());
    }

    internal override Tensor? ProjectInputs(Tensor timeMajorInputs, bool training) => Project(timeMajorInputs, training);

    /// <summary><c>x·W + b</c> with input dropout, for one step <c>(B, F)</c> or a whole sequence <c>(T, B, F)</c>.</summary>
    private Tensor Project(Tensor x, bool training)
    {
        var stepShaped = x.dim() == 3 ? x[0] : x;
        if (Implementation == 1)
        {
            var masks = training ? GetDropoutMasks(stepShaped, 4) : null;
            var kernels = _kernel!.Value.chunk(4, 1);
            var parts = new Tensor[4];
            for (int g = 0; g < 4; g++) parts[g] = (masks is null ? x : x.mul(masks[g])).matmul(kernels[g]);
            var z = torch.cat(parts, -1);
            return _bias is null ? z : z.add_(_bias.Value);
        }
        var dp = training ? GetDropoutMasks(stepShaped) : null;
        var projected = (dp is null ? x : x.mul(dp[0])).matmul(_kernel!.Value);
        return _bias is null ? projected : projected.add_(_bias.Value);
    }

    internal override (Tensor Output, IReadOnlyList<Tensor> States) StepProjected(Tensor projected, IReadOnlyList<Tensor> states, bool training)
    {
        var h = states[0];
        var c = states[1];
        var rdp = training ? GetRecurrentDropoutMasks(h, 4) : null;
        // With recurrent dropout, gate g's product is (h ⊙ m_g)·U_g, the projected input added in the same batched call.
        var gates = rdp is null
            ? projected.add(h.matmul(_recurrentKernel!.Value)).chunk(4, 1)
            : MaskedRecurrentProducts(h, rdp, _recurrentKernel!.Value, projected.reshape(h.shape[0], 4, Units).transpose(0, 1)).unbind(0);
        var i = RecurrentActivation.Call(gates[0]);
        var f = RecurrentActivation.Call(gates[1]);
        var newC = f.mul(c).add_(i.mul(Activation.Call(gates[2])));
        var o = RecurrentActivation.Call(gates[3]);
        var newH = o.mul(Activation.Call(newC));
        return (newH, [newH, newC]);
    }

    internal override AbstractRNNCell? CloneFresh() => new LSTMCell(Units, Activation, RecurrentActivation, UseBias, KernelInitializer, RecurrentInitializer, BiasInitializer, UnitForgetBias, KernelRegularizer, RecurrentRegularizer, BiasRegularizer, KernelConstraint, RecurrentConstraint, BiasConstraint, DropoutRate, RecurrentDropoutRate, Seed, Implementation, Name);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation;
        c["recurrent_activation"] = RecurrentActivation;
        c["use_bias"] = UseBias;
        c["unit_forget_bias"] = UnitForgetBias;
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
        c["seed"] = Seed;
        return c;
    }
}
