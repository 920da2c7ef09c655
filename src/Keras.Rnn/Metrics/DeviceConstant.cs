using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// A small float32 constant (thresholds, label weights) kept on the device of the data, so updates do not copy it
/// from the host every batch. Lives outside any dispose scope.
/// </summary>
internal sealed class DeviceConstant
{
    private readonly float[] _values;
    private readonly long[] _shape;
    private Tensor? _tensor;

    public DeviceConstant(IEnumerable<double> values)
    {
        _values = values.Select(v => (float)v).ToArray();
        _shape = [_values.Length];
    }

    /// <summary>The constant on <paramref name="device"/> (do not dispose it).</summary>
    public Tensor On(Device device)
    {
        if (_tensor is not null && _tensor.device_type == device.type && _tensor.device_index == device.index) return _tensor;
        var old = _tensor;
        using (var cpu = torch.tensor(_values, _shape))
            _tensor = cpu.to(device).DetachFromDisposeScope();
        if (!ReferenceEquals(old, _tensor)) old?.Dispose();
        return _tensor;
    }
}
