using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// Gradient descent with optional momentum (Keras' <c>keras.optimizers.SGD</c>). Without momentum
/// <c>w ← w − lr·g</c>; with momentum μ, <c>m ← μ·m − lr·g</c> then <c>w ← w + m</c>, or with Nesterov
/// <c>w ← w + μ·m − lr·g</c>. The momentum slots (<c>…_momentum</c>) exist only when μ ≠ 0.
/// </summary>
public class SGD : Optimizer
{
    private readonly Scalar _momentum;
    private IReadOnlyList<OptimizerVariable> _momentums = [];

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Learning rate or schedule (default 0.01).</param>
    /// <param name="momentum">Momentum in [0, 1] (default 0).</param>
    /// <param name="nesterov">Whether to use Nesterov momentum (default false).</param>
    /// <param name="weightDecay">Decoupled weight decay, or null (default null).</param>
    /// <param name="clipnorm">Per-variable gradient norm clip, or null (default null).</param>
    /// <param name="clipvalue">Element-wise gradient clip, or null (default null).</param>
    /// <param name="globalClipnorm">Global gradient norm clip, or null (default null).</param>
    /// <param name="useEma">Keep a moving average of the weights (default false).</param>
    /// <param name="emaMomentum">EMA momentum (default 0.99).</param>
    /// <param name="emaOverwriteFrequency">Overwrite weights with their EMA every this many steps, or null (default null).</param>
    /// <param name="lossScaleFactor">Loss scale factor, or null (default null).</param>
    /// <param name="gradientAccumulationSteps">Gradient accumulation steps (≥ 2), or null (default null).</param>
    /// <param name="name">Name (default: automatic, <c>sgd</c>, <c>sgd_1</c>, …).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> is outside [0, 1].</exception>
    public SGD(LearningRate? learningRate = null, double momentum = 0.0, bool nesterov = false,
               double? weightDecay = null, double? clipnorm = null, double? clipvalue = null, double? globalClipnorm = null,
               bool useEma = false, double emaMomentum = 0.99, int? emaOverwriteFrequency = null, double? lossScaleFactor = null,
               int? gradientAccumulationSteps = null, string? name = null)
        : base(name, learningRate ?? 0.01, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency,
               lossScaleFactor, gradientAccumulationSteps)
    {
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "`momentum` must be a float between [0, 1].");
        Momentum = momentum;
        Nesterov = nesterov;
        _momentum = momentum;
    }

    /// <summary>Momentum.</summary>
    public double Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    protected override void BuildVariables(IReadOnlyList<Variable> variables)
    {
        if (Momentum != 0) _momentums = AddOptimizerVariables(variables, "momentum");
    }

    /// <inheritdoc />
    protected override void UpdateStep(Tensor gradient, Variable variable, int variableIndex, double learningRate)
    {
        var w = variable.Value;
        using Scalar negLr = -learningRate;
        if (Momentum != 0)
        {
            var m = _momentums[variableIndex].Value;
            m.mul_(_momentum).add_(gradient, negLr);
            if (Nesterov) w.add_(gradient, negLr).add_(m, _momentum);
            else w.add_(m);
        }
        else
        {
            w.add_(gradient, negLr);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var c = BaseConfig();
        c["momentum"] = Momentum;
        c["nesterov"] = Nesterov;
        return c;
    }
}
