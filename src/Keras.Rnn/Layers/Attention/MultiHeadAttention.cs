using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Multi-head attention (Keras' <c>MultiHeadAttention</c>, Vaswani et al. 2017, "Attention is all you need"). The
/// query <c>(batch, T, dim)</c>, key <c>(batch, S, dim_k)</c> and value <c>(batch, S, dim_v)</c> are projected per head
/// (<c>query</c>/<c>key</c> kernels <c>(dim, num_heads, key_dim)</c>, <c>value</c> kernel
/// <c>(dim_v, num_heads, value_dim)</c>, biases <c>(num_heads, head_size)</c>); each head computes
/// <c>softmax(q·kᵀ / √key_dim)</c> over <c>S</c> (masked), the heads' weighted values are concatenated and projected
/// back by the <c>attention_output</c> kernel <c>(num_heads, value_dim, *output_shape)</c> (default output size: the
/// query's <c>dim</c>). Weights, their order (query, key, [gate,] value, output; kernel then bias) and shapes are
/// Keras', so Keras weight files load.
/// </summary>
/// <remarks>
/// <para>Inputs: <c>[query, value]</c>, <c>[query, value, key]</c>, or <c>[query, value, key, attention_mask]</c> (to
/// pass a mask without a separate key, give the value again as the key: the result is the same).
/// <see cref="Apply(KerasTensor, KerasTensor, KerasTensor?, KerasTensor?, bool, bool, bool?)"/> and
/// <see cref="ApplyAll(Tensor, Tensor, Tensor?, Tensor?, Tensor?, Tensor?, Tensor?, bool, bool, bool)"/> build that
/// list. Only rank-3 inputs (attention over the time axis, Keras' default <c>attention_axes</c>) are supported.</para>
/// <para>Masks, combined with a logical and as in Keras: the query's mask (rows), the value's and the key's masks
/// (columns), <c>attention_mask</c> (boolean <c>(batch, T, S)</c>, <c>(T, S)</c> or <c>(batch, heads, T, S)</c>, true =
/// may attend), the causal mask (<c>"use_causal_mask"</c>) and the sliding window. Masked scores are replaced by
/// <c>-1e9</c> before the softmax and their probabilities set to zero after it (Keras' masked <c>Softmax</c>), so a row
/// with nothing to attend to (a padded query position) gets all-zero attention; Keras' fused torch kernel, used when
/// no scores are returned and there is no dropout, instead spreads such rows uniformly. The output carries the
/// query's mask.</para>
/// <para>Call arguments: <c>"return_attention_scores"</c> (returns <c>[output, scores]</c>, scores
/// <c>(batch, num_heads, T, S)</c> before dropout) and <c>"use_causal_mask"</c>.</para>
/// </remarks>
/// <example>
/// <code>
/// var x = KerasApi.Input([null, 64]);
/// KerasTensor y = new MultiHeadAttention(numHeads: 4, keyDim: 16).Apply(x, x, useCausalMask: true);
/// </code>
/// </example>
public sealed class MultiHeadAttention : Layer
{
    private AttentionProjection? _queryDense;
    private AttentionProjection? _keyDense;
    private AttentionProjection? _valueDense;
    private AttentionProjection? _gateDense;
    private AttentionProjection? _outputDense;
    private Dropout? _dropoutLayer;
    private int[]? _attentionAxes;
    private List<Tensor>? _projectionLosses;

    /// <summary>Creates the layer.</summary>
    /// <param name="numHeads">Number of attention heads, positive.</param>
    /// <param name="keyDim">Size of each head for query and key, positive.</param>
    /// <param name="valueDim">Size of each head for value (default <c>null</c>: <paramref name="keyDim"/>).</param>
    /// <param name="dropout">Dropout rate on the attention probabilities during training, in [0, 1) (default 0).</param>
    /// <param name="useBias">Whether the projections have biases (default <c>true</c>).</param>
    /// <param name="outputShape">Output size(s) besides batch and time (default <c>null</c>: the query's last dimension).</param>
    /// <param name="attentionAxes">Axes attention runs over (default <c>null</c>: the time axis). Only the time axis of
    /// rank-3 inputs is supported: <c>null</c>, <c>[1]</c> or <c>[-2]</c>.</param>
    /// <param name="slidingWindow">When set, query position <c>i</c> attends only to key positions <c>j</c> with
    /// <c>|i − j| &lt; slidingWindow</c> (default <c>null</c>: all).</param>
    /// <param name="kernelInitializer">Initializer of every projection kernel (default <c>"glorot_uniform"</c>).</param>
    /// <param name="biasInitializer">Initializer of every projection bias (default <c>"zeros"</c>).</param>
    /// <param name="kernelRegularizer">Penalty on every projection kernel (default none).</param>
    /// <param name="biasRegularizer">Penalty on every projection bias (default none).</param>
    /// <param name="kernelConstraint">Constraint on every projection kernel (default none).</param>
    /// <param name="biasConstraint">Constraint on every projection bias (default none).</param>
    /// <param name="useGate">Whether to gate the heads' outputs by <c>sigmoid(query · W_gate + b)</c> before the output
    /// projection (gated attention, default <c>false</c>).</param>
    /// <param name="seed">Seed argument kept for Keras compatibility; dropout uses the global generator (default <c>null</c>).</param>
    /// <param name="name">Name (default <c>multi_head_attention</c>, made unique).</param>
    /// <exception cref="ArgumentException">An argument is out of range or an unsupported attention axis is asked for.</exception>
    /// <remarks>An <see cref="Layer.ActivityRegularizer"/> set on this layer is handed, as in Keras, to the projections, each
    /// penalising its own output (the output projection's is the layer's output); the scores are not penalised.</remarks>
    public MultiHeadAttention(int numHeads, int keyDim, int? valueDim = null, double dropout = 0.0, bool useBias = true,
        int[]? outputShape = null, int[]? attentionAxes = null, int? slidingWindow = null, Initializer? kernelInitializer = null,
        Initializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null, bool useGate = false, int? seed = null, string? name = null)
        : base(name)
    {
        if (numHeads <= 0)
            throw new ArgumentException($"MultiHeadAttention: received an invalid value for argument `num_heads`, expected a positive integer. Received: num_heads={numHeads}", nameof(numHeads));
        if (keyDim <= 0)
            throw new ArgumentException($"MultiHeadAttention: received an invalid value for argument `key_dim`, expected a positive integer. Received: key_dim={keyDim}", nameof(keyDim));
        if (valueDim is <= 0)
            throw new ArgumentException($"MultiHeadAttention: received an invalid value for argument `value_dim`, expected a positive integer or null. Received: value_dim={valueDim}", nameof(valueDim));
        if (double.IsNaN(dropout) || dropout < 0 || dropout >= 1)
            throw new ArgumentException($"MultiHeadAttention: invalid value for argument `dropout`, expected a value in [0, 1), got {dropout}.", nameof(dropout));
        if (outputShape is { Length: > 0 } && outputShape.Any(d => d <= 0))
            throw new ArgumentException($"MultiHeadAttention: invalid `output_shape` [{string.Join(", ", outputShape)}]: every size must be positive.", nameof(outputShape));
        if (attentionAxes is not null && !(attentionAxes.Length == 1 && attentionAxes[0] is 1 or -2))
            throw new ArgumentException(
                $"MultiHeadAttention: attention_axes=[{string.Join(", ", attentionAxes)}] is not supported; only attention over the time axis of " +
                "(batch, time, features) inputs is (attention_axes null, [1] or [-2]).", nameof(attentionAxes));
        if (slidingWindow is <= 0)
            throw new ArgumentException($"MultiHeadAttention: `sliding_window` must be null or a positive integer. Received: sliding_window={slidingWindow}", nameof(slidingWindow));
        NumHeads = numHeads;
        KeyDim = keyDim;
        ValueDim = valueDim ?? keyDim;
        DropoutRate = dropout;
        UseBias = useBias;
        OutputShape = outputShape is { Length: > 0 } ? (int[])outputShape.Clone() : null;
        _attentionAxes = attentionAxes is null ? null : (int[])attentionAxes.Clone();
        SlidingWindow = slidingWindow;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
        UseGate = useGate;
        Seed = seed;
        SupportsMasking = true;
    }

    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }
    /// <summary>Size of each head for query and key.</summary>
    public int KeyDim { get; }
    /// <summary>Size of each head for value.</summary>
    public int ValueDim { get; }
    /// <summary>Dropout rate on the attention probabilities.</summary>
    public double DropoutRate { get; }
    /// <summary>Whether the projections have biases.</summary>
    public bool UseBias { get; }
    /// <summary>Output size(s) besides batch and time, or <c>null</c> for the query's last dimension.</summary>
    public IReadOnlyList<int>? OutputShape { get; }
    /// <summary>The attention axes: as given before the layer is built, <c>[1]</c> after (as Keras records them).</summary>
    public IReadOnlyList<int>? AttentionAxes => _attentionAxes;
    /// <summary>Sliding-window size, or <c>null</c>.</summary>
    public int? SlidingWindow { get; }
    /// <summary>Kernel initializer of the projections.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Bias initializer of the projections.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Kernel penalty of the projections.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Bias penalty of the projections.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Kernel constraint of the projections.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Bias constraint of the projections.</summary>
    public Constraint? BiasConstraint { get; }
    /// <summary>Whether the heads' outputs are gated.</summary>
    public bool UseGate { get; }
    /// <summary>Seed argument as given.</summary>
    public int? Seed { get; }

    /// <summary>The query projection (Keras' <c>query_dense</c>, name <c>query</c>): kernel <c>(dim, num_heads, key_dim)</c>, bias <c>(num_heads, key_dim)</c>. <c>null</c> until built.</summary>
    public Layer? QueryDense => _queryDense;
    /// <summary>The key projection (Keras' <c>key_dense</c>, name <c>key</c>): kernel <c>(dim_k, num_heads, key_dim)</c>. <c>null</c> until built.</summary>
    public Layer? KeyDense => _keyDense;
    /// <summary>The value projection (Keras' <c>value_dense</c>, name <c>value</c>): kernel <c>(dim_v, num_heads, value_dim)</c>. <c>null</c> until built.</summary>
    public Layer? ValueDense => _valueDense;
    /// <summary>The output projection (Keras' <c>output_dense</c>, name <c>attention_output</c>): kernel <c>(num_heads, value_dim, *output_shape)</c>. <c>null</c> until built.</summary>
    public Layer? OutputDense => _outputDense;
    /// <summary>The gate projection (name <c>gate</c>, sigmoid), when <see cref="UseGate"/>; <c>null</c> otherwise or until built.</summary>
    public Layer? GateDense => _gateDense;

    // ------------------------------------------------------------------ functional and eager conveniences

    /// <summary>Calls the layer on symbolic tensors (functional API): <c>mha(query, value, key, attention_mask=...)</c>.</summary>
    /// <param name="query">Query, <c>(batch, T, dim)</c>.</param>
    /// <param name="value">Value, <c>(batch, S, dim_v)</c>.</param>
    /// <param name="key">Key, <c>(batch, S, dim_k)</c> (default: the value).</param>
    /// <param name="attentionMask">Boolean mask, true where query position <c>t</c> may attend to key position <c>s</c>:
    /// <c>(batch, T, S)</c> (default none).</param>
    /// <param name="returnAttentionScores">Also return the scores <c>(batch, num_heads, T, S)</c> (default <c>false</c>).</param>
    /// <param name="useCausalMask">Let position <c>t</c> attend only to positions <c>s ≤ t</c> (default <c>false</c>).</param>
    /// <param name="training">Fixes the training flag of this call (default: follow the model).</param>
    /// <returns>The output, and the scores when asked for.</returns>
    public KerasTensors Apply(KerasTensor query, KerasTensor value, KerasTensor? key = null, KerasTensor? attentionMask = null,
        bool returnAttentionScores = false, bool useCausalMask = false, bool? training = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        var inputs = new List<KerasTensor> { query, value };
        if (key is not null || attentionMask is not null) inputs.Add(key ?? value);
        if (attentionMask is not null) inputs.Add(attentionMask);
        return Apply(new KerasTensors(inputs), training: training, arguments: AttentionCallArguments.Create(returnAttentionScores, useCausalMask));
    }

    /// <summary>Calls the layer on real tensors.</summary>
    /// <param name="query">Query, <c>(batch, T, dim)</c>.</param>
    /// <param name="value">Value, <c>(batch, S, dim_v)</c>.</param>
    /// <param name="key">Key, <c>(batch, S, dim_k)</c> (default: the value).</param>
    /// <param name="attentionMask">Boolean mask, true where query position <c>t</c> may attend to key position <c>s</c>:
    /// <c>(batch, T, S)</c>, <c>(T, S)</c> or <c>(batch, num_heads, T, S)</c> (default none).</param>
    /// <param name="queryMask">Boolean <c>(batch, T)</c> (default: the mask the query came with, if any).</param>
    /// <param name="valueMask">Boolean <c>(batch, S)</c> (default: the mask the value came with, if any).</param>
    /// <param name="keyMask">Boolean <c>(batch, S)</c> (default: the mask the key came with, if any; none without a key).</param>
    /// <param name="returnAttentionScores">Also return the scores (default <c>false</c>).</param>
    /// <param name="useCausalMask">Let position <c>t</c> attend only to positions <c>s ≤ t</c> (default <c>false</c>).</param>
    /// <param name="training">Training mode: dropout active (default <c>false</c>).</param>
    /// <returns><c>[output]</c>, or <c>[output, scores]</c>.</returns>
    public IReadOnlyList<Tensor> ApplyAll(Tensor query, Tensor value, Tensor? key = null, Tensor? attentionMask = null, Tensor? queryMask = null,
        Tensor? valueMask = null, Tensor? keyMask = null, bool returnAttentionScores = false, bool useCausalMask = false, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        var inputs = new List<Tensor> { query, value };
        var masks = new List<Tensor?> { queryMask ?? GetMask(query), valueMask ?? GetMask(value) };
        if (key is not null || attentionMask is not null)
        {
            inputs.Add(key ?? value);
            masks.Add(key is null ? masks[1] : keyMask ?? GetMask(key));
        }
        if (attentionMask is not null)
        {
            inputs.Add(attentionMask);
            masks.Add(null);
        }
        return ApplyAll(inputs, masks: masks, training: training, arguments: AttentionCallArguments.Create(returnAttentionScores, useCausalMask));
    }

    // ------------------------------------------------------------------ shapes and building

    /// <summary>The query, value and key shapes (and the attention mask's) of <c>[query, value(, key(, mask))]</c>.</summary>
    private (Shape Query, Shape Value, Shape Key, Shape? Mask) CheckShapes(IReadOnlyList<Shape> shapes)
    {
        if (shapes.Count < 2 || shapes.Count > 4)
            throw new KerasLayerException(this,
                $"expects [query, value], [query, value, key] or [query, value, key, attention_mask], but received {shapes.Count} input(s).");
        var query = shapes[0];
        var value = shapes[1];
        var key = shapes.Count > 2 ? shapes[2] : value;
        var mask = shapes.Count > 3 ? shapes[3] : null;
        if (query.Rank != 3 || value.Rank != 3 || key.Rank != 3)
            throw new KerasLayerException(this,
                $"query, value and key must be (batch, time, features) tensors (rank 3; attention over other axes is not supported); received query {query}, value {value}, key {key}.");
        if (value[1] is { } sv && key[1] is { } sk && sv != sk)
            throw new KerasLayerException(this,
                $"all dimensions of `value` and `key`, except the last one, must be equal. Received: value_shape={value} and key_shape={key}");
        var batches = new[] { query[0], value[0], key[0] }.Where(d => d.HasValue).Distinct().ToList();
        if (batches.Count > 1)
            throw new KerasLayerException(this, $"query, value and key must have the same batch size; received query {query}, value {value}, key {key}.");
        if (mask is not null && (mask.Rank < 2 || mask.Rank > 4))
            throw new KerasLayerException(this, $"the attention mask must be (batch, T, S), (T, S) or (batch, num_heads, T, S); received shape {mask}.");
        if (Built)
        {
            CheckLastDim(query, _queryDense!, "query");
            CheckLastDim(key, _keyDense!, "key");
            CheckLastDim(value, _valueDense!, "value");
        }
        return (query, value, key, mask);
    }

    private void CheckLastDim(Shape shape, AttentionProjection projection, string what)
    {
        if (shape[-1] is { } d && d != projection.InputSize)
            throw new KerasLayerException(this, $"the layer was built for a {what} with {projection.InputSize} features, but the {what} received has shape {shape}.");
    }

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var (query, value, key, _) = CheckShapes(inputShapes);
        foreach (var (shape, what) in new[] { (query, "query"), (value, "value"), (key, "key") })
            if (shape[-1] is null)
                throw new KerasLayerException(this, $"the last dimension of the {what} must be known to create the weights; received {what} shape {shape}.");
        AttentionProjection Projection(int boundDims, int[] outputDims, string name, ActivationFunction? activation = null) =>
            TrackLayer(new AttentionProjection(boundDims, outputDims, UseBias, activation, KernelInitializer, BiasInitializer, KernelRegularizer,
                BiasRegularizer, KernelConstraint, BiasConstraint, name) { ActivityRegularizer = ActivityRegularizer });

        // Keras' creation order, which is also the order of the weights: query, key, [gate,] value, output.
        _queryDense = Projection(1, [NumHeads, KeyDim], "query");
        _queryDense.Build([query]);
        _keyDense = Projection(1, [NumHeads, KeyDim], "key");
        _keyDense.Build([key]);
        if (UseGate)
        {
            _gateDense = Projection(1, [NumHeads, ValueDim], "gate", ActivationFunction.Sigmoid);
            _gateDense.Build([query]);
        }
        _valueDense = Projection(1, [NumHeads, ValueDim], "value");
        _valueDense.Build([value]);
        _attentionAxes = [1];
        _dropoutLayer = TrackLayer(new Dropout(DropoutRate, seed: Seed));
        _outputDense = Projection(2, OutputShape?.ToArray() ?? [query[-1]!.Value], "attention_output");
        _outputDense.Build([new Shape(query[0], query[1], NumHeads, ValueDim)]);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var (query, value, key, _) = CheckShapes(inputShapes);
        var (returnScores, _) = AttentionCallArguments.Read(this, arguments);
        var output = OutputShape is null ? query : new Shape([query[0], query[1], .. OutputShape.Select(d => (int?)d)]);
        if (!returnScores) return [output];
        return [output, new Shape(query[0], NumHeads, query[1], key[1] ?? value[1])];
    }

    /// <summary>How many weight values building for these input shapes creates (for the load budget).</summary>
    internal double EstimateParameters(IReadOnlyList<Shape> inputShapes)
    {
        if (Built || inputShapes.Count < 2) return 0;
        double Dim(Shape s) => s.Rank > 0 && s[-1] is { } d ? d : 0;
        double query = Dim(inputShapes[0]), value = Dim(inputShapes[1]), key = inputShapes.Count > 2 ? Dim(inputShapes[2]) : value;
        double bias = UseBias ? 1 : 0;
        double heads = NumHeads, output = OutputShape?.Aggregate(1.0, (a, b) => a * b) ?? query;
        double total = (query + bias) * heads * KeyDim + (key + bias) * heads * KeyDim + (value + bias) * heads * ValueDim
                       + heads * ValueDim * output + bias * output;
        if (UseGate) total += (query + bias) * heads * ValueDim;
        return total;
    }

    // ------------------------------------------------------------------ computation

    /// <summary>
    /// Keras gives this layer's <c>activity_regularizer</c> to its projections, which penalise their own outputs; the
    /// layer adds no penalty of its own (none on the scores, none a second time on the output), so the base class must
    /// not see the loss list.
    /// </summary>
    internal override (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training, IReadOnlyDictionary<string, object?>? arguments,
        List<Tensor>? losses)
    {
        if (ActivityRegularizer is null) return base.Invoke(inputs, masks, initialState, training, arguments, losses);
        _projectionLosses = losses;
        try
        {
            return base.Invoke(inputs, masks, initialState, training, arguments, null);
        }
        finally
        {
            _projectionLosses = null;
        }
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        CheckShapes(inputs.Select(t => Shape.Of(t.shape)).ToList());
        var (returnScores, causal) = AttentionCallArguments.Read(this, context.Arguments);
        var lossSink = ActivityRegularizer is null ? context.LossSink : _projectionLosses;
        using var scope = torch.NewDisposeScope();
        var query = inputs[0];
        var value = inputs[1];
        var key = inputs.Count > 2 ? inputs[2] : value;
        Tensor? Mask(int i) => AttentionCallArguments.AsBool(i < context.Masks.Count && i < inputs.Count ? context.Masks[i] : null);
        var attentionMask = AttentionMask(Mask(0), Mask(1), Mask(2), inputs.Count > 3 ? AttentionCallArguments.AsBool(inputs[3]) : null,
            causal, query.shape[1], value.shape[1], query.device);

        Tensor Project(AttentionProjection projection, Tensor x)
        {
            if (lossSink is null) return projection.Invoke([x], null, null, context.Training, null, null).Outputs[0];
            // Activity penalties must outlive this call's dispose scope.
            var penalties = new List<Tensor>();
            var y = projection.Invoke([x], null, null, context.Training, null, penalties).Outputs[0];
            foreach (var penalty in penalties) lossSink.Add(penalty.MoveToOuterDisposeScope());
            return y;
        }

        var gate = _gateDense is null ? null : Project(_gateDense, query);
        var q = Project(_queryDense!, query);                          // (B, T, N, key_dim)
        var k = Project(_keyDense!, key);                              // (B, S, N, key_dim)
        var v = Project(_valueDense!, value);                          // (B, S, N, value_dim)
        q = q * (float)(1.0 / Math.Sqrt(KeyDim));
        var scores = torch.einsum("aecd,abcd->acbe", k, q);            // (B, N, T, S)
        var probabilities = MaskedSoftmax(scores, attentionMask);
        var dropped = context.Training && DropoutRate > 0
            ? torch.nn.functional.dropout(probabilities, DropoutRate, training: true)
            : probabilities;
        var heads = torch.einsum("acbe,aecd->abcd", dropped, v);       // (B, T, N, value_dim)
        if (gate is not null) heads = heads * gate;
        var output = Project(_outputDense!, heads);

        output.MoveToOuterDisposeScope();
        if (!returnScores) return [output];
        probabilities.MoveToOuterDisposeScope();
        return [output, probabilities];
    }

    /// <summary>The combined boolean mask, broadcastable to <c>(B, N, T, S)</c>, or <c>null</c> when nothing is masked.</summary>
    private Tensor? AttentionMask(Tensor? queryMask, Tensor? valueMask, Tensor? keyMask, Tensor? explicitMask, bool causal, long t, long s, Device device)
    {
        Tensor? combined = null;
        void And(Tensor m) => combined = combined is null ? m : combined.logical_and(m);
        if (queryMask is not null) And(queryMask.unsqueeze(-1));                 // (B, T, 1)
        if (valueMask is not null) And(valueMask.unsqueeze(-2));                 // (B, 1, S)
        if (keyMask is not null) And(keyMask.unsqueeze(-2));                     // (B, 1, S)
        if (causal) And(torch.ones(t, s, ScalarType.Bool, device).tril().unsqueeze(0)); // (1, T, S)
        if (SlidingWindow is { } window)
        {
            var rows = torch.arange(t, ScalarType.Int64, device).reshape(1, t, 1);
            var columns = torch.arange(s, ScalarType.Int64, device).reshape(1, 1, s);
            And((rows - columns).abs().lt(window));                                // (1, T, S)
        }
        if (combined is not null) combined = ToScoresRank(combined);
        if (explicitMask is not null)
        {
            var m = ToScoresRank(explicitMask);
            combined = combined is null ? m : m.logical_and(combined);
        }
        return combined;
    }

    /// <summary>Keras' expansion of a mask to the scores' rank: new axes go before the (T, S) axes.</summary>
    private static Tensor ToScoresRank(Tensor mask)
    {
        while (mask.dim() < 4) mask = mask.unsqueeze(-3);
        return mask;
    }

    /// <summary>Keras' masked <c>Softmax</c>: masked scores become −1e9, masked probabilities 0.</summary>
    private Tensor MaskedSoftmax(Tensor scores, Tensor? mask)
    {
        if (mask is null) return torch.nn.functional.softmax(scores, -1);
        for (int i = 0; i < 4; i++)
        {
            long m = mask.shape[i], d = scores.shape[i];
            if (m != 1 && m != d)
                throw new KerasLayerException(this,
                    $"the attention mask (with the input masks, shape {Shape.Of(mask.shape)}) does not broadcast to the attention scores {Shape.Of(scores.shape)} (batch, heads, T, S); " +
                    "give it as (batch, T, S), (T, S) or (batch, heads, T, S).");
        }
        // Keras' large negative number: −1e9, or −3e4 for float16 scores (−1e9 is −inf there).
        var filled = torch.where(mask, scores, torch.full_like(scores, scores.dtype == ScalarType.Float16 ? -3.0e4 : -1.0e9));
        var probabilities = torch.nn.functional.softmax(filled, -1);
        return torch.where(mask, probabilities, torch.zeros_like(probabilities));
    }

    // ------------------------------------------------------------------ saving

    /// <summary>
    /// The sub-layers under the attribute names Keras' weight files use (public properties first, then private
    /// attributes, each group sorted): <c>key_dense</c>, <c>output_dense</c>, <c>query_dense</c>, <c>value_dense</c>,
    /// <c>_dropout_layer</c>, <c>_gate_dense</c>.
    /// </summary>
    internal IEnumerable<(string Attribute, Layer Child)> KerasAttributes()
    {
        if (!Built) yield break;
        yield return ("key_dense", _keyDense!);
        yield return ("output_dense", _outputDense!);
        yield return ("query_dense", _queryDense!);
        yield return ("value_dense", _valueDense!);
        yield return ("_dropout_layer", _dropoutLayer!);
        if (_gateDense is not null) yield return ("_gate_dense", _gateDense);
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["num_heads"] = NumHeads;
        c["key_dim"] = KeyDim;
        c["value_dim"] = ValueDim;
        c["dropout"] = DropoutRate;
        c["use_bias"] = UseBias;
        c["use_gate"] = UseGate;
        c["output_shape"] = OutputShape?.ToArray();
        c["attention_axes"] = _attentionAxes?.ToArray();
        c["sliding_window"] = SlidingWindow;
        c["kernel_initializer"] = KernelInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = KernelRegularizer;
        c["bias_regularizer"] = BiasRegularizer;
        c["activity_regularizer"] = ActivityRegularizer;
        c["kernel_constraint"] = KernelConstraint;
        c["bias_constraint"] = BiasConstraint;
        c["seed"] = Seed;
        return c;
    }
}

/// <summary>
/// One projection of <see cref="MultiHeadAttention"/> (Keras builds them as <c>EinsumDense</c>): contracts the last
/// <c>boundDims</c> axes of the input with the first axes of the kernel, e.g. <c>(B, T, dim) · (dim, N, H) → (B, T, N, H)</c>
/// (Keras' <c>"abc,cde->abde"</c>) or <c>(B, T, N, H) · (N, H, out) → (B, T, out)</c> (<c>"abcd,cde->abe"</c>), plus a bias
/// of the output dimensions' shape.
/// </summary>
internal sealed class AttentionProjection : Layer
{
    private readonly int _boundDims;
    private readonly long[] _outputDims;
    private readonly ActivationFunction? _activation;
    private readonly Initializer _kernelInitializer;
    private readonly Initializer _biasInitializer;
    private readonly Regularizer? _kernelRegularizer;
    private readonly Regularizer? _biasRegularizer;
    private readonly Constraint? _kernelConstraint;
    private readonly Constraint? _biasConstraint;
    private readonly bool _useBias;
    private Variable? _kernel;
    private Variable? _bias;

    public AttentionProjection(int boundDims, int[] outputDims, bool useBias, ActivationFunction? activation, Initializer kernelInitializer,
        Initializer biasInitializer, Regularizer? kernelRegularizer, Regularizer? biasRegularizer, Constraint? kernelConstraint,
        Constraint? biasConstraint, string name) : base(name)
    {
        _boundDims = boundDims;
        _outputDims = outputDims.Select(d => (long)d).ToArray();
        _useBias = useBias;
        _activation = activation;
        _kernelInitializer = kernelInitializer;
        _biasInitializer = biasInitializer;
        _kernelRegularizer = kernelRegularizer;
        _biasRegularizer = biasRegularizer;
        _kernelConstraint = kernelConstraint;
        _biasConstraint = biasConstraint;
    }

    /// <summary>Number of input values contracted (the product of the bound dimensions), once built.</summary>
    public long InputSize { get; private set; }

    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var shape = inputShapes[0];
        var bound = shape.Slice(shape.Rank - _boundDims).Select(d => (long)(d ?? throw new KerasLayerException(this,
            $"the contracted dimensions of the input must be known; received shape {shape}."))).ToArray();
        InputSize = bound.Aggregate(1L, (a, b) => a * b);
        _kernel = AddWeight("kernel", [.. bound, .. _outputDims], _kernelInitializer, _kernelRegularizer, _kernelConstraint);
        if (_useBias) _bias = AddWeight("bias", _outputDims, _biasInitializer, _biasRegularizer, _biasConstraint);
    }

    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        using var scope = torch.NewDisposeScope();
        var lead = inputs.shape[..^_boundDims];
        long outputSize = _outputDims.Aggregate(1L, (a, b) => a * b);
        var y = torch.matmul(inputs.reshape([.. lead, InputSize]), _kernel!.Value.reshape(InputSize, outputSize));
        if (_bias is not null) y = y + _bias.Value.reshape(outputSize);
        y = y.reshape([.. lead, .. _outputDims]);
        if (_activation is not null) y = _activation.Call(y);
        return y.MoveToOuterDisposeScope();
    }

    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        [new Shape([.. inputShapes[0].Slice(0, inputShapes[0].Rank - _boundDims), .. _outputDims.Select(d => (int?)(int)d)])];
}
