using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Turns token ids into dense vectors (Keras' <c>Embedding</c>): <c>(batch, time)</c> ids → <c>(batch, time, output_dim)</c>.
/// With <c>maskZero</c>, id 0 is padding and produces a mask <c>ids != 0</c> that recurrent layers honour.
/// </summary>
/// <example>
/// <code>
/// var model = new Sequential(
///     new InputLayer([null], dtype: "int32"),
///     new Embedding(inputDim: 10000, outputDim: 64, maskZero: true),
///     new LSTM(64),
///     new Dense(1, activation: "sigmoid"));
/// </code>
/// </example>
public sealed class Embedding : Layer
{
    private Variable? _embeddings;

    /// <summary>Creates the layer.</summary>
    /// <param name="inputDim">Vocabulary size: ids range over <c>0 .. inputDim − 1</c>.</param>
    /// <param name="outputDim">Vector size.</param>
    /// <param name="embeddingsInitializer">Initializer (default <c>"uniform"</c>: U(−0.05, 0.05)).</param>
    /// <param name="embeddingsRegularizer">Penalty (default none).</param>
    /// <param name="embeddingsConstraint">Constraint (default none).</param>
    /// <param name="maskZero">Whether id 0 is padding that masks the step (default <c>false</c>).</param>
    /// <param name="name">Name (default <c>embedding</c>, made unique).</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public Embedding(int inputDim, int outputDim, Initializer? embeddingsInitializer = null, Regularizer? embeddingsRegularizer = null,
        Constraint? embeddingsConstraint = null, bool maskZero = false, string? name = null) : base(name)
    {
        if (inputDim <= 0) throw new ArgumentException($"Embedding: inputDim must be positive, got {inputDim}.", nameof(inputDim));
        if (outputDim <= 0) throw new ArgumentException($"Embedding: outputDim must be positive, got {outputDim}.", nameof(outputDim));
        InputDim = inputDim;
        OutputDim = outputDim;
        EmbeddingsInitializer = embeddingsInitializer ?? new RandomUniform();
        EmbeddingsRegularizer = embeddingsRegularizer;
        EmbeddingsConstraint = embeddingsConstraint;
        MaskZero = maskZero;
        SupportsMasking = maskZero;
        Autocast = false;
    }

    /// <summary>Vocabulary size.</summary>
    public int InputDim { get; }
    /// <summary>Vector size.</summary>
    public int OutputDim { get; }
    /// <summary>Initializer.</summary>
    public Initializer EmbeddingsInitializer { get; }
    /// <summary>Penalty.</summary>
    public Regularizer? EmbeddingsRegularizer { get; }
    /// <summary>Constraint.</summary>
    public Constraint? EmbeddingsConstraint { get; }
    /// <summary>Whether id 0 masks the step.</summary>
    public bool MaskZero { get; }

    /// <summary>The embedding matrix <c>(input_dim, output_dim)</c>, once built.</summary>
    public Variable? Embeddings => _embeddings;

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes) =>
        _embeddings = AddWeight("embeddings", [InputDim, OutputDim], EmbeddingsInitializer, EmbeddingsRegularizer, EmbeddingsConstraint);

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context)
    {
        using var scope = torch.NewDisposeScope();
        var ids = inputs.dtype is ScalarType.Int64 or ScalarType.Int32 ? inputs : inputs.to_type(ScalarType.Int64);
        if (ids.numel() > 0)
        {
            long min = ids.min().to_type(ScalarType.Int64).item<long>(), max = ids.max().to_type(ScalarType.Int64).item<long>();
            if (min < 0 || max >= InputDim)
                throw new KerasLayerException(this,
                    $"token ids must lie in [0, {InputDim - 1}] (input_dim={InputDim}), but the input holds ids from {min} to {max}.");
        }
        var rows = _embeddings!.Value.index_select(0, ids.reshape(-1)).reshape([.. ids.shape, OutputDim]);
        // Keras' Embedding does not autocast (ids stay exact); its output is in the compute dtype.
        var computeType = DTypePolicy.ComputeScalarType;
        return (rows.dtype == computeType ? rows : rows.to_type(computeType)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount) =>
        MaskZero ? [inputs[0].ne(0)] : [null];

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        [inputShapes[0].Concat(OutputDim)];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["input_dim"] = InputDim;
        c["output_dim"] = OutputDim;
        c["embeddings_initializer"] = EmbeddingsInitializer;
        c["embeddings_regularizer"] = EmbeddingsRegularizer;
        c["activity_regularizer"] = ActivityRegularizer;
        c["embeddings_constraint"] = EmbeddingsConstraint;
        c["mask_zero"] = MaskZero;
        c["quantization_config"] = null;
        return c;
    }
}
