using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// Nadam, Adam with Nesterov momentum (Keras' <c>keras.optimizers.Nadam</c>, Dozat 2015 with the 0.96 momentum
/// schedule): at step t, <c>μₜ = β₁(1 − ½·0.96ᵗ)</c>, <c>Πₜ = Πₜ₋₁·μₜ</c> (kept in the optimizer variable Keras
/// creates after the slots), <c>m ← m + (g − m)(1 − β₁)</c>, <c>v ← v + (g² − v)(1 − β₂)</c>,
/// <c>m̂ = μₜ₊₁·m/(1 − Πₜ·μₜ₊₁) + (1 − μₜ)·g/(1 − Πₜ)</c>, <c>v̂ = v/(1 − β₂ᵗ)</c>,
/// <c>w ← w − lr·m̂/(√v̂ + ε)</c>. Slots per weight: <c>…_momentum</c>, <c>…_velocity</c>.
/// </summary>
public class Nadam : Optimizer
{
    private readonly Scalar _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _epsilon;
    private IReadOnlyList<OptimizerVariable> _momentums = [];
    private IReadOnlyList<OptimizerVariable> _velocities = [];
    private double _uProduct = 1.0;
    // Per-step coefficients, computed once in UpdateSteps.
    private double _mCoefficient, _gCoefficient, _beta2Correction;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.001).</param>
    /// <param name="beta1">Decay of the first moment (default 0.9).</param>
    /// <param name="beta2">Decay of the second moment (default 0.999).</param>
    /// <param name="epsilon">Added to √v̂ (default 1e-7).</param>
    /// <param name="weightDecay">Decoupled weight decay, or null (default null).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>nadam</c>, <c>nadam_1</c>, …).</param>
    public Nadam(LearningRate? learningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
                 double? weightDecay = null, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
                 bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
                 int? gradientAccumulationSteps = null, string? name = null)
        : base(name, learningRate ?? 0.001, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency,
               lossScaleFactor, gradientAccumulationSteps)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        _beta1 = beta1;
        _oneMinusBeta1 = 1.0 - beta1;
        _beta2 = beta2;
        _oneMinusBeta2 = 1.0 - beta2;
        _epsilon = epsilon;
    }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Added to √v̂.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    protected override void BuildVariables(IReadOnlyList<Variable> variables)
    {
        var mv = AddOptimizerVariables(variables, ["momentum", "velocity"]);
        _momentums = mv[0];
        _velocities = mv[1];
        // Keras creates the running product of the momentum schedule as an unnamed variable ("variable", numbered).
        var dtype = variables.Count > 0 ? variables[0].Value.dtype : ScalarType.Float32;
        AddHostScalar(Naming.Uniquify("variable"), dtype, () => _uProduct, v => _uProduct = v);
    }

    /// <inheritdoc />
    protected override void UpdateSteps(IReadOnlyList<Tensor> gradients, IReadOnlyList<Variable> variables, IReadOnlyList<int> variableIndices,
                                        double learningRate)
    {
        long t = Iterations + 1;
        double ut = Beta1 * (1.0 - 0.5 * Math.Pow(0.96, t));
        double utNext = Beta1 * (1.0 - 0.5 * Math.Pow(0.96, t + 1));
        _uProduct *= ut;
        _mCoefficient = utNext / (1.0 - _uProduct * utNext);
        _gCoefficient = (1.0 - ut) / (1.0 - _uProduct);
        _beta2Correction = 1.0 - Math.Pow(Beta2, t);
        base.UpdateSteps(gradients, variables, variableIndices, learningRate);
    }

    /// <inheritdoc />
    protected override void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate)
    {
        var m = _momentums[variableIndex].Value;
        var v = _velocities[variableIndex].Value;
        m.mul_(_beta1).add_(gradient, _oneMinusBeta1);
        v.mul_(_beta2).addcmul_(gradient, gradient, _oneMinusBeta2);
        using Scalar mc = _mCoefficient;
        using Scalar gc = _gCoefficient;
        using Scalar b2 = _beta2Correction;
        using Scalar negLr = -learningRate;
        var mHat = m.mul(mc).add_(gradient, gc);
        var denominator = v.div(b2).sqrt_().add_(_epsilon);
        variable.Value.addcdiv_(mHat, denominator, negLr);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var c = BaseConfig();
        c["beta_1"] = Beta1;
        c["beta_2"] = Beta2;
        c["epsilon"] = Epsilon;
        return c;
    }
}
