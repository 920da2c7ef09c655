using Keras.Rnn.Initializers;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Additive attention, a.k.a. Bahdanau-style attention (Keras' <c>AdditiveAttention</c>). Like <see cref="Attention"/>
/// (same inputs <c>[query, value]</c> or <c>[query, value, key]</c>, masks, call arguments and outputs), but the scores
/// are the non-linear sum <c>scores[i, j] = Σ_d scale_d · tanh(query[i, d] + key[j, d])</c>, where <c>scale</c> is a
/// learned <c>(dim,)</c> vector (Glorot-uniform initialised) when <c>useScale</c>, else 1. Query and key must have the
/// same feature size.
/// </summary>
/// <remarks>
/// Keras' layer takes query and key as they are: Bahdanau's learned projections of the decoder and encoder states
/// (<c>W₁·q</c>, <c>W₂·k</c>) are <see cref="Dense"/> layers applied before it.
/// </remarks>
/// <example>
/// <code>
/// var decoderStates = KerasApi.Input([null, 32]);
/// var encoderStates = KerasApi.Input([null, 32]);
/// KerasTensor context = new AdditiveAttention().Apply(decoderStates, encoderStates);
/// </code>
/// </example>
public sealed class AdditiveAttention : Attention
{
    /// <summary>Creates the layer.</summary>
    /// <param name="useScale">Whether to learn the <c>(dim,)</c> vector <c>scale</c> that weighs the features of the
    /// scores (default <c>true</c>).</param>
    /// <param name="dropout">Fraction of the attention distribution dropped during training, in [0, 1) (default 0).</param>
    /// <param name="seed">Seed argument kept for Keras compatibility; dropout uses the global generator (default <c>null</c>).</param>
    /// <param name="name">Name (default <c>additive_attention</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="dropout"/> is outside [0, 1).</exception>
    public AdditiveAttention(bool useScale = true, double dropout = 0.0, int? seed = null, string? name = null)
        : base(useScale, "dot", dropout, seed, name, validateScoreMode: false)
    {
    }

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        CheckShapes(inputShapes);
        if (UseScale) ScaleWeight = AddWeight("scale", [inputShapes[0][-1]!.Value], new GlorotUniform());
    }

    /// <inheritdoc />
    private protected override Tensor CalculateScores(Tensor query, Tensor key)
    {
        // (batch, Tq, 1, dim) + (batch, 1, Tv, dim) → tanh, weighted per feature, summed over the features.
        var features = (query.unsqueeze(-2) + key.unsqueeze(-3)).tanh();
        if (ScaleWeight is not null) features = ScaleWeight.Value * features;
        return features.sum(-1);
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c.Remove("score_mode");
        return c;
    }
}
