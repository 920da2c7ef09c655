using Keras.Rnn.Metrics;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>Mean, Sum and MeanMetricWrapper against keras/src/metrics/reduction_metrics_test.py, plus streaming,
/// reset and state-handling checks.</summary>
public class ReductionMetricsTests
{
    [Fact]
    public void Sum_KerasGoldenValues()
    {
        var s = new Sum();
        s.Update(F1(1, 3, 5, 7));
        Near(16.0, s.Result());
        s = new Sum();
        s.Update(F1(1, 3, 5, 7), F1(1, 1, 0, 0));
        Near(4.0, s.Result());
        s = new Sum();
        s.Update(F([2, 2], 1, 3, 5, 7), F([2, 2], 1, 1, 1, 0));
        Near(9.0, s.Result());
        s = new Sum();
        s.Update(F([2, 2], 1, 3, 5, 7), F([1, 2], 1, 0));
        Near(6.0, s.Result());
        Assert.Equal("sum", s.Name);
    }

    [Fact]
    public void Mean_KerasGoldenValues()
    {
        void Check(double expected, Tensor values, Tensor? sw)
        {
            var m = new Mean();
            m.Update(values, sw);
            Near(expected, m.Result());
        }
        Check(4.0, F1(1, 3, 5, 7), null);
        Check(2.0, F1(1, 3, 5, 7), F1(1, 1, 0, 0));
        Check(2.0, F1(1, 3, 5, 7), F1(-1, -1, 0, 0));
        Check(3.0, F([2, 2], 1, 3, 5, 7), F([2, 2], 1, 1, 1, 0));
        Check(3.0, F([2, 2], 1, 3, 5, 7), F([1, 2], 1, 0));
        Assert.Equal(0.0, new Mean().Result());
    }

    [Fact]
    public void Mean_AsLossTracker_WeightsBatchesBySize()
    {
        // The epoch loss Keras reports: Σ loss_b · size_b / Σ size_b, with a smaller last batch.
        var tracker = new Mean("loss");
        tracker.Update(F([], 0.5), 32);
        tracker.Update(F([], 0.25), 32);
        tracker.Update(F([], 1.0), 6);
        Near((0.5 * 32 + 0.25 * 32 + 1.0 * 6) / 70, tracker.Result(), 1e-7);
        tracker.Update(2.0, 30);
        Near((0.5 * 32 + 0.25 * 32 + 1.0 * 6 + 2.0 * 30) / 100, tracker.Result(), 1e-7);
        tracker.ResetState();
        Assert.Equal(0.0, tracker.Result());
        tracker.Update(3.0);
        Near(3.0, tracker.Result());
    }

    [Fact]
    public void Mean_IsNotAYTrueYPredMetric()
    {
        var e = Assert.Throws<NotSupportedException>(() => new Mean().UpdateState(F1(1), F1(1)));
        Assert.Contains("Update(values", e.Message);
    }

    private static readonly double[] WT = [0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1];
    private static readonly double[] WP = [0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1];

    [Fact]
    public void MeanMetricWrapper_KerasGoldenValues()
    {
        // reduction_metrics_test.py MetricWrapperTest with an element-wise squared error.
        Tensor Sq(Tensor t, Tensor p) => t.sub(p).square();
        var m = new MeanMetricWrapper(Sq, name: "mse");
        m.UpdateState(F([4, 5], WT), F([4, 5], WP));
        Near(0.5, m.Result());
        m = new MeanMetricWrapper(Sq, name: "mse");
        m.UpdateState(F([4, 5], WT), F([4, 5], WP), F1(1.0, 1.5, 2.0, 2.5));
        Near(0.54285, m.Result(), 1e-5);
        m = new MeanMetricWrapper(Sq, name: "mse");
        m.UpdateState(F([4, 5], WT), F([4, 5], WP), F([1, 5], 1.0, 0.0, 0.5, 0.0, 1.0));
        Near(0.45, m.Result(), 1e-5);
        Assert.Equal("mse", m.Name);
        Assert.StartsWith("mean_metric_wrapper", new MeanMetricWrapper(Sq).Name);
    }

    [Fact]
    public void Streaming_EqualsOneShot_AndResetStartsOver()
    {
        var oneShot = new MeanSquaredError();
        oneShot.UpdateState(F([4, 5], WT), F([4, 5], WP), F1(1.0, 1.5, 2.0, 2.5));
        var streamed = new MeanSquaredError();
        var t = F([4, 5], WT);
        var p = F([4, 5], WP);
        var w = F1(1.0, 1.5, 2.0, 2.5);
        streamed.UpdateState(t.narrow(0, 0, 1), p.narrow(0, 0, 1), w.narrow(0, 0, 1));
        streamed.UpdateState(t.narrow(0, 1, 2), p.narrow(0, 1, 2), w.narrow(0, 1, 2));
        streamed.UpdateState(t.narrow(0, 3, 1), p.narrow(0, 3, 1), w.narrow(0, 3, 1));
        Near(oneShot.Result(), streamed.Result(), 1e-7);
        Near(0.54285, streamed.Result(), 1e-5);
        streamed.ResetState();
        Assert.Equal(0.0, streamed.Result());
        streamed.UpdateState(F1(1, 2), F1(2, 4));
        Near((1 + 4) / 2.0, streamed.Result());
    }

    [Fact]
    public void State_SurvivesCallerScope_AndRecordsNoGraph()
    {
        var m = new MeanAbsoluteError();
        var weights = F1(2, 3).requires_grad_(true);
        using (var scope = torch.NewDisposeScope())
        {
            var yPred = F([2, 2], 1, 2, 3, 4).requires_grad_(true);
            var output = yPred.mul(2); // a non-leaf with history, like a model output
            m.UpdateState(F([2, 2], 0, 0, 0, 0), output, weights);
            int count = scope.DisposablesCount;
            m.UpdateState(F([2, 2], 0, 0, 0, 0), output);
            Assert.Equal(count + 1, scope.DisposablesCount); // only the labels built in this line
        }
        // Per-sample MAE of [[2, 4], [6, 8]] is [3, 7]: weighted (2·3 + 3·7) over 5, then unweighted (3 + 7) over 2.
        Near((2 * 3 + 3 * 7 + 3 + 7) / 7.0, m.Result(), 1e-6);

        var state = new MetricState(2);
        state.Add(F1(1, 2).requires_grad_(true).mul(3));
        Assert.False(state.Value!.requires_grad);
        Assert.Equal(ScalarType.Float64, state.Value.dtype);
        Near([3, 6], state.Read());
        state.Reset();
        Near([0, 0], state.Read());
    }
}
