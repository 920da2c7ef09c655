using Keras.Rnn.Losses;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Area under the ROC or precision-recall curve (Keras' <c>AUC</c>), approximated the Keras way: confusion counts are
/// accumulated at <see cref="NumThresholds"/> thresholds (by default evenly spaced, the first just below 0 and the
/// last just above 1) and the curve through those points is integrated with a Riemann sum.
/// </summary>
/// <remarks>
/// <para><c>summationMethod</c>: <c>"interpolation"</c> (default) uses trapezoids for ROC and PR-gain, and for PR the
/// interpolation of Davis &amp; Goadrich (precision varies along a hyperbola between thresholds);
/// <c>"minoring"</c>/<c>"majoring"</c> use the lower/upper rectangle.</para>
/// <para>Predictions are probabilities (clipped to [0, 1]) unless <c>fromLogits</c>, when a sigmoid is applied
/// first. Labels count as positive when non-zero. With <c>multiLabel</c> each column of <c>(batch, labels)</c> data
/// has its own curve and the result is their (label-weighted) mean; otherwise all entries are pooled, optionally
/// weighted per label. As in Keras 3.15, the <c>mask</c> argument of <see cref="UpdateState"/> is ignored.</para>
/// </remarks>
public class AUC : Metric
{
    private readonly double[] _thresholds;
    private readonly bool _evenly;
    private readonly bool _initFromThresholds;
    private readonly double[]? _labelWeights;
    private readonly DeviceConstant _thresholdTensor;
    private readonly DeviceConstant? _labelWeightTensor;
    private MetricState? _tp, _fp, _tn, _fn;
    private long? _numLabelsBuilt;

    /// <summary>Creates the metric.</summary>
    /// <param name="numThresholds">Number of thresholds, more than 1 (default 200). Ignored when
    /// <paramref name="thresholds"/> is given.</param>
    /// <param name="curve"><c>"ROC"</c> (default), <c>"PR"</c> or <c>"PRGAIN"</c>.</param>
    /// <param name="summationMethod"><c>"interpolation"</c> (default), <c>"minoring"</c> or <c>"majoring"</c>.</param>
    /// <param name="name">Name (default: an automatic <c>auc</c>, <c>auc_1</c>, ...).</param>
    /// <param name="thresholds">Explicit thresholds in [0, 1]; -1e-7 and 1 + 1e-7 are added around them (default
    /// <c>null</c>: evenly spaced).</param>
    /// <param name="multiLabel">One curve per label column, averaged (default false).</param>
    /// <param name="numLabels">Number of label columns when <paramref name="multiLabel"/>, to build the state early
    /// (default <c>null</c>: from the first batch).</param>
    /// <param name="labelWeights">Per-label weights: of the entries when pooled, of the per-label areas when
    /// <paramref name="multiLabel"/> (default <c>null</c>).</param>
    /// <param name="fromLogits">Whether y_pred holds logits (default false).</param>
    /// <exception cref="ArgumentException">Invalid curve, summation method, number of thresholds, or
    /// <paramref name="numLabels"/> without <paramref name="multiLabel"/>.</exception>
    public AUC(int numThresholds = 200, string curve = "ROC", string summationMethod = "interpolation", string? name = null,
        double[]? thresholds = null, bool multiLabel = false, int? numLabels = null, double[]? labelWeights = null, bool fromLogits = false)
        : base(name ?? Naming.Uniquify("auc"))
    {
        Curve = curve switch
        {
            "ROC" or "roc" => "ROC",
            "PR" or "pr" => "PR",
            "PRGAIN" or "prgain" => "PRGAIN",
            _ => throw new ArgumentException($"Invalid AUC curve value: \"{curve}\". Expected values are [\"PR\", \"ROC\", \"PRGAIN\"].", nameof(curve)),
        };
        SummationMethod = summationMethod switch
        {
            "interpolation" or "Interpolation" => "interpolation",
            "majoring" or "Majoring" => "majoring",
            "minoring" or "Minoring" => "minoring",
            _ => throw new ArgumentException(
                $"Invalid AUC summation method value: \"{summationMethod}\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"].",
                nameof(summationMethod)),
        };
        _initFromThresholds = thresholds is not null;
        double[] inner;
        if (thresholds is not null)
        {
            inner = thresholds.OrderBy(t => t).ToArray();
            NumThresholds = inner.Length + 2;
            _evenly = ConfusionMatrixUtils.IsEvenlyDistributed([0.0, .. inner, 1.0]);
        }
        else
        {
            if (numThresholds <= 1)
                throw new ArgumentException($"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={numThresholds}.",
                    nameof(numThresholds));
            NumThresholds = numThresholds;
            inner = Enumerable.Range(0, numThresholds - 2).Select(i => (i + 1) * 1.0 / (numThresholds - 1)).ToArray();
            _evenly = true;
        }
        _thresholds = [0.0 - LossUtils.Epsilon, .. inner, 1.0 + LossUtils.Epsilon];
        _thresholdTensor = new DeviceConstant(_thresholds);
        MultiLabel = multiLabel;
        NumLabels = numLabels;
        FromLogits = fromLogits;
        _labelWeights = labelWeights is null ? null : (double[])labelWeights.Clone();
        _labelWeightTensor = _labelWeights is null ? null : new DeviceConstant(_labelWeights);
        if (multiLabel)
        {
            if (numLabels is { } nl) Build(nl);
        }
        else
        {
            if (numLabels is not null)
                throw new ArgumentException("`num_labels` is needed only when `multi_label` is True.", nameof(numLabels));
            Build(null);
        }
    }

    /// <summary>Number of thresholds, including the two outer ones.</summary>
    public int NumThresholds { get; }

    /// <summary>The curve: <c>"ROC"</c>, <c>"PR"</c> or <c>"PRGAIN"</c>.</summary>
    public string Curve { get; }

    /// <summary>The summation method: <c>"interpolation"</c>, <c>"minoring"</c> or <c>"majoring"</c>.</summary>
    public string SummationMethod { get; }

    /// <summary>Whether each label column has its own curve.</summary>
    public bool MultiLabel { get; }

    /// <summary>The number of label columns given at construction, if any.</summary>
    public int? NumLabels { get; }

    /// <summary>Whether y_pred holds logits.</summary>
    public bool FromLogits { get; }

    /// <summary>The thresholds, including -1e-7 and 1 + 1e-7 at the ends.</summary>
    public IReadOnlyList<double> Thresholds => _thresholds;

    private void Build(long? numLabels)
    {
        long[] shape = numLabels is { } l ? [NumThresholds, l] : [NumThresholds];
        _tp = new MetricState(shape);
        _fp = new MetricState(shape);
        _tn = new MetricState(shape);
        _fn = new MetricState(shape);
        _numLabelsBuilt = numLabels;
    }

    /// <summary>Accumulates the confusion counts of one batch. The mask is ignored, as in Keras.</summary>
    /// <inheritdoc />
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        if (MultiLabel)
        {
            if (yPred.dim() != 2)
                throw new ArgumentException($"{Owner}: y_pred must have rank 2 when multi_label is true; found shape {LossUtils.FormatShape(yPred.shape)}.");
            if (_tp is null) Build(yPred.shape[1]);
            else if (_numLabelsBuilt != yPred.shape[1])
                throw new ArgumentException($"{Owner}: built for {_numLabelsBuilt} labels, received y_pred of shape {LossUtils.FormatShape(yPred.shape)}.");
        }
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var pred = FromLogits ? torch.sigmoid(LossUtils.ToFloat(yPred.detach())) : yPred;
        ConfusionMatrixUtils.Update(Owner, yTrue, pred, _thresholds, _thresholdTensor, _evenly, null, null, sampleWeight, MultiLabel,
            MultiLabel ? null : _labelWeightTensor,
            _tp, _fp, _tn, _fn);
    }

    private static double Dnn(double x, double y) => y == 0 ? 0.0 : x / y;

    /// <summary>The area under one curve from its confusion counts (Keras' <c>result</c> / <c>interpolate_pr_auc</c>).</summary>
    private double Area(double[] tp, double[] fp, double[] tn, double[] fn)
    {
        int n = tp.Length;
        double area = 0;
        if (Curve == "PR" && SummationMethod == "interpolation")
        {
            for (int i = 0; i < n - 1; i++)
            {
                double pA = tp[i] + fp[i], pB = tp[i + 1] + fp[i + 1];
                double dtp = tp[i] - tp[i + 1];
                double dp = pA - pB;
                double slope = Dnn(dtp, Math.Max(dp, 0));
                double intercept = tp[i + 1] - slope * pB;
                double ratio = pA > 0 && pB > 0 ? Dnn(pA, Math.Max(pB, 0)) : 1.0;
                area += Dnn(slope * (dtp + intercept * Math.Log(ratio)), Math.Max(tp[i + 1] + fn[i + 1], 0));
            }
            return area;
        }
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double recall = Dnn(tp[i], tp[i] + fn[i]);
            switch (Curve)
            {
                case "ROC":
                    x[i] = Dnn(fp[i], fp[i] + tn[i]);
                    y[i] = recall;
                    break;
                case "PR":
                    x[i] = recall;
                    y[i] = Dnn(tp[i], tp[i] + fp[i]);
                    break;
                default:
                {
                    double scaling = Dnn(tp[i] + fn[i], tn[i] + fp[i]);
                    double recallGain = tp[i] == 0 ? 0.0 : 1.0 - scaling * Dnn(fn[i], tp[i]);
                    double precisionGain = tp[i] == 0 ? 1.0 : 1.0 - scaling * Dnn(fp[i], tp[i]);
                    x[i] = Math.Max(recallGain, 0.0);
                    y[i] = precisionGain;
                    break;
                }
            }
        }
        for (int i = 0; i < n - 1; i++)
        {
            double height = SummationMethod switch
            {
                "interpolation" => (y[i] + y[i + 1]) / 2.0,
                "minoring" => Math.Min(y[i], y[i + 1]),
                _ => Math.Max(y[i], y[i + 1]),
            };
            area += (x[i] - x[i + 1]) * height;
        }
        return area;
    }

    /// <summary>The area under the curve; for <c>multiLabel</c>, the mean (or label-weighted mean) of the per-label areas.</summary>
    public override double Result()
    {
        if (_tp is null) return 0.0;
        double[] tp = _tp.Read(), fp = _fp!.Read(), tn = _tn!.Read(), fn = _fn!.Read();
        if (!MultiLabel) return Area(tp, fp, tn, fn);
        int n = NumThresholds;
        int labels = (int)_numLabelsBuilt!.Value;
        double[] Column(double[] a, int j) => Enumerable.Range(0, n).Select(i => a[i * labels + j]).ToArray();
        var areas = Enumerable.Range(0, labels).Select(j => Area(Column(tp, j), Column(fp, j), Column(tn, j), Column(fn, j))).ToArray();
        if (_labelWeights is null) return areas.Average();
        if (_labelWeights.Length != labels)
            throw new InvalidOperationException($"{Owner}: {_labelWeights.Length} label weights for {labels} labels.");
        return Dnn(areas.Select((a, j) => a * _labelWeights[j]).Sum(), _labelWeights.Sum());
    }

    /// <inheritdoc />
    public override void ResetState()
    {
        _tp?.Reset();
        _fp?.Reset();
        _tn?.Reset();
        _fn?.Reset();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> GetConfig()
    {
        var config = new Dictionary<string, object?>(base.GetConfig())
        {
            ["num_thresholds"] = NumThresholds,
            ["curve"] = Curve,
            ["summation_method"] = SummationMethod,
            ["multi_label"] = MultiLabel,
            ["num_labels"] = NumLabels,
            ["label_weights"] = _labelWeights,
            ["from_logits"] = FromLogits,
        };
        if (_initFromThresholds) config["thresholds"] = _thresholds[1..^1];
        return config;
    }
}
