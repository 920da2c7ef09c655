using Keras.Rnn.Initializers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Dot-product attention, a.k.a. Luong-style attention (Keras' <c>Attention</c>). Called on
/// <c>[query, value]</c> or <c>[query, value, key]</c> with <c>query (batch, Tq, dim)</c>, <c>value (batch, Tv, dim_v)</c>
/// and <c>key (batch, Tv, dim)</c> (default: <c>key = value</c>), it computes
/// <list type="number">
/// <item>scores <c>(batch, Tq, Tv)</c>: <c>query · keyᵀ</c> (times the scalar <c>scale</c> when <c>useScale</c>) for
/// <c>scoreMode = "dot"</c>, or <c>concat_score_weight · Σ tanh(scale · (query_i + key_j))</c> over the features for
/// <c>"concat"</c>;</item>
/// <item>the attention distribution <c>softmax(scores)</c> over <c>Tv</c>, after masking: positions where the value mask (or
/// the causal mask) is false get <c>1e9</c> subtracted from their score, as in Keras (a row masked everywhere therefore
/// becomes a uniform distribution, as in Keras);</item>
/// <item>the output <c>distribution · value</c>, <c>(batch, Tq, dim_v)</c>, set to zero at query positions whose mask is
/// false.</item>
/// </list>
/// The masks are the inputs' own masks (e.g. from <see cref="Embedding"/> with <c>maskZero</c>) or explicit ones
/// (<c>[query_mask, value_mask]</c>); the key's mask is not used. The output carries the query's mask.
/// </summary>
/// <remarks>
/// Call arguments (keyword arguments of a functional call, <see cref="CallContext.Arguments"/>):
/// <c>"return_attention_scores"</c> (bool, default <c>false</c>) makes the layer return two outputs,
/// <c>[output, scores]</c>, the scores being the attention distribution after masking, softmax and dropout, shape
/// <c>(batch, Tq, Tv)</c>; <c>"use_causal_mask"</c> (bool, default <c>false</c>) lets position <c>i</c> attend only to
/// positions <c>j ≤ i</c> (decoder self-attention). Inputs of higher rank (<c>(batch, ..., T, dim)</c>) work as in
/// Keras: the leading axes are batch axes.
/// </remarks>
/// <example>
/// <code>
/// var queryIn = KerasApi.Input([null, 16]);
/// var valueIn = KerasApi.Input([null, 16]);
/// var (context, scores) = new Attention(useScale: true).Apply(queryIn, valueIn, returnAttentionScores: true);
/// </code>
/// </example>
public class Attention : Layer
{
    /// <summary>Keyword argument that makes the call also return the attention scores.</summary>
    public const string ReturnAttentionScoresArgument = "return_attention_scores";

    /// <summary>Keyword argument that adds a causal (lower-triangular) mask.</summary>
    public const string UseCausalMaskArgument = "use_causal_mask";

    /// <summary>What Keras subtracts from the scores of masked positions: 1e9, or 65504 (float16's largest) for float16 scores.</summary>
    private protected static double MaskedScoreOffset(Tensor scores) => scores.dtype == ScalarType.Float16 ? 65504.0 : 1.0e9;

    private Variable? _concatScoreWeight;

    /// <summary>Creates the layer.</summary>
    /// <param name="useScale">Whether to learn a scalar <c>scale</c> (initialised to 1) that multiplies the scores (default <c>false</c>).</param>
    /// <param name="scoreMode"><c>"dot"</c> (default): dot product of query and key; <c>"concat"</c>: sum over the features
    /// of <c>tanh(query + key)</c>, times a learned scalar <c>concat_score_weight</c> (initialised to 1).</param>
    /// <param name="dropout">Fraction of the attention distribution dropped during training, in [0, 1) (default 0).</param>
    /// <param name="seed">Seed argument kept for Keras compatibility; dropout uses the global generator (default <c>null</c>).</param>
    /// <param name="name">Name (default <c>attention</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="scoreMode"/> is not <c>"dot"</c> or <c>"concat"</c>, or <paramref name="dropout"/> is outside [0, 1).</exception>
    public Attention(bool useScale = false, string scoreMode = "dot", double dropout = 0.0, int? seed = null, string? name = null)
        : this(useScale, scoreMode, dropout, seed, name, validateScoreMode: true)
    {
    }

    /// <summary>Shared constructor; <see cref="AdditiveAttention"/> has no score mode of its own.</summary>
    private protected Attention(bool useScale, string scoreMode, double dropout, int? seed, string? name, bool validateScoreMode) : base(name)
    {
        if (validateScoreMode && scoreMode is not ("dot" or "concat"))
            throw new ArgumentException(
                $"{GetType().Name}: invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. Received: score_mode={scoreMode}", nameof(scoreMode));
        if (double.IsNaN(dropout) || dropout < 0 || dropout >= 1)
            throw new ArgumentException($"{GetType().Name}: invalid value for argument `dropout`, expected a value in [0, 1), got {dropout}.", nameof(dropout));
        UseScale = useScale;
        ScoreMode = scoreMode;
        DropoutRate = dropout;
        Seed = seed;
        SupportsMasking = true;
    }

    /// <summary>Whether the scores are scaled by a learned weight.</summary>
    public bool UseScale { get; }

    /// <summary><c>"dot"</c> or <c>"concat"</c>.</summary>
    public string ScoreMode { get; }

    /// <summary>Fraction of the attention distribution dropped during training (Keras' <c>dropout</c>).</summary>
    public double DropoutRate { get; }

    /// <summary>Seed argument as given.</summary>
    public int? Seed { get; }

    /// <summary>The learned scale, once built (when <see cref="UseScale"/>): a scalar for <see cref="Attention"/>, a
    /// <c>(dim,)</c> vector for <see cref="AdditiveAttention"/>.</summary>
    public Variable? Scale => ScaleWeight;

    /// <summary>The scale weight, set by the build of this class or of <see cref="AdditiveAttention"/>.</summary>
    private protected Variable? ScaleWeight { get; set; }

    /// <summary>The learned scalar <c>concat_score_weight</c>, once built (score mode <c>"concat"</c>).</summary>
    public Variable? ConcatScoreWeight => _concatScoreWeight;

    // ------------------------------------------------------------------ functional and eager conveniences

    /// <summary>
    /// Calls the layer on symbolic tensors (functional API): <c>attention([query, value, key])</c>. Masks flow with
    /// the inputs; pass explicit ones with <see cref="Layer.Apply(KerasTensors, KerasTensors?, KerasTensors?, bool?, IReadOnlyDictionary{string, object?}?)"/>
    /// (<c>mask: [queryMask, valueMask]</c>).
    /// </summary>
    /// <param name="query">Query, <c>(batch, Tq, dim)</c>.</param>
    /// <param name="value">Value, <c>(batch, Tv, dim_v)</c>.</param>
    /// <param name="key">Key, <c>(batch, Tv, dim)</c> (default: the value).</param>
    /// <param name="returnAttentionScores">Also return the scores <c>(batch, Tq, Tv)</c> as a second output (default <c>false</c>).</param>
    /// <param name="useCausalMask">Let position <c>i</c> attend only to positions <c>j ≤ i</c> (default <c>false</c>).</param>
    /// <param name="training">Fixes the training flag of this call (default: follow the model).</param>
    /// <returns>The output <c>(batch, Tq, dim_v)</c>, and the scores when asked for.</returns>
    public KerasTensors Apply(KerasTensor query, KerasTensor value, KerasTensor? key = null, bool returnAttentionScores = false,
        bool useCausalMask = false, bool? training = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        KerasTensors inputs = key is null ? [query, value] : [query, value, key];
        return Apply(inputs, training: training, arguments: AttentionCallArguments.Create(returnAttentionScores, useCausalMask));
    }

    /// <summary>Calls the layer on real tensors.</summary>
    /// <param name="query">Query, <c>(batch, Tq, dim)</c>.</param>
    /// <param name="value">Value, <c>(batch, Tv, dim_v)</c>.</param>
    /// <param name="key">Key, <c>(batch, Tv, dim)</c> (default: the value).</param>
    /// <param name="queryMask">Boolean <c>(batch, Tq)</c>: false zeroes the output at that position (default: the mask the query came with, if any).</param>
    /// <param name="valueMask">Boolean <c>(batch, Tv)</c>: false keeps that position out of the attention (default: the mask the value came with, if any).</param>
    /// <param name="returnAttentionScores">Also return the scores (default <c>false</c>).</param>
    /// <param name="useCausalMask">Let position <c>i</c> attend only to positions <c>j ≤ i</c> (default <c>false</c>).</param>
    /// <param name="training">Training mode: dropout active (default <c>false</c>).</param>
    /// <returns><c>[output]</c>, or <c>[output, scores]</c>.</returns>
    public IReadOnlyList<Tensor> ApplyAll(Tensor query, Tensor value, Tensor? key = null, Tensor? queryMask = null, Tensor? valueMask = null,
        bool returnAttentionScores = false, bool useCausalMask = false, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        List<Tensor> inputs = key is null ? [query, value] : [query, value, key];
        var masks = new List<Tensor?> { queryMask ?? GetMask(query), valueMask ?? GetMask(value) };
        if (key is not null) masks.Add(GetMask(key));
        return ApplyAll(inputs, masks: masks, training: training, arguments: AttentionCallArguments.Create(returnAttentionScores, useCausalMask));
    }

    // ------------------------------------------------------------------ building

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        CheckShapes(inputShapes);
        if (UseScale) ScaleWeight = AddWeight("scale", [], new Ones());
        if (ScoreMode == "concat") _concatScoreWeight = AddWeight("concat_score_weight", [], new Ones());
    }

    /// <summary>Checks <c>[query, value(, key)]</c> shapes: count, ranks, matching feature and time dimensions.</summary>
    private protected void CheckShapes(IReadOnlyList<Shape> shapes)
    {
        CheckInputCount(shapes.Count);
        var query = shapes[0];
        var value = shapes[1];
        var key = shapes.Count > 2 ? shapes[2] : value;
        int rank = query.Rank;
        if (rank < 3 || value.Rank != rank || key.Rank != rank)
            throw new KerasLayerException(this,
                $"query, value and key must have the same rank, at least 3 ((batch, time, features)); received query {query}, value {value}" +
                (shapes.Count > 2 ? $", key {key}." : "."));
        if (query[-1] is { } qd && key[-1] is { } kd && qd != kd)
            throw new KerasLayerException(this,
                $"the last dimension of the query ({qd}) and of the {(shapes.Count > 2 ? "key" : "value (used as key)")} ({kd}) must be equal; received query {query}, " +
                (shapes.Count > 2 ? $"key {key}." : $"value {value}."));
        if (value[-2] is { } tv && key[-2] is { } tk && tv != tk)
            throw new KerasLayerException(this, $"value and key must have the same number of time steps; received value {value}, key {key}.");
        for (int i = 0; i < rank - 2; i++)
        {
            var known = new[] { query[i], value[i], key[i] }.Where(d => d.HasValue).Distinct().ToList();
            if (known.Count > 1)
                throw new KerasLayerException(this, $"query, value and key must agree on the batch dimensions; received query {query}, value {value}, key {key}.");
        }
        if (this is AdditiveAttention && UseScale && query[-1] is null)
            throw new KerasLayerException(this, $"the last dimension of the query must be known to create the scale weight; received query {query}.");
    }

    private void CheckInputCount(int count)
    {
        if (count < 2 || count > 3)
            throw new KerasLayerException(this,
                $"{GetType().Name} layer accepts inputs list of length 2 or 3, namely [query, value] or [query, value, key]. Received length: {count}.");
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        CheckShapes(inputShapes);
        var (returnScores, _) = AttentionCallArguments.Read(this, arguments);
        var query = inputShapes[0];
        var value = inputShapes[1];
        var key = inputShapes.Count > 2 ? inputShapes[2] : value;
        var output = query.With(-1, value[-1]);
        if (!returnScores) return [output];
        return [output, query.With(-1, key[-2])];
    }

    // ------------------------------------------------------------------ computation

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        CheckShapes(inputs.Select(t => Shape.Of(t.shape)).ToList());
        var (returnScores, causal) = AttentionCallArguments.Read(this, context.Arguments);
        using var scope = torch.NewDisposeScope();
        var query = inputs[0];
        var value = inputs[1];
        var key = inputs.Count > 2 ? inputs[2] : value;
        var queryMask = AttentionCallArguments.AsBool(context.Masks.Count > 0 ? context.Masks[0] : null);
        var valueMask = AttentionCallArguments.AsBool(context.Masks.Count > 1 ? context.Masks[1] : null);

        var scores = CalculateScores(query, key);
        var scoresMask = valueMask;
        if (causal)
        {
            // (1, Tq, Tv): position i may attend to j <= i.
            var causalMask = torch.ones(scores.shape[^2], scores.shape[^1], ScalarType.Bool, scores.device).tril().unsqueeze(0);
            scoresMask = valueMask is null ? causalMask : valueMask.unsqueeze(-2).logical_and(causalMask);
        }
        if (scoresMask is not null)
        {
            var padding = scoresMask.logical_not();
            if (padding.dim() == 2) padding = padding.unsqueeze(-2);
            scores = torch.where(padding, scores - MaskedScoreOffset(scores), scores);
        }
        var weights = torch.nn.functional.softmax(scores, -1);
        if (context.Training && DropoutRate > 0) weights = torch.nn.functional.dropout(weights, DropoutRate, training: true);
        var output = torch.matmul(weights, value);
        if (queryMask is not null) output = torch.where(queryMask.unsqueeze(-1), output, torch.zeros_like(output));

        output.MoveToOuterDisposeScope();
        if (!returnScores) return [output];
        weights.MoveToOuterDisposeScope();
        return [output, weights];
    }

    /// <summary>The scores <c>(batch, Tq, Tv)</c> of the query against the key.</summary>
    /// <param name="query">Query, <c>(batch, Tq, dim)</c>.</param>
    /// <param name="key">Key, <c>(batch, Tv, dim)</c>.</param>
    private protected virtual Tensor CalculateScores(Tensor query, Tensor key)
    {
        if (ScoreMode == "dot")
        {
            var scores = torch.matmul(query, key.transpose(-2, -1));
            return ScaleWeight is null ? scores : scores * ScaleWeight.Value;
        }
        // concat: (batch, Tq, 1, dim) + (batch, 1, Tv, dim), summed over the features.
        var sum = query.unsqueeze(-2) + key.unsqueeze(-3);
        if (ScaleWeight is not null) sum = ScaleWeight.Value * sum;
        return _concatScoreWeight!.Value * sum.tanh().sum(-1);
    }

    // ------------------------------------------------------------------ configuration

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["use_scale"] = UseScale;
        c["score_mode"] = ScoreMode;
        c["dropout"] = DropoutRate;
        c["seed"] = Seed;
        return c;
    }
}

/// <summary>The call arguments shared by the attention layers.</summary>
internal static class AttentionCallArguments
{
    /// <summary>The keyword arguments of a call, holding only the flags that are set (<c>null</c> when none is).</summary>
    public static Dictionary<string, object?>? Create(bool returnAttentionScores, bool useCausalMask)
    {
        if (!returnAttentionScores && !useCausalMask) return null;
        var arguments = new Dictionary<string, object?>();
        if (returnAttentionScores) arguments[Attention.ReturnAttentionScoresArgument] = true;
        if (useCausalMask) arguments[Attention.UseCausalMaskArgument] = true;
        return arguments;
    }

    /// <summary>The call's flags; unknown keyword arguments and non-boolean values are rejected, naming the layer.</summary>
    public static (bool ReturnScores, bool Causal) Read(Layer layer, IReadOnlyDictionary<string, object?> arguments)
    {
        bool returnScores = false, causal = false;
        foreach (var (key, value) in arguments)
        {
            bool flag = value switch
            {
                null => false,
                bool b => b,
                _ => throw new KerasLayerException(layer, $"the call argument '{key}' must be a boolean, got {value} ({value.GetType().Name})."),
            };
            switch (key)
            {
                case Attention.ReturnAttentionScoresArgument: returnScores = flag; break;
                case Attention.UseCausalMaskArgument: causal = flag; break;
                default:
                    throw new KerasLayerException(layer,
                        $"unknown call argument '{key}'. {layer.GetType().Name} accepts '{Attention.ReturnAttentionScoresArgument}' and '{Attention.UseCausalMaskArgument}'" +
                        (layer is MultiHeadAttention
                            ? " (the attention mask is an input: Apply(query, value, key, attentionMask)); masks come with the inputs)."
                            : " (masks come with the inputs, or as mask: [query_mask, value_mask])."));
            }
        }
        return (returnScores, causal);
    }

    /// <summary>Keras treats a numeric mask as "nonzero means keep".</summary>
    public static Tensor? AsBool(Tensor? mask) => mask is null || mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
}
