using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// Adagrad (Keras' <c>keras.optimizers.Adagrad</c>): <c>a ← a + g²</c> (a starts at
/// <c>initialAccumulatorValue</c>), <c>w ← w − lr·g/√(a + ε)</c>. Slot per weight: <c>…_accumulator</c>.
/// </summary>
public class Adagrad : Optimizer
{
    private readonly Scalar _epsilon, _one;
    private IReadOnlyList<OptimizerVariable> _accumulators = [];

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.001).</param>
    /// <param name="initialAccumulatorValue">Starting value of the accumulators, ≥ 0 (default 0.1).</param>
    /// <param name="epsilon">Added under the square root (default 1e-7).</param>
    /// <param name="weightDecay">Decoupled weight decay, or null (default null).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>adagrad</c>, <c>adagrad_1</c>, …).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialAccumulatorValue"/> is negative.</exception>
    public Adagrad(LearningRate? learningRate = null, double initialAccumulatorValue = 0.1, double epsilon = 1e-7,
                   double? weightDecay = null, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
                   bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
                   int? gradientAccumulationSteps = null, string? name = null)
        : base(name, learningRate ?? 0.001, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency,
               lossScaleFactor, gradientAccumulationSteps)
    {
        if (!(initialAccumulatorValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(initialAccumulatorValue), initialAccumulatorValue, "initial_accumulator_value must be non-negative.");
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = epsilon;
        _epsilon = epsilon;
        _one = 1.0;
    }

    /// <summary>Starting value of the accumulators.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>Added under the square root.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    protected override void BuildVariables(IReadOnlyList<Variable> variables) =>
        _accumulators = AddOptimizerVariables(variables, "accumulator", InitialAccumulatorValue);

    /// <inheritdoc />
    protected override void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate)
    {
        var a = _accumulators[variableIndex].Value;
        a.addcmul_(gradient, gradient, _one);
        var denominator = a.add(_epsilon).sqrt_();
        using Scalar negLr = -learningRate;
        variable.Value.addcdiv_(gradient, denominator, negLr);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var c = BaseConfig();
        c["initial_accumulator_value"] = InitialAccumulatorValue;
        c["epsilon"] = Epsilon;
        return c;
    }
}
