using System.Globalization;

namespace Keras.Rnn.Metrics;

/// <summary>
/// A BLEU score and the statistics it comes from (sacreBLEU's <c>BLEUScore</c>): the score from 0 to 100, the
/// modified n-gram precisions in percent, the brevity penalty, and the hypothesis and effective reference lengths.
/// </summary>
public sealed class BleuScore
{
    internal BleuScore(double score, IReadOnlyList<double> counts, IReadOnlyList<double> totals, IReadOnlyList<double> precisions,
        double brevityPenalty, long hypothesisLength, long referenceLength)
    {
        Score = score;
        Counts = counts;
        Totals = totals;
        Precisions = precisions;
        BrevityPenalty = brevityPenalty;
        HypothesisLength = hypothesisLength;
        ReferenceLength = referenceLength;
    }

    /// <summary>The BLEU score, 0 to 100.</summary>
    public double Score { get; }

    /// <summary>The modified (clipped) n-gram precisions in percent, for n = 1 to the maximum order (smoothed when
    /// smoothing is on; 0 for orders with no hypothesis n-gram).</summary>
    public IReadOnlyList<double> Precisions { get; }

    /// <summary>Matched (clipped) n-gram counts per order, summed over the corpus (with <c>add-k</c> smoothing, plus k from order 2 on).</summary>
    public IReadOnlyList<double> Counts { get; }

    /// <summary>Hypothesis n-gram counts per order, summed over the corpus (with <c>add-k</c> smoothing, plus k from order 2 on).</summary>
    public IReadOnlyList<double> Totals { get; }

    /// <summary>The brevity penalty: 1 when the hypotheses are at least as long as the effective reference length,
    /// else <c>exp(1 − r / c)</c> (0 for empty hypotheses).</summary>
    public double BrevityPenalty { get; }

    /// <summary>Number of hypothesis tokens in the corpus (<c>c</c>).</summary>
    public long HypothesisLength { get; }

    /// <summary>Effective reference length (<c>r</c>): for each hypothesis the length of the reference closest in length
    /// (the shorter one on ties), summed over the corpus.</summary>
    public long ReferenceLength { get; }

    /// <summary>Hypothesis length over reference length (0 when the reference length is 0).</summary>
    public double Ratio => ReferenceLength == 0 ? 0 : (double)HypothesisLength / ReferenceLength;

    /// <summary>sacreBLEU's summary, e.g. <c>BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)</c>.</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var precisions = string.Join("/", Precisions.Select(p => p.ToString("F1", c)));
        return $"BLEU = {Score.ToString("F2", c)} {precisions} (BP = {BrevityPenalty.ToString("F3", c)} ratio = {Ratio.ToString("F3", c)} " +
               $"hyp_len = {HypothesisLength.ToString(c)} ref_len = {ReferenceLength.ToString(c)})";
    }
}
