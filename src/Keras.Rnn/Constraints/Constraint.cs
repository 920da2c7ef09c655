using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Constraints;

/// <summary>
/// A projection applied to a weight after every optimizer update (Keras' <c>keras.constraints</c>). Accepts Keras'
/// identifiers <c>"max_norm"</c>, <c>"min_max_norm"</c>, <c>"non_neg"</c>, <c>"unit_norm"</c>.
/// </summary>
public abstract class Constraint
{
    /// <summary>Keras' <c>backend.epsilon()</c>, used by the norm constraints.</summary>
    protected const double Epsilon = 1e-7;

    /// <summary>Returns the projected weight.</summary>
    /// <param name="w">The weight after an update (Keras layout).</param>
    public abstract Tensor Call(Tensor w);

    /// <summary>Keras' config of the constraint.</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Keras' class name.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>Resolves a Keras identifier.</summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier.</exception>
    public static Constraint Get(string identifier) => Naming.NormalizeIdentifier(identifier) switch
    {
        "max_norm" => new MaxNorm(),
        "min_max_norm" => new MinMaxNorm(),
        "non_neg" => new NonNeg(),
        "unit_norm" => new UnitNorm(),
        _ => throw new ArgumentException($"Unknown constraint identifier '{identifier}'. Known: max_norm, min_max_norm, non_neg, unit_norm.", nameof(identifier)),
    };

    /// <summary>Converts a Keras identifier.</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Constraint(string identifier) => Get(identifier);

    /// <summary>√(Σ w² over <paramref name="axis"/>), keeping dimensions.</summary>
    protected static Tensor Norms(Tensor w, int axis) => w.square().sum(axis, keepdim: true).sqrt();
}

/// <summary>Caps the L2 norm of each slice along <c>axis</c> at <c>maxValue</c>.</summary>
/// <param name="maxValue">Maximum norm (default 2).</param>
/// <param name="axis">Axis along which norms are computed (default 0: per output unit of a kernel).</param>
public sealed class MaxNorm(double maxValue = 2.0, int axis = 0) : Constraint
{
    /// <summary>Maximum norm.</summary>
    public double MaxValue { get; } = maxValue;
    /// <summary>Norm axis.</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    public override Tensor Call(Tensor w)
    {
        using var scope = torch.NewDisposeScope();
        var norms = Norms(w, Axis);
        var desired = norms.clamp(0, MaxValue);
        return w.mul(desired.div(norms.add(Epsilon))).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["max_value"] = MaxValue, ["axis"] = Axis };
}

/// <summary>Keeps the L2 norm of each slice along <c>axis</c> between <c>minValue</c> and <c>maxValue</c>, moving by <c>rate</c>.</summary>
/// <param name="minValue">Minimum norm (default 0).</param>
/// <param name="maxValue">Maximum norm (default 1).</param>
/// <param name="rate">Rate of enforcement, 1 = strict (default 1).</param>
/// <param name="axis">Norm axis (default 0).</param>
public sealed class MinMaxNorm(double minValue = 0.0, double maxValue = 1.0, double rate = 1.0, int axis = 0) : Constraint
{
    /// <summary>Minimum norm.</summary>
    public double MinValue { get; } = minValue;
    /// <summary>Maximum norm.</summary>
    public double MaxValue { get; } = maxValue;
    /// <summary>Rate of enforcement.</summary>
    public double Rate { get; } = rate;
    /// <summary>Norm axis.</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    public override Tensor Call(Tensor w)
    {
        using var scope = torch.NewDisposeScope();
        var norms = Norms(w, Axis);
        var desired = norms.clamp(MinValue, MaxValue).mul(Rate).add(norms.mul(1 - Rate));
        return w.mul(desired.div(norms.add(Epsilon))).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["min_value"] = MinValue, ["max_value"] = MaxValue, ["rate"] = Rate, ["axis"] = Axis };
}

/// <summary>Sets negative weights to zero.</summary>
public sealed class NonNeg : Constraint
{
    /// <inheritdoc />
    public override Tensor Call(Tensor w)
    {
        using var ge = w.ge(0.0);
        return w.mul(ge);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?>();
}

/// <summary>Scales each slice along <c>axis</c> to unit L2 norm.</summary>
/// <param name="axis">Norm axis (default 0).</param>
public sealed class UnitNorm(int axis = 0) : Constraint
{
    /// <summary>Norm axis.</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    public override Tensor Call(Tensor w)
    {
        using var scope = torch.NewDisposeScope();
        return w.div(Norms(w, Axis).add(Epsilon)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["axis"] = Axis };
}
