using Keras.Rnn.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// Root of the (weighted) mean squared error (Keras' <c>RootMeanSquaredError</c>): <c>sqrt(mean((y_pred - y_true)²))</c>
/// over everything seen since the last reset.
/// </summary>
/// <remarks>
/// As in Keras 3.15 this metric derives from <see cref="Mean"/>, not <see cref="MeanMetricWrapper"/>, and ignores the
/// <c>mask</c> argument; exclude padded steps with per-step sample weights instead.
/// </remarks>
public class RootMeanSquaredError : Mean
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">Name (default <c>"root_mean_squared_error"</c>).</param>
    public RootMeanSquaredError(string name = "root_mean_squared_error") : base(name) { }

    /// <summary>Accumulates the squared errors of one batch (the mask is ignored, as in Keras).</summary>
    /// <inheritdoc />
    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var p = LossUtils.ToFloat(yPred.detach());
        var t = LossUtils.ToFloat(yTrue, p.device);
        (t, p) = LossUtils.SqueezeOrExpandToSameRank(t, p);
        LossFunctions.CheckBroadcastable(t, p, Owner);
        UpdateCore(p.sub(t).square(), null, sampleWeight);
    }

    /// <inheritdoc />
    public override double Result() => Math.Sqrt(base.Result());
}
