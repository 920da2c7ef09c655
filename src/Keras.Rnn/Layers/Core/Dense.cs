using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Densely connected layer (Keras' <c>Dense</c>): <c>output = activation(inputs · kernel + bias)</c>, applied to the
/// last axis, so a <c>(batch, time, features)</c> input gives <c>(batch, time, units)</c>. Kernel shape
/// <c>(input_dim, units)</c>, bias <c>(units,)</c>. Passes masks on.
/// </summary>
/// <example>
/// <code>
/// var model = new Sequential(new InputLayer([16]), new Dense(32, activation: "relu"), new Dense(1));
/// </code>
/// </example>
public sealed class Dense : Layer
{
    private Variable? _kernel;
    private Variable? _bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="units">Output size, positive.</param>
    /// <param name="activation">Activation (default <c>null</c>: linear).</param>
    /// <param name="useBias">Whether to add a bias (default <c>true</c>).</param>
    /// <param name="kernelInitializer">Kernel initializer (default <c>"glorot_uniform"</c>).</param>
    /// <param name="biasInitializer">Bias initializer (default <c>"zeros"</c>).</param>
    /// <param name="kernelRegularizer">Kernel penalty (default none).</param>
    /// <param name="biasRegularizer">Bias penalty (default none).</param>
    /// <param name="kernelConstraint">Kernel constraint (default none).</param>
    /// <param name="biasConstraint">Bias constraint (default none).</param>
    /// <param name="name">Name (default <c>dense</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="units"/> is not positive.</exception>
    public Dense(int units, ActivationFunction? activation = null, bool useBias = true, Initializer? kernelInitializer = null,
        Initializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null, string? name = null) : base(name)
    {
        if (units <= 0)
            throw new ArgumentException($"Dense: received an invalid value for argument `units`, expected a positive integer, got {units}.", nameof(units));
        Units = units;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
        SupportsMasking = true;
        InputSpec = new InputSpec(minNdim: 2);
    }

    /// <summary>Output size.</summary>
    public int Units { get; }
    /// <summary>Activation.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Kernel constraint.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Bias constraint.</summary>
    public Constraint? BiasConstraint { get; }

    /// <summary>The kernel, <c>(input_dim, units)</c>, once built.</summary>
    public Variable? Kernel => _kernel;
    /// <summary>The bias, <c>(units,)</c>, once built (if used).</summary>
    public Variable? Bias => _bias;

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var inputDim = inputShapes[0][-1] ?? throw new KerasLayerException(this,
            $"the last dimension of the inputs must be known, but the input shape is {inputShapes[0]}.");
        _kernel = AddWeight("kernel", [inputDim, Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        if (UseBias) _bias = AddWeight("bias", [Units], BiasInitializer, BiasRegularizer, BiasConstraint);
        InputSpec = new InputSpec(minNdim: 2, axes: new Dictionary<int, int> { [-1] = inputDim });
    }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        using var scope = torch.NewDisposeScope();
        var y = torch.nn.functional.linear(inputs, _kernel!.Value.t(), _bias?.Value);
        return (ReferenceEquals(Activation, ActivationFunction.Linear) ? y : Activation.Call(y)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        [inputShapes[0].With(-1, Units)];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation;
        c["use_bias"] = UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = KernelRegularizer;
        c["bias_regularizer"] = BiasRegularizer;
        c["kernel_constraint"] = KernelConstraint;
        c["bias_constraint"] = BiasConstraint;
        c["quantization_config"] = null;
        return c;
    }
}
