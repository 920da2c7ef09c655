namespace Keras.Rnn.Seq2Seq;

/// <summary>How <see cref="Translator"/> decodes: the search strategy and its settings.</summary>
/// <example>
/// <code>
/// var beam = new TranslateOptions { Search = "beam", BeamWidth = 5 };
/// var warm = new TranslateOptions { Search = "sample", Temperature = 0.7, Seed = 1 };
/// </code>
/// </example>
public sealed record TranslateOptions
{
    /// <summary>Greedy decoding (the default).</summary>
    public static TranslateOptions Greedy { get; } = new();

    /// <summary><c>"greedy"</c> (default), <c>"beam"</c> or <c>"sample"</c>.</summary>
    public string Search { get; init; } = "greedy";

    /// <summary>Beams per sentence for <c>"beam"</c> (default 4).</summary>
    public int BeamWidth { get; init; } = 4;

    /// <summary>Length normalisation exponent α of beam search: score = log p / length^α (default 1; 0 turns it off).</summary>
    public double LengthPenalty { get; init; } = 1.0;

    /// <summary>Softmax temperature for <c>"sample"</c> (default 1).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Seed for <c>"sample"</c> (default: not repeatable).</summary>
    public int? Seed { get; init; }

    /// <summary>Largest number of produced tokens per sentence (default: the translator's <see cref="Translator.MaxTargetLength"/>).</summary>
    public int? MaxLength { get; init; }

    /// <summary>Sentences decoded together (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Never produce the out-of-vocabulary token (default <c>true</c>).</summary>
    public bool BanUnknown { get; init; } = true;

    /// <summary>Checks the values, naming the first wrong one.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Search is not ("greedy" or "beam" or "sample"))
            throw new ArgumentException($"TranslateOptions.Search must be \"greedy\", \"beam\" or \"sample\", got \"{Search}\".");
        if (BeamWidth < 1) throw new ArgumentException($"TranslateOptions.BeamWidth must be at least 1, got {BeamWidth}.");
        if (LengthPenalty < 0 || double.IsNaN(LengthPenalty)) throw new ArgumentException($"TranslateOptions.LengthPenalty must be non-negative, got {LengthPenalty}.");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"TranslateOptions.Temperature must be positive, got {Temperature}.");
        if (MaxLength is < 1) throw new ArgumentException($"TranslateOptions.MaxLength must be at least 1, got {MaxLength}.");
        if (BatchSize < 1) throw new ArgumentException($"TranslateOptions.BatchSize must be at least 1, got {BatchSize}.");
    }
}
