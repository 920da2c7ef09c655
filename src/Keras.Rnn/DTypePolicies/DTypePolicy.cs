using TorchSharp;

namespace Keras.Rnn.DTypePolicies;

/// <summary>
/// The dtypes a layer computes in and keeps its weights in (Keras' <c>keras.DTypePolicy</c>). <c>"float32"</c>
/// (default) computes and stores in float32; the mixed-precision policies <c>"mixed_float16"</c> and
/// <c>"mixed_bfloat16"</c> keep the weights in float32 and compute in float16 or bfloat16: the layer casts its
/// floating inputs to the compute dtype and, during its call, reads its weights cast to it (gradients reach the float32
/// weights). Losses are computed in float32. A model whose policy is <c>"mixed_float16"</c> trains with dynamic loss
/// scaling (see <see cref="Models.Model.LossScale"/>), as Keras wraps its optimizer in a <c>LossScaleOptimizer</c>.
/// </summary>
/// <remarks>
/// Mixed precision pays on GPUs with tensor cores (float16/bfloat16 matrix products and cuDNN recurrent kernels); on
/// a CPU it is slower than float32. Keras recommends keeping the last layer (e.g. a softmax) in float32:
/// <c>new Dense(10, activation: "softmax") { DTypePolicy = DTypePolicy.Get("float32") }</c>.
/// </remarks>
/// <example>
/// <code>
/// MixedPrecision.SetGlobalPolicy("mixed_bfloat16");   // layers created from now on compute in bfloat16
/// var model = new Sequential(new InputLayer([50, 128]), new LSTM(256), new Dense(1));
/// model.Device = "cuda";
/// </code>
/// </example>
public sealed class DTypePolicy : IEquatable<DTypePolicy>
{
    private static readonly Dictionary<string, DTypePolicy> Known = new(StringComparer.Ordinal)
    {
        ["float32"] = new("float32", "float32", torch.ScalarType.Float32),
        ["mixed_float16"] = new("mixed_float16", "float16", torch.ScalarType.Float16),
        ["mixed_bfloat16"] = new("mixed_bfloat16", "bfloat16", torch.ScalarType.BFloat16),
    };

    private DTypePolicy(string name, string computeDType, torch.ScalarType computeScalarType)
    {
        Name = name;
        ComputeDType = computeDType;
        ComputeScalarType = computeScalarType;
    }

    /// <summary>The policy's name: <c>"float32"</c>, <c>"mixed_float16"</c> or <c>"mixed_bfloat16"</c>.</summary>
    public string Name { get; }

    /// <summary>The dtype layers compute in (<c>"float32"</c>, <c>"float16"</c> or <c>"bfloat16"</c>).</summary>
    public string ComputeDType { get; }

    /// <summary>The dtype of the weights: always <c>"float32"</c>.</summary>
    public string VariableDType => "float32";

    /// <summary>Whether the compute dtype differs from the weights' dtype.</summary>
    public bool IsMixed => ComputeScalarType != torch.ScalarType.Float32;

    internal torch.ScalarType ComputeScalarType { get; }

    /// <summary>The float32 policy (the default).</summary>
    public static DTypePolicy Float32 => Known["float32"];

    /// <summary>The policy of a Keras name.</summary>
    /// <param name="name"><c>"float32"</c>, <c>"mixed_float16"</c> or <c>"mixed_bfloat16"</c>.</param>
    /// <exception cref="ArgumentException">Any other name (the message lists the supported ones).</exception>
    public static DTypePolicy Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Known.TryGetValue(name.Trim(), out var policy)) return policy;
        throw new ArgumentException(
            $"Unsupported dtype policy '{name}'. Supported: float32, mixed_float16, mixed_bfloat16 (weights in float32; " +
            "layers compute in float32, float16 or bfloat16).", nameof(name));
    }

    /// <summary>The policy of a Keras name (see <see cref="Get"/>).</summary>
    /// <param name="name">The name.</param>
    public static implicit operator DTypePolicy(string name) => Get(name);

    /// <inheritdoc />
    public bool Equals(DTypePolicy? other) => other is not null && other.Name == Name;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DTypePolicy p && Equals(p);

    /// <inheritdoc />
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => $"<DTypePolicy \"{Name}\">";
}

/// <summary>The global dtype policy (Keras' <c>keras.mixed_precision</c>).</summary>
public static class MixedPrecision
{
    private static DTypePolicy _global = DTypePolicy.Float32;

    /// <summary>
    /// Sets the policy of the layers created from now on (Keras' <c>set_global_policy</c>); layers that exist keep
    /// theirs. Default <c>"float32"</c>.
    /// </summary>
    /// <param name="policy">A policy or its name: <c>"float32"</c>, <c>"mixed_float16"</c>, <c>"mixed_bfloat16"</c>.</param>
    /// <exception cref="ArgumentException">An unsupported name.</exception>
    public static void SetGlobalPolicy(DTypePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _global = policy;
    }

    /// <summary>The policy new layers get (Keras' <c>global_policy</c>).</summary>
    public static DTypePolicy GlobalPolicy() => _global;
}

/// <summary>
/// While a layer with a mixed policy runs, its weights are read in the compute dtype (Keras' <c>AutocastScope</c>).
/// Per thread; nested layers set their own.
/// </summary>
internal static class AutocastScope
{
    [ThreadStatic] private static torch.ScalarType? _current;

    /// <summary>The dtype floating weights are read in, or <c>null</c> (as stored).</summary>
    public static torch.ScalarType? Current => _current;

    /// <summary>Enters a scope; dispose the result to leave it.</summary>
    public static Scope Enter(torch.ScalarType? dtype) => new(dtype);

    /// <summary>Restores the enclosing scope's dtype when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly torch.ScalarType? _saved;

        internal Scope(torch.ScalarType? dtype)
        {
            _saved = _current;
            _current = dtype;
        }

        /// <inheritdoc />
        public void Dispose() => _current = _saved;
    }
}
