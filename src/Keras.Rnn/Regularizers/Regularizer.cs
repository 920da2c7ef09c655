using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Regularizers;

/// <summary>
/// A penalty on a weight added to the training loss (Keras' <c>keras.regularizers</c>). Accepts Keras' string
/// identifiers <c>"l1"</c>, <c>"l2"</c> (factor 0.01) and <c>"l1_l2"</c> (factors 0, as in Keras 3).
/// </summary>
public abstract class Regularizer
{
    /// <summary>The penalty for <paramref name="x"/>, a scalar tensor.</summary>
    /// <param name="x">The weight.</param>
    public abstract Tensor Call(Tensor x);

    /// <summary>Keras' config of the regularizer.</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Keras' class name.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>Resolves <c>"l1"</c>, <c>"l2"</c> or <c>"l1_l2"</c>.</summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier.</exception>
    public static Regularizer Get(string identifier) => Naming.NormalizeIdentifier(identifier) switch
    {
        "l1" => new L1(),
        "l2" => new L2(),
        "l1_l2" or "l1l2" => new L1L2(),
        _ => throw new ArgumentException($"Unknown regularizer identifier '{identifier}'. Known: l1, l2, l1_l2.", nameof(identifier)),
    };

    /// <summary>Converts a Keras identifier.</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Regularizer(string identifier) => Get(identifier);
}

/// <summary>L1 penalty <c>l1 · Σ|x|</c>.</summary>
/// <param name="l1">Factor (default 0.01).</param>
public sealed class L1(double l1 = 0.01) : Regularizer
{
    /// <summary>Factor.</summary>
    public double Factor { get; } = l1;

    /// <inheritdoc />
    public override Tensor Call(Tensor x) => x.abs().sum().mul(Factor);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l1"] = Factor };
}

/// <summary>L2 penalty <c>l2 · Σx²</c>.</summary>
/// <param name="l2">Factor (default 0.01).</param>
public sealed class L2(double l2 = 0.01) : Regularizer
{
    /// <summary>Factor.</summary>
    public double Factor { get; } = l2;

    /// <inheritdoc />
    public override Tensor Call(Tensor x) => x.square().sum().mul(Factor);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l2"] = Factor };
}

/// <summary>Both penalties: <c>l1 · Σ|x| + l2 · Σx²</c>.</summary>
/// <param name="l1">L1 factor (default 0).</param>
/// <param name="l2">L2 factor (default 0).</param>
public sealed class L1L2(double l1 = 0.0, double l2 = 0.0) : Regularizer
{
    /// <summary>L1 factor.</summary>
    public double L1 { get; } = l1;
    /// <summary>L2 factor.</summary>
    public double L2 { get; } = l2;

    /// <inheritdoc />
    public override Tensor Call(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.zeros([], x.dtype, x.device);
        if (L1 != 0) r = r.add(x.abs().sum().mul(L1));
        if (L2 != 0) r = r.add(x.square().sum().mul(L2));
        return r.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => new Dictionary<string, object?> { ["l1"] = L1, ["l2"] = L2 };
}
