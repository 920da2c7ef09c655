using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Initializers;

/// <summary>Normal distribution N(mean, stddev²) (<c>"random_normal"</c>).</summary>
/// <param name="mean">Mean (default 0).</param>
/// <param name="stddev">Standard deviation (default 0.05).</param>
/// <param name="seed">Seed; a seeded initializer returns the same values at every call (default <c>null</c>: global RNG).</param>
public sealed class RandomNormal(double mean = 0.0, double stddev = 0.05, int? seed = null) : Initializer
{
    /// <summary>Mean.</summary>
    public double Mean { get; } = mean;
    /// <summary>Standard deviation.</summary>
    public double Stddev { get; } = stddev;
    /// <summary>Seed or <c>null</c>.</summary>
    public int? Seed { get; } = seed;

    /// <inheritdoc />
    public override Tensor Call(long[] shape)
    {
        using var g = MakeGenerator(Seed);
        using var n = torch.randn(shape, ScalarType.Float32, generator: g);
        return n.mul(Stddev).add_(Mean);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["mean"] = Mean, ["stddev"] = Stddev, ["seed"] = Seed };
}

/// <summary>Uniform distribution on [minval, maxval) (<c>"random_uniform"</c>).</summary>
/// <param name="minval">Lower bound (default -0.05).</param>
/// <param name="maxval">Upper bound (default 0.05).</param>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class RandomUniform(double minval = -0.05, double maxval = 0.05, int? seed = null) : Initializer
{
    /// <summary>Lower bound.</summary>
    public double Minval { get; } = minval;
    /// <summary>Upper bound.</summary>
    public double Maxval { get; } = maxval;
    /// <summary>Seed or <c>null</c>.</summary>
    public int? Seed { get; } = seed;

    /// <inheritdoc />
    public override Tensor Call(long[] shape)
    {
        using var g = MakeGenerator(Seed);
        using var u = torch.rand(shape, ScalarType.Float32, generator: g);
        return u.mul(Maxval - Minval).add_(Minval);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["minval"] = Minval, ["maxval"] = Maxval, ["seed"] = Seed };
}

/// <summary>Normal distribution truncated to two standard deviations around the mean (<c>"truncated_normal"</c>).</summary>
/// <param name="mean">Mean (default 0).</param>
/// <param name="stddev">Standard deviation before truncation (default 0.05).</param>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class TruncatedNormal(double mean = 0.0, double stddev = 0.05, int? seed = null) : Initializer
{
    /// <summary>Mean.</summary>
    public double Mean { get; } = mean;
    /// <summary>Standard deviation before truncation.</summary>
    public double Stddev { get; } = stddev;
    /// <summary>Seed or <c>null</c>.</summary>
    public int? Seed { get; } = seed;

    /// <inheritdoc />
    public override Tensor Call(long[] shape) => Sample(shape, Mean, Stddev, Seed);

    /// <summary>Samples N(mean, std²) restricted to [mean − 2·std, mean + 2·std] by inverting the normal CDF.</summary>
    internal static Tensor Sample(long[] shape, double mean, double std, int? seed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = MakeGenerator(seed);
        // Φ(±2) for the standard normal; sample u uniformly between them and map back through Φ⁻¹.
        const double lo = 0.022750131948179195, hi = 0.9772498680518208;
        var u = torch.rand(shape, ScalarType.Float64, generator: g).mul_(hi - lo).add_(lo);
        var z = torch.special.erfinv(u.mul(2).sub_(1)).mul_(Math.Sqrt(2.0)).clamp_(-2.0, 2.0);
        return z.mul_(std).add_(mean).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["mean"] = Mean, ["stddev"] = Stddev, ["seed"] = Seed };
}

/// <summary>
/// Keras' <c>VarianceScaling</c>: samples with variance <c>scale / n</c>, where n is fan-in, fan-out or their
/// average; the family behind Glorot, He and LeCun initializers (<c>"variance_scaling"</c>).
/// </summary>
public class VarianceScaling : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <param name="scale">Scaling factor, positive (default 1).</param>
    /// <param name="mode"><c>"fan_in"</c> (default), <c>"fan_out"</c> or <c>"fan_avg"</c>.</param>
    /// <param name="distribution"><c>"truncated_normal"</c> (default), <c>"untruncated_normal"</c> or <c>"uniform"</c>.</param>
    /// <param name="seed">Seed (default <c>null</c>).</param>
    public VarianceScaling(double scale = 1.0, string mode = "fan_in", string distribution = "truncated_normal", int? seed = null)
    {
        if (scale <= 0) throw new ArgumentException($"VarianceScaling: scale must be positive, got {scale}.", nameof(scale));
        mode = mode.ToLowerInvariant();
        distribution = distribution.ToLowerInvariant();
        if (distribution == "normal") distribution = "truncated_normal";
        if (mode is not ("fan_in" or "fan_out" or "fan_avg"))
            throw new ArgumentException($"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got '{mode}'.", nameof(mode));
        if (distribution is not ("truncated_normal" or "untruncated_normal" or "uniform"))
            throw new ArgumentException($"VarianceScaling: distribution must be truncated_normal, untruncated_normal or uniform, got '{distribution}'.", nameof(distribution));
        Scale = scale;
        Mode = mode;
        Distribution = distribution;
        Seed = seed;
    }

    /// <summary>Scaling factor.</summary>
    public double Scale { get; }
    /// <summary>Fan mode.</summary>
    public string Mode { get; }
    /// <summary>Distribution name.</summary>
    public string Distribution { get; }
    /// <summary>Seed or <c>null</c>.</summary>
    public int? Seed { get; }

    /// <inheritdoc />
    public override Tensor Call(long[] shape)
    {
        var (fanIn, fanOut) = ComputeFans(shape);
        double n = Mode switch { "fan_in" => fanIn, "fan_out" => fanOut, _ => (fanIn + fanOut) / 2.0 };
        double scale = Scale / Math.Max(1.0, n);
        switch (Distribution)
        {
            case "truncated_normal":
                // Standard deviation of N(0,1) truncated to [-2, 2] is 0.87962566103423978.
                return TruncatedNormal.Sample(shape, 0.0, Math.Sqrt(scale) / 0.87962566103423978, Seed);
            case "untruncated_normal":
                return new RandomNormal(0.0, Math.Sqrt(scale), Seed).Call(shape);
            default:
                var limit = Math.Sqrt(3.0 * scale);
                return new RandomUniform(-limit, limit, Seed).Call(shape);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() => GetType() == typeof(VarianceScaling)
        ? new Dictionary<string, object?> { ["scale"] = Scale, ["mode"] = Mode, ["distribution"] = Distribution, ["seed"] = Seed }
        : new Dictionary<string, object?> { ["seed"] = Seed };
}

/// <summary>Glorot (Xavier) uniform: U(−l, l), l = √(6 / (fan_in + fan_out)) (<c>"glorot_uniform"</c>, Keras' default kernel initializer).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class GlorotUniform(int? seed = null) : VarianceScaling(1.0, "fan_avg", "uniform", seed);

/// <summary>Glorot (Xavier) normal, truncated, stddev √(2 / (fan_in + fan_out)) (<c>"glorot_normal"</c>).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class GlorotNormal(int? seed = null) : VarianceScaling(1.0, "fan_avg", "truncated_normal", seed);

/// <summary>He normal, truncated, stddev √(2 / fan_in) (<c>"he_normal"</c>).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class HeNormal(int? seed = null) : VarianceScaling(2.0, "fan_in", "truncated_normal", seed);

/// <summary>He uniform: U(−l, l), l = √(6 / fan_in) (<c>"he_uniform"</c>).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class HeUniform(int? seed = null) : VarianceScaling(2.0, "fan_in", "uniform", seed);

/// <summary>LeCun normal, truncated, stddev √(1 / fan_in) (<c>"lecun_normal"</c>).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class LecunNormal(int? seed = null) : VarianceScaling(1.0, "fan_in", "truncated_normal", seed);

/// <summary>LeCun uniform: U(−l, l), l = √(3 / fan_in) (<c>"lecun_uniform"</c>).</summary>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class LecunUniform(int? seed = null) : VarianceScaling(1.0, "fan_in", "uniform", seed);

/// <summary>
/// A random orthogonal matrix (rows or columns orthonormal) times <c>gain</c>; Keras' default recurrent initializer
/// (<c>"orthogonal"</c>). Shapes of rank above 2 are flattened to <c>(prod(shape[:-1]), shape[-1])</c>.
/// </summary>
/// <param name="gain">Multiplier (default 1).</param>
/// <param name="seed">Seed (default <c>null</c>).</param>
public sealed class Orthogonal(double gain = 1.0, int? seed = null) : Initializer
{
    /// <summary>Multiplier.</summary>
    public double Gain { get; } = gain;
    /// <summary>Seed or <c>null</c>.</summary>
    public int? Seed { get; } = seed;

    /// <inheritdoc />
    public override Tensor Call(long[] shape)
    {
        if (shape.Length < 2)
            throw new ArgumentException($"Orthogonal initializer: expected a shape of rank >= 2, got rank {shape.Length}.");
        using var scope = torch.NewDisposeScope();
        long rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];
        long cols = shape[^1];
        using var g = MakeGenerator(Seed);
        var a = torch.randn([Math.Max(rows, cols), Math.Min(rows, cols)], ScalarType.Float64, generator: g);
        var (q, r) = torch.linalg.qr(a);
        // Make the decomposition unique: multiply columns by the sign of R's diagonal.
        q = q.mul(torch.sign(torch.diagonal(r)));
        if (rows < cols) q = q.t();
        return q.mul(Gain).reshape(shape).to_type(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["gain"] = Gain, ["seed"] = Seed };
}
