using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

/// <summary>A test that runs only where a CUDA device is usable; skipped (not failed) elsewhere.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!KerasConfig.IsCudaAvailable) Skip = "No CUDA device (load a CUDA libtorch with KERAS_RNN_LIBTORCH on a GPU machine).";
    }
}

public class DeviceTests
{
    [Fact]
    public void DeviceNamesAreValidated()
    {
        Assert.Throws<ArgumentException>(() => KerasConfig.DefaultDevice = "tpu");
        var model = new Sequential(new InputLayer([3]), new Dense(1));
        Assert.Equal("cpu", model.Device);
        Assert.Throws<ArgumentException>(() => model.Device = "cuda:x");
    }

    [Fact]
    public void AskingForCudaWithoutAGpuIsAClearError()
    {
        if (KerasConfig.IsCudaAvailable) return;
        var model = new Sequential(new InputLayer([3]), new Dense(1));
        var e = Assert.Throws<InvalidOperationException>(() => model.Device = "cuda");
        Assert.Contains("CUDA is not available", e.Message);
    }

    [CudaFact]
    public void TrainingOnCudaMatchesCpu()
    {
        KerasApi.SetRandomSeed(0);
        var x = torch.randn(64, 12, 4);
        var y = torch.randn(64, 1);
        var cpu = new Sequential(new InputLayer([12, 4]), new LSTM(16, returnSequences: true), new GRU(8), new Dense(1));
        var gpu = new Sequential(new InputLayer([12, 4]), new LSTM(16, returnSequences: true), new GRU(8), new Dense(1));
        gpu.SetWeights(cpu.GetWeights());
        gpu.Device = "cuda";
        Assert.All(gpu.Weights, v => Assert.Equal(DeviceType.CUDA, v.Value.device.type));
        var a = cpu.Predict(x, verbose: 0);
        var b = gpu.Predict(x, verbose: 0);
        Assert.True(a.allclose(b, atol: 1e-3), "CPU and CUDA predictions differ beyond TF32 tolerance.");
        gpu.Compile(optimizer: "adam", loss: "mse");
        var history = gpu.Fit(x, y, epochs: 2, verbose: 0);
        Assert.Equal(2, history["loss"].Count);
    }

    /// <summary>
    /// Right-padded sequences run packed through cuDNN (lengths stay on the CPU, the batch permutation moves to the GPU);
    /// with a Bidirectional LSTM, a GRU and a SimpleRNN they predict and train on CUDA like on CPU. Skipped without CUDA.
    /// </summary>
    [CudaFact]
    public void RightPaddedSequencesRunPackedOnCudaLikeOnCpu()
    {
        KerasApi.SetRandomSeed(2);
        var x = torch.randn(16, 10, 3);
        var lengths = new[] { 10, 3, 7, 10, 1, 5, 9, 2, 10, 6, 4, 8, 10, 3, 7, 5 };
        for (int i = 0; i < lengths.Length; i++) x[i, TensorIndex.Slice(lengths[i])] = torch.zeros(3);
        var y = torch.randn(16, 1);
        Sequential Make() => new(new InputLayer([10, 3]), new Masking(0.0), new Bidirectional(new LSTM(8, returnSequences: true)),
            new GRU(6, returnSequences: true), new SimpleRNN(4), new Dense(1));
        var cpu = Make();
        var gpu = Make();
        gpu.SetWeights(cpu.GetWeights());
        gpu.Device = "cuda";
        var a = cpu.Predict(x, verbose: 0);
        var b = gpu.Predict(x, verbose: 0).cpu();
        Assert.True(a.allclose(b, rtol: 1e-3, atol: 1e-3), $"predictions differ: max {a.sub(b).abs().max().item<float>()}");
        foreach (var m in new[] { cpu, gpu })
        {
            m.Compile(optimizer: "sgd", loss: "mse");
            m.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0, shuffle: false);
        }
        for (int i = 0; i < cpu.Weights.Count; i++)
        {
            var wc = cpu.Weights[i].Value;
            var wg = gpu.Weights[i].Value.cpu();
            Assert.True(wc.allclose(wg, rtol: 1e-3, atol: 1e-4), $"trained weight {cpu.Weights[i].Path} differs: max {wc.sub(wg).abs().max().item<float>()}");
        }
    }
}
