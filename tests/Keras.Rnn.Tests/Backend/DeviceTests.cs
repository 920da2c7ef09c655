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
}
