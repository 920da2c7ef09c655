namespace Keras.Rnn.Seq2Seq;

/// <summary>One translated sentence, as <see cref="Translator.Translate(IReadOnlyList{string}, TranslateOptions?)"/> returns it.</summary>
/// <param name="Source">The input sentence, unchanged.</param>
/// <param name="Text">The translation, detokenised.</param>
/// <param name="SourceTokens">The source tokens the model read (after normalisation and truncation).</param>
/// <param name="TargetTokens">The produced tokens, without the end token.</param>
/// <param name="LogProbability">Sum of the log-probabilities of the produced tokens (end token included).</param>
/// <param name="Attention">
/// For models with attention: the weights <c>(TargetTokens, SourceTokens)</c>; row <c>i</c> says where target token
/// <c>i</c> looked. <c>null</c> otherwise.
/// </param>
/// <param name="Warnings">What was not as expected (empty sentence, unknown words, truncation, no end token), for the caller to show.</param>
public sealed record Translation(
    string Source,
    string Text,
    IReadOnlyList<string> SourceTokens,
    IReadOnlyList<string> TargetTokens,
    double LogProbability,
    float[,]? Attention,
    IReadOnlyList<string> Warnings);
