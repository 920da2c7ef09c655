namespace Keras.Rnn.Seq2Seq;

/// <summary>
/// One description of an encoder–decoder model, from which <see cref="Seq2SeqBuilder"/> builds the teacher-forced
/// training model and the inference encoder and step decoder that share its weights.
/// </summary>
/// <example>
/// <code>
/// var config = new Seq2SeqConfig
/// {
///     SourceVocabularySize = 8000, TargetVocabularySize = 10000,
///     Cell = "gru", EmbeddingDim = 256, Units = 256, BidirectionalEncoder = true, Attention = "luong",
/// };
/// var models = Seq2SeqBuilder.Build(config);
/// models.Training.Compile(optimizer: "adam", loss: new SparseCategoricalCrossentropy(fromLogits: true));
/// </code>
/// </example>
public sealed record Seq2SeqConfig
{
    /// <summary>Number of source tokens (word ids including padding 0 and OOV, or characters for one-hot input).</summary>
    public int SourceVocabularySize { get; init; }

    /// <summary>Number of target tokens (including padding 0, OOV, start and end).</summary>
    public int TargetVocabularySize { get; init; }

    /// <summary><c>"lstm"</c> or <c>"gru"</c> (default).</summary>
    public string Cell { get; init; } = "gru";

    /// <summary>Embedding size for token-id inputs (default 256; unused with <see cref="OneHotInputs"/>).</summary>
    public int EmbeddingDim { get; init; } = 256;

    /// <summary>Recurrent units per direction of the encoder (default 256). The decoder has twice as many with a bidirectional encoder.</summary>
    public int Units { get; init; } = 256;

    /// <summary>Stacked recurrent layers in the encoder and in the decoder (default 1).</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Whether the encoder reads the source both ways (default <c>false</c>).</summary>
    public bool BidirectionalEncoder { get; init; }

    /// <summary><c>"none"</c> (default), <c>"luong"</c> (dot-product <see cref="Layers.Attention"/>) or <c>"bahdanau"</c> (<see cref="Layers.AdditiveAttention"/>).</summary>
    public string Attention { get; init; } = "none";

    /// <summary>
    /// Size of Luong's attentional hidden state <c>tanh(W [decoder output; context])</c> that feeds the output layer
    /// (default <c>null</c>: the decoder's units). A smaller value makes the large output projection cheaper.
    /// Used only with attention.
    /// </summary>
    public int? AttentionHiddenUnits { get; init; }

    /// <summary>Dropout on embeddings and recurrent inputs during training (default 0).</summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Inputs are one-hot vectors (the Keras <c>lstm_seq2seq</c> character example) instead of token ids with
    /// embeddings (default <c>false</c>). The output is then a softmax over target characters.
    /// </summary>
    public bool OneHotInputs { get; init; }

    /// <summary>Checks the values, naming the first wrong one.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (SourceVocabularySize < 2) throw new ArgumentException($"Seq2SeqConfig.SourceVocabularySize must be at least 2, got {SourceVocabularySize}.");
        if (TargetVocabularySize < 3) throw new ArgumentException($"Seq2SeqConfig.TargetVocabularySize must be at least 3 (with start and end tokens), got {TargetVocabularySize}.");
        if (Cell is not ("lstm" or "gru")) throw new ArgumentException($"Seq2SeqConfig.Cell must be \"lstm\" or \"gru\", got \"{Cell}\".");
        if (Attention is not ("none" or "luong" or "bahdanau")) throw new ArgumentException($"Seq2SeqConfig.Attention must be \"none\", \"luong\" or \"bahdanau\", got \"{Attention}\".");
        if (Units <= 0 || EmbeddingDim <= 0 || Layers <= 0) throw new ArgumentException("Seq2SeqConfig: Units, EmbeddingDim and Layers must be positive.");
        if (AttentionHiddenUnits is <= 0) throw new ArgumentException($"Seq2SeqConfig.AttentionHiddenUnits must be positive, got {AttentionHiddenUnits}.");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"Seq2SeqConfig.Dropout must be in [0, 1), got {Dropout}.");
    }

    /// <summary>States per recurrent layer: 2 for LSTM (h, c), 1 for GRU.</summary>
    public int StatesPerLayer => Cell == "lstm" ? 2 : 1;

    /// <summary>Units of each decoder layer.</summary>
    public int DecoderUnits => BidirectionalEncoder ? 2 * Units : Units;
}
