using Keras.Rnn.Utils;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Precision, <c>TP / (TP + FP)</c>, of the predictions above a threshold (Keras' <c>Precision</c>). Labels count as
/// positive when non-zero; a prediction is positive when strictly above the threshold.
/// </summary>
/// <remarks>
/// With <c>topK</c>, only the k highest-scored classes of each sample can be positive (the default threshold then
/// accepts all of them); with <c>classId</c>, only that class column is scored. As in Keras 3.15, the <c>mask</c>
/// argument of <see cref="UpdateState"/> is ignored; exclude padded steps with sample weights.
/// </remarks>
public class Precision : Metric
{
    private readonly double[]? _initThresholds;
    private readonly double[] _thresholds;
    private readonly bool _evenly;
    private readonly DeviceConstant _thresholdTensor;
    private readonly MetricState _tp;
    private readonly MetricState _fp;

    /// <summary>Creates the metric.</summary>
    /// <param name="thresholds">Thresholds in [0, 1]; one result per threshold (default <c>null</c>: 0.5, or no
    /// threshold when <paramref name="topK"/> is set).</param>
    /// <param name="topK">Only the k highest-scored classes may be positive (default <c>null</c>).</param>
    /// <param name="classId">Score only this class column of <c>(batch, classes)</c> data (default <c>null</c>).</param>
    /// <param name="name">Name (default: an automatic <c>precision</c>, <c>precision_1</c>, ...).</param>
    /// <exception cref="ArgumentException">A threshold outside [0, 1], or an empty threshold list.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="topK"/> below 1.</exception>
    public Precision(double[]? thresholds = null, int? topK = null, int? classId = null, string? name = null)
        : base(name ?? Naming.Uniquify("precision"))
    {
        (_initThresholds, _thresholds, _evenly) = ParseThresholds(thresholds, topK, nameof(thresholds));
        _thresholdTensor = new DeviceConstant(_thresholds);
        TopK = topK;
        ClassId = classId;
        _tp = new MetricState(_thresholds.Length);
        _fp = new MetricState(_thresholds.Length);
    }

    internal static (double[]? Init, double[] Thresholds, bool Evenly) ParseThresholds(double[]? thresholds, int? topK, string paramName)
    {
        if (topK is < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be at least 1.");
        if (thresholds is not null)
        {
            if (thresholds.Length == 0) throw new ArgumentException("thresholds must not be empty.", paramName);
            ConfusionMatrixUtils.CheckThresholds(thresholds, paramName);
        }
        var parsed = thresholds is null ? [topK is null ? 0.5 : ConfusionMatrixUtils.NegInf] : (double[])thresholds.Clone();
        return (thresholds is null ? null : (double[])thresholds.Clone(), parsed, ConfusionMatrixUtils.IsEvenlyDistributed(parsed));
    }

    /// <summary>The thresholds in use.</summary>
    public IReadOnlyList<double> Thresholds => _thresholds;

    /// <summary>Only the k highest-scored classes may be positive, if set.</summary>
    public int? TopK { get; }

    /// <summary>The class column scored, if set.</summary>
    public int? ClassId { get; }

    /// <summary>Accumulates true and false positives of one batch. The mask is ignored, as in Keras.</summary>
    /// <inheritdoc />
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        ConfusionMatrixUtils.Update(Owner, yTrue, yPred, _thresholds, _thresholdTensor, _evenly, TopK, ClassId, sampleWeight, false, null,
            _tp, _fp, null, null);
    }

    /// <summary>Precision for each threshold.</summary>
    public double[] ResultPerThreshold()
    {
        var tp = _tp.Read();
        var fp = _fp.Read();
        return tp.Select((t, i) => t + fp[i] == 0 ? 0.0 : t / (t + fp[i])).ToArray();
    }

    /// <summary>The precision (0 when nothing was predicted positive).</summary>
    /// <exception cref="InvalidOperationException">Several thresholds: use <see cref="ResultPerThreshold"/>.</exception>
    public override double Result()
    {
        if (_thresholds.Length != 1)
            throw new InvalidOperationException($"{Owner} has {_thresholds.Length} thresholds; read them with ResultPerThreshold().");
        return ResultPerThreshold()[0];
    }

    /// <inheritdoc />
    public override void ResetState()
    {
        _tp.Reset();
        _fp.Reset();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?>(base.GetConfig())
        {
            ["thresholds"] = _initThresholds,
            ["top_k"] = TopK,
            ["class_id"] = ClassId,
        };
}
