using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// Adam (Keras' <c>keras.optimizers.Adam</c>), with Keras' placement of epsilon (outside the bias correction, unlike
/// <c>torch.optim.Adam</c>): at step t, <c>α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)</c>, <c>m ← m + (g − m)(1 − β₁)</c>,
/// <c>v ← v + (g² − v)(1 − β₂)</c>, <c>w ← w − α·m/(√v + ε)</c>; with AMSGrad <c>v̂ ← max(v̂, v)</c> replaces v in
/// the last step. Slots per weight: <c>…_momentum</c>, <c>…_velocity</c> (and <c>…_velocity_hat</c> with AMSGrad).
/// </summary>
public class Adam : Optimizer
{
    private readonly Scalar _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _epsilon;
    private IReadOnlyList<OptimizerVariable> _momentums = [];
    private IReadOnlyList<OptimizerVariable> _velocities = [];
    private IReadOnlyList<OptimizerVariable> _velocityHats = [];

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.001).</param>
    /// <param name="beta1">Decay of the first moment (default 0.9).</param>
    /// <param name="beta2">Decay of the second moment (default 0.999).</param>
    /// <param name="epsilon">Added to √v (default 1e-7).</param>
    /// <param name="amsgrad">Use the AMSGrad variant (default false).</param>
    /// <param name="weightDecay">Decoupled weight decay, or null (default null).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>adam</c>, <c>adam_1</c>, …).</param>
    public Adam(LearningRate? learningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false,
                double? weightDecay = null, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
                bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
                int? gradientAccumulationSteps = null, string? name = null)
        : base(name, learningRate ?? 0.001, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency,
               lossScaleFactor, gradientAccumulationSteps)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        Amsgrad = amsgrad;
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

    /// <summary>Added to √v.</summary>
    public double Epsilon { get; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool Amsgrad { get; }

    /// <inheritdoc />
    protected override void BuildVariables(IReadOnlyList<Variable> variables)
    {
        var mv = AddOptimizerVariables(variables, ["momentum", "velocity"]);
        _momentums = mv[0];
        _velocities = mv[1];
        if (Amsgrad) _velocityHats = AddOptimizerVariables(variables, "velocity_hat");
    }

    /// <inheritdoc />
    protected override void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate)
    {
        long t = Iterations + 1;
        double alpha = learningRate * Math.Sqrt(1.0 - Math.Pow(Beta2, t)) / (1.0 - Math.Pow(Beta1, t));
        var m = _momentums[variableIndex].Value;
        var v = _velocities[variableIndex].Value;
        m.mul_(_beta1).add_(gradient, _oneMinusBeta1);
        v.mul_(_beta2).addcmul_(gradient, gradient, _oneMinusBeta2);
        if (Amsgrad)
        {
            var vHat = _velocityHats[variableIndex].Value;
            vHat.copy_(vHat.maximum(v));
            v = vHat;
        }
        var denominator = v.sqrt().add_(_epsilon);
        using Scalar negAlpha = -alpha;
        variable.Value.addcdiv_(m, denominator, negAlpha);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var c = BaseConfig();
        c["beta_1"] = Beta1;
        c["beta_2"] = Beta2;
        c["epsilon"] = Epsilon;
        c["amsgrad"] = Amsgrad;
        return c;
    }
}
