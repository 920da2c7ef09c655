using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// RMSprop (Keras' <c>keras.optimizers.RMSprop</c>), with Keras' placement of epsilon (inside the square root):
/// <c>v ← ρ·v + (1 − ρ)·g²</c>, <c>Δ = lr·g/√(v + ε)</c>; centered: also <c>ḡ ← ρ·ḡ + (1 − ρ)·g</c> and
/// <c>Δ = lr·g/√(v − ḡ² + ε)</c>; with momentum μ &gt; 0: <c>m ← μ·m + Δ</c>, <c>w ← w − m</c>, else
/// <c>w ← w − Δ</c>. Slots per weight: <c>…_velocity</c>, then <c>…_momentum</c> (μ &gt; 0), then
/// <c>…_average_gradient</c> (centered), each group for all weights in turn.
/// </summary>
public class RMSprop : Optimizer
{
    private readonly Scalar _rho, _oneMinusRho, _momentum, _epsilon, _minusOne;
    private IReadOnlyList<OptimizerVariable> _velocities = [];
    private IReadOnlyList<OptimizerVariable> _momentums = [];
    private IReadOnlyList<OptimizerVariable> _averageGradients = [];

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.001).</param>
    /// <param name="rho">Discount of the squared-gradient average (default 0.9).</param>
    /// <param name="momentum">Momentum (default 0).</param>
    /// <param name="epsilon">Added under the square root (default 1e-7).</param>
    /// <param name="centered">Normalise by the estimated variance of the gradient (default false).</param>
    /// <param name="weightDecay">Decoupled weight decay, or null (default null).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>rm_sprop</c>, <c>rm_sprop_1</c>, … as Keras).</param>
    public RMSprop(LearningRate? learningRate = null, double rho = 0.9, double momentum = 0.0, double epsilon = 1e-7, bool centered = false,
                   double? weightDecay = null, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
                   bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
                   int? gradientAccumulationSteps = null, string? name = null)
        : base(name, learningRate ?? 0.001, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency,
               lossScaleFactor, gradientAccumulationSteps)
    {
        Rho = rho;
        Momentum = momentum;
        Epsilon = epsilon;
        Centered = centered;
        _rho = rho;
        _oneMinusRho = 1.0 - rho;
        _momentum = momentum;
        _epsilon = epsilon;
        _minusOne = -1.0;
    }

    /// <summary>Discount of the squared-gradient average.</summary>
    public double Rho { get; }

    /// <summary>Momentum.</summary>
    public double Momentum { get; }

    /// <summary>Added under the square root.</summary>
    public double Epsilon { get; }

    /// <summary>Whether the centered variant is used.</summary>
    public bool Centered { get; }

    /// <inheritdoc />
    protected override void BuildVariables(IReadOnlyList<Variable> variables)
    {
        _velocities = AddOptimizerVariables(variables, "velocity");
        if (Momentum > 0) _momentums = AddOptimizerVariables(variables, "momentum");
        if (Centered) _averageGradients = AddOptimizerVariables(variables, "average_gradient");
    }

    /// <inheritdoc />
    protected override void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate)
    {
        var v = _velocities[variableIndex].Value;
        v.mul_(_rho).addcmul_(gradient, gradient, _oneMinusRho);
        var denominator = v.add(_epsilon);
        if (Centered)
        {
            var a = _averageGradients[variableIndex].Value;
            a.mul_(_rho).add_(gradient, _oneMinusRho);
            denominator.addcmul_(a, a, _minusOne);
        }
        denominator.sqrt_();
        if (Momentum > 0)
        {
            var m = _momentums[variableIndex].Value;
            using Scalar lr = learningRate;
            m.mul_(_momentum).addcdiv_(gradient, denominator, lr);
            variable.Value.sub_(m);
        }
        else
        {
            using Scalar negLr = -learningRate;
            variable.Value.addcdiv_(gradient, denominator, negLr);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var c = BaseConfig();
        c["rho"] = Rho;
        c["momentum"] = Momentum;
        c["epsilon"] = Epsilon;
        c["centered"] = Centered;
        return c;
    }
}
