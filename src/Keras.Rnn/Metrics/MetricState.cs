using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// One accumulator of a metric (Keras' metric variable): a float64 tensor that lives on the device of the values it
/// accumulates, outside any dispose scope and without autograd history. Adding to it does not synchronise with the
/// device; reading it does.
/// </summary>
internal sealed class MetricState
{
    private readonly long[] _shape;
    private Tensor? _value;

    public MetricState(params long[] shape) => _shape = shape;

    /// <summary>The accumulated tensor, or <c>null</c> before the first update.</summary>
    public Tensor? Value => _value;

    private Tensor On(Device device)
    {
        if (_value is null)
        {
            _value = torch.zeros(_shape, ScalarType.Float64, device).DetachFromDisposeScope();
        }
        else if (_value.device_type != device.type || _value.device_index != device.index)
        {
            var moved = _value.to(device).DetachFromDisposeScope();
            _value.Dispose();
            _value = moved;
        }
        return _value;
    }

    /// <summary>Adds <paramref name="delta"/> (broadcast to the state's shape), on delta's device.</summary>
    public void Add(Tensor delta) => AddScaled(delta, 1.0);

    /// <summary>Adds <paramref name="delta"/> times <paramref name="factor"/> (broadcast to the state's shape) in one operation, on delta's device.</summary>
    public void AddScaled(Tensor delta, double factor)
    {
        using var _ = torch.no_grad();
        var target = On(delta.device);
        target.add_(delta.detach(), alpha: factor);
    }

    /// <summary>Adds a host value, on <paramref name="device"/> when the state does not exist yet.</summary>
    public void Add(double delta, Device? device = null)
    {
        using var _ = torch.no_grad();
        var target = _value ?? On(device ?? torch.CPU);
        target.add_(delta);
    }

    /// <summary>Copies the values to the host (row-major); zeros before the first update.</summary>
    public double[] Read()
    {
        if (_value is null)
            return new double[_shape.Aggregate(1L, (a, b) => a * b)];
        using var cpu = _value.cpu();
        return cpu.data<double>().ToArray();
    }

    /// <summary>The value of a scalar state.</summary>
    public double ReadScalar() => _value is null ? 0.0 : _value.item<double>();

    /// <summary>Sets the state back to zeros, keeping its device.</summary>
    public void Reset()
    {
        if (_value is null) return;
        using var _ = torch.no_grad();
        _value.zero_();
    }
}
