using Keras.Rnn.Optimizers;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using Xunit;
using static Keras.Rnn.Tests.Optimizers.OptimizerTestUtil;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Optimizers;

/// <summary>
/// Keras' Adam adds ε to √v before the bias correction is folded into α; torch.optim.Adam adds ε to the
/// bias-corrected √v̂. With small gradients (√v comparable to ε) the two drift apart within a few steps. This test
/// runs TorchSharp's own torch-style Adam with the same hyperparameters and shows we follow Keras instead.
/// </summary>
public class TorchStyleAdamTests
{
    private const double Lr = 1e-3, B1 = 0.9, B2 = 0.999, Eps = 1e-7;
    private static readonly double[] Grad = [1e-7, 5e-7, 2e-6];

    private static double[] KerasAdam(int steps)
    {
        var w = new double[] { 1.0, 1.0, 1.0 };
        var m = new double[3];
        var v = new double[3];
        for (int t = 1; t <= steps; t++)
        {
            double alpha = Lr * Math.Sqrt(1 - Math.Pow(B2, t)) / (1 - Math.Pow(B1, t));
            for (int j = 0; j < 3; j++)
            {
                m[j] += (Grad[j] - m[j]) * (1 - B1);
                v[j] += (Grad[j] * Grad[j] - v[j]) * (1 - B2);
                w[j] -= alpha * m[j] / (Math.Sqrt(v[j]) + Eps);
            }
        }
        return w;
    }

    private static double[] TorchStyleAdam(int steps)
    {
        var w = new double[] { 1.0, 1.0, 1.0 };
        var m = new double[3];
        var v = new double[3];
        for (int t = 1; t <= steps; t++)
        {
            double bc1 = 1 - Math.Pow(B1, t), bc2 = 1 - Math.Pow(B2, t);
            for (int j = 0; j < 3; j++)
            {
                m[j] = B1 * m[j] + (1 - B1) * Grad[j];
                v[j] = B2 * v[j] + (1 - B2) * Grad[j] * Grad[j];
                w[j] -= Lr / bc1 * m[j] / (Math.Sqrt(v[j]) / Math.Sqrt(bc2) + Eps);
            }
        }
        return w;
    }

    [Fact]
    public void WeFollowKerasNotTorchOptim()
    {
        const int steps = 5;
        var keras = KerasAdam(steps);
        var torchStyle = TorchStyleAdam(steps);

        // Ours, float64 and float32.
        var w64 = Var([1.0, 1.0, 1.0], "w", ScalarType.Float64);
        var ours64 = new Adam(Lr, beta1: B1, beta2: B2, epsilon: Eps);
        var w32 = Var([1.0, 1.0, 1.0], "w", ScalarType.Float32);
        var ours32 = new Adam(Lr, beta1: B1, beta2: B2, epsilon: Eps);
        for (int t = 0; t < steps; t++)
        {
            Step(ours64, [w64], Grad);
            Step(ours32, [w32], Grad);
        }

        // TorchSharp's torch.optim.Adam (a port of PyTorch's), same lr, betas and ε.
        var p = new Parameter(torch.ones(3, ScalarType.Float64));
        var torchAdam = torch.optim.Adam([p], lr: Lr, beta1: B1, beta2: B2, eps: Eps);
        using var g = torch.tensor(Grad, ScalarType.Float64);
        for (int t = 0; t < steps; t++)
        {
            torchAdam.zero_grad();
            using var loss = (p * g).sum();
            loss.backward();
            torchAdam.step();
        }
        var torchValues = Values(p);

        // The torch optimizer is indeed the torch-style rule, and that rule is far from Keras' here.
        AssertClose(torchStyle, torchValues, 1e-12, what: "torch.optim.Adam vs torch-style formula");
        double gap = keras.Zip(torchStyle, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(gap > 1e-3, $"the two rules should differ measurably; max gap {gap}");

        // We match Keras' rule, not torch's.
        AssertClose(keras, Values(w64), 1e-12, what: "ours (float64) vs Keras rule");
        AssertClose(keras, Values(w32), 1e-6, what: "ours (float32) vs Keras rule");
        double oursVsTorch = Values(w32).Zip(torchValues, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(oursVsTorch > 1e-3, $"ours should differ from torch.optim.Adam; max gap {oursVsTorch}");
    }
}
