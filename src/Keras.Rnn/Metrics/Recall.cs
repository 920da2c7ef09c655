using Keras.Rnn.Utils;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Recall, <c>TP / (TP + FN)</c>, of the predictions above a threshold (Keras' <c>Recall</c>). Labels count as
/// positive when non-zero; a prediction is positive when strictly above the threshold.
/// </summary>
/// <remarks>
/// With <c>topK</c>, only the k highest-scored classes of each sample can be positive (the default threshold then
/// accepts all of them); with <c>classId</c>, only that class column is scored. As in Keras 3.15, the <c>mask</c>
/// argument of <see cref="UpdateState"/> is ignored; exclude padded steps with sample weights.
/// </remarks>
public class Recall : Metric
{
    private readonly double[]? _initThresholds;
    private readonly double[] _thresholds;
    private readonly bool _evenly;
    private readonly DeviceConstant _thresholdTensor;
    private readonly MetricState _tp;
    private readonly MetricState _fn;

    /// <summary>Creates the metric.</summary>
    /// <param name="thresholds">Thresholds in [0, 1]; one result per threshold (default <c>null</c>: 0.5, or no
    /// threshold when <paramref name="topK"/> is set).</param>
    /// <param name="topK">Only the k highest-scored classes may be positive (default <c>null</c>).</param>
    /// <param name="classId">Score only this class column of <c>(batch, classes)</c> data (default <c>null</c>).</param>
    /// <param name="name">Name (default: an automatic <c>recall</c>, <c>recall_1</c>, ...).</param>
    /// <exception cref="ArgumentException">A threshold outside [0, 1], or an empty threshold list.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="topK"/> below 1.</exception>
    public Recall(double[]? thresholds = null, int? topK = null, int? classId = null, string? name = null)
        : base(name ?? Naming.Uniquify("recall"))
    {
        (_initThresholds, _thresholds, _evenly) = Precision.ParseThresholds(thresholds, topK, nameof(thresholds));
        _thresholdTensor = new DeviceConstant(_thresholds);
        TopK = topK;
        ClassId = classId;
        _tp = new MetricState(_thresholds.Length);
        _fn = new MetricState(_thresholds.Length);
    }

    /// <summary>The thresholds in use.</summary>
    public IReadOnlyList<double> Thresholds => _thresholds;

    /// <summary>Only the k highest-scored classes may be positive, if set.</summary>
    public int? TopK { get; }

    /// <summary>The class column scored, if set.</summary>
    public int? ClassId { get; }

    /// <summary>Accumulates true positives and false negatives of one batch. The mask is ignored, as in Keras.</summary>
    /// <inheritdoc />
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        ConfusionMatrixUtils.Update(Owner, yTrue, yPred, _thresholds, _thresholdTensor, _evenly, TopK, ClassId, sampleWeight, false, null,
            _tp, null, null, _fn);
    }

    /// <summary>Recall for each threshold.</summary>
    public double[] ResultPerThreshold()
    {
        var tp = _tp.Read();
        var fn = _fn.Read();
        return tp.Select((t, i) => t + fn[i] == 0 ? 0.0 : t / (t + fn[i])).ToArray();
    }

    /// <summary>The recall (0 when there were no positive labels).</summary>
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
        _fn.Reset();
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
