using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// One step of a fully connected recurrent network (Keras' <c>SimpleRNNCell</c>):
/// <c>h' = activation(x · kernel + bias + h · recurrent_kernel)</c>. Kernel <c>(input_dim, units)</c>, recurrent kernel
/// <c>(units, units)</c>, bias <c>(units,)</c>. Use it with <see cref="RNN"/>, or use <see cref="SimpleRNN"/>.
/// </summary>
public sealed class SimpleRNNCell : AbstractRNNCell
{
    private Variable? _kernel, _recurrentKernel, _bias;

    /// <summary>Creates the cell.</summary>
    /// <param name="units">State size, positive.</param>
    /// <param name="activation">Activation (default <c>"tanh"</c>).</param>
    /// <param name="useBias">Whether to add a bias (default <c>true</c>).</param>
    /// <param name="kernelInitializer">Default <c>"glorot_uniform"</c>.</param>
    /// <param name="recurrentInitializer">Default <c>"orthogonal"</c>.</param>
    /// <param name="biasInitializer">Default <c>"zeros"</c>.</param>
    /// <param name="kernelRegularizer">Default none.</param>
    /// <param name="recurrentRegularizer">Default none.</param>
    /// <param name="biasRegularizer">Default none.</param>
    /// <param name="kernelConstraint">Default none.</param>
    /// <param name="recurrentConstraint">Default none.</param>
    /// <param name="biasConstraint">Default none.</param>
    /// <param name="dropout">Fraction of the inputs dropped during training, one mask per sequence (default 0).</param>
    /// <param name="recurrentDropout">Fraction of the previous state dropped during training (default 0).</param>
    /// <param name="seed">Kept for Keras compatibility; seed globally with <see cref="KerasApi.SetRandomSeed"/> (default <c>null</c>).</param>
    /// <param name="name">Name (default <c>simple_rnn_cell</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="units"/> is not positive.</exception>
    public SimpleRNNCell(int units, ActivationFunction? activation = null, bool useBias = true, Initializer? kernelInitializer = null,
        Initializer? recurrentInitializer = null, Initializer? biasInitializer = null, Regularizer? kernelRegularizer = null,
        Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null, Constraint? kernelConstraint = null,
        Constraint? recurrentConstraint = null, Constraint? biasConstraint = null, double dropout = 0.0, double recurrentDropout = 0.0,
        int? seed = null, string? name = null) : base(name)
    {
        if (units <= 0)
            throw new ArgumentException($"SimpleRNNCell: received an invalid value for argument `units`, expected a positive integer, got {units}.", nameof(units));
        Units = units;
        Activation = activation ?? ActivationFunction.Tanh;
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
    }

    /// <summary>State size.</summary>
    public int Units { get; }
    /// <summary>Activation.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
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

    /// <summary>The kernel <c>(input_dim, units)</c>, once built.</summary>
    public Variable? Kernel => _kernel;
    /// <summary>The recurrent kernel <c>(units, units)</c>, once built.</summary>
    public Variable? RecurrentKernel => _recurrentKernel;
    /// <summary>The bias <c>(units,)</c>, once built (if used).</summary>
    public Variable? Bias => _bias;

    /// <inheritdoc />
    public override IReadOnlyList<int> StateSize => [Units];

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var inputDim = inputShapes[0][-1] ?? throw new KerasLayerException(this, $"the last input dimension must be known, got {inputShapes[0]}.");
        _kernel = AddWeight("kernel", [inputDim, Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        _recurrentKernel = AddWeight("recurrent_kernel", [Units, Units], RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        if (UseBias) _bias = AddWeight("bias", [Units], BiasInitializer, BiasRegularizer, BiasConstraint);
    }

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        var x = inputs;
        if (training && GetDropoutMasks(inputs) is { } dp) x = x.mul(dp[0]);
        var h = x.matmul(_kernel!.Value);
        if (_bias is not null) h = h.add(_bias.Value);
        return StepProjected(h, states, training);
    }

    internal override Tensor? ProjectInputs(Tensor timeMajorInputs, bool training)
    {
        var x = timeMajorInputs;
        if (training && GetDropoutMasks(timeMajorInputs[0]) is { } dp) x = x.mul(dp[0]);
        var h = x.matmul(_kernel!.Value);
        return _bias is null ? h : h.add_(_bias.Value);
    }

    internal override (Tensor Output, IReadOnlyList<Tensor> States) StepProjected(Tensor projected, IReadOnlyList<Tensor> states, bool training)
    {
        var prev = states[0];
        if (training && GetRecurrentDropoutMasks(prev) is { } rdp) prev = prev.mul(rdp[0]);
        var output = Activation.Call(projected.add(prev.matmul(_recurrentKernel!.Value)));
        return (output, [output]);
    }

    internal override AbstractRNNCell? CloneFresh() => new SimpleRNNCell(Units, Activation, UseBias, KernelInitializer, RecurrentInitializer, BiasInitializer, KernelRegularizer, RecurrentRegularizer, BiasRegularizer, KernelConstraint, RecurrentConstraint, BiasConstraint, DropoutRate, RecurrentDropoutRate, Seed, Name);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation;
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
        c["seed"] = Seed;
        return c;
    }
}
