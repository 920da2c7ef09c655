using Keras.Rnn.Backend;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Initializers;

/// <summary>
/// Creates the initial value of a weight (Keras' <c>keras.initializers</c>). Accepts Keras' string identifiers
/// wherever an initializer is expected: <c>"glorot_uniform"</c>, <c>"orthogonal"</c>, <c>"zeros"</c>, ...
/// </summary>
/// <example>
/// <code>
/// var lstm = new LSTM(32, kernelInitializer: "he_normal", recurrentInitializer: new Orthogonal(gain: 0.5));
/// </code>
/// </example>
public abstract class Initializer
{
    /// <summary>Creates the initialiser.</summary>
    protected Initializer() => NativeLibraries.EnsureLoaded();

    /// <summary>Returns a new float32 CPU tensor of <paramref name="shape"/> holding initial values.</summary>
    /// <param name="shape">The weight's shape in Keras layout.</param>
    public abstract Tensor Call(long[] shape);

    /// <summary>Keras' class name (e.g. <c>GlorotUniform</c>), used in configs.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>Keras' config of the initializer (argument name → value).</summary>
    public abstract IReadOnlyDictionary<string, object?> GetConfig();

    /// <summary>Resolves a Keras identifier such as <c>"glorot_uniform"</c> or <c>"GlorotUniform"</c>.</summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier; the message lists the known ones.</exception>
    public static Initializer Get(string identifier) => Normalize(identifier) switch
    {
        "zeros" or "zero" => new Zeros(),
        "ones" or "one" => new Ones(),
        "constant" => new Constant(0),
        "random_normal" or "normal" => new RandomNormal(),
        "random_uniform" or "uniform" => new RandomUniform(),
        "truncated_normal" => new TruncatedNormal(),
        "variance_scaling" => new VarianceScaling(),
        "glorot_uniform" => new GlorotUniform(),
        "glorot_normal" => new GlorotNormal(),
        "he_normal" => new HeNormal(),
        "he_uniform" => new HeUniform(),
        "lecun_normal" => new LecunNormal(),
        "lecun_uniform" => new LecunUniform(),
        "orthogonal" => new Orthogonal(),
        "identity" => new Identity(),
        _ => throw new ArgumentException(
            $"Unknown initializer identifier '{identifier}'. Known: zeros, ones, constant, random_normal, random_uniform, truncated_normal, " +
            "variance_scaling, glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, lecun_uniform, orthogonal, identity.",
            nameof(identifier)),
    };

    private static string Normalize(string id) => Naming.NormalizeIdentifier(id);

    /// <summary>Converts a Keras identifier to an initializer.</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Initializer(string identifier) => Get(identifier);

    /// <summary>Fan-in and fan-out of a weight shape, as Keras computes them.</summary>
    /// <param name="shape">The weight's shape.</param>
    internal static (double FanIn, double FanOut) ComputeFans(long[] shape)
    {
        if (shape.Length == 0) return (1, 1);
        if (shape.Length == 1) return (shape[0], shape[0]);
        if (shape.Length == 2) return (shape[0], shape[1]);
        double receptive = 1;
        for (int i = 0; i < shape.Length - 2; i++) receptive *= shape[i];
        return (shape[^2] * receptive, shape[^1] * receptive);
    }

    /// <summary>A generator for a seeded initializer (same values at every call, as in Keras), or <c>null</c> for the global one.</summary>
    /// <param name="seed">The seed, or <c>null</c>.</param>
    internal static Generator? MakeGenerator(int? seed) => seed is { } s ? new Generator((ulong)s) : null;
}
