using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Optimizers;

/// <summary>
/// One variable of an optimizer (Keras' optimizer <c>variables</c>): the step counter, the learning rate, or a
/// per-weight slot such as Adam's momentum. Slots live on their weight's device and are updated in place.
/// </summary>
public sealed class OptimizerVariable
{
    private readonly Func<double>? _hostGetter;
    private readonly Action<double>? _hostSetter;

    internal OptimizerVariable(string path, Tensor value, Variable? reference, Func<double>? hostGetter = null, Action<double>? hostSetter = null)
    {
        Path = path;
        Value = value.DetachFromDisposeScope();
        Reference = reference;
        _hostGetter = hostGetter;
        _hostSetter = hostSetter;
    }

    /// <summary>Keras' path, e.g. <c>adam/dense_kernel_momentum</c> or <c>adam/iteration</c>.</summary>
    public string Path { get; }

    /// <summary>
    /// The live state tensor. For per-weight slots it is what the update reads and writes; for scalars the
    /// optimizer keeps on the host (step counter, learning rate, Nadam's <c>u_product</c>) it is refreshed when
    /// read through <see cref="Optimizer.Variables"/>. Do not dispose it.
    /// </summary>
    public Tensor Value { get; private set; }

    /// <summary>The weight this slot belongs to, or <c>null</c> for the optimizer's own scalars.</summary>
    internal Variable? Reference { get; }

    /// <summary>Whether the value is mirrored from a host-side scalar.</summary>
    internal bool IsHostScalar => _hostGetter is not null;

    /// <summary>Copies the host-side scalar into <see cref="Value"/> (no-op for slots).</summary>
    internal void Refresh()
    {
        if (_hostGetter is null) return;
        using var _ = torch.no_grad();
        Value.fill_(_hostGetter());
    }

    /// <summary>Sets the state from <paramref name="value"/> (shapes already checked).</summary>
    internal void Load(Tensor value)
    {
        using var _ = torch.no_grad();
        if (_hostSetter is not null)
        {
            using var d = value.to(ScalarType.Float64, torch.CPU);
            _hostSetter(d.item<double>());
            Refresh();
        }
        else
        {
            Value.copy_(value);
        }
    }

    /// <summary>Moves the state to <paramref name="device"/> if it lives elsewhere.</summary>
    internal void MoveTo(Device device)
    {
        if (Value.device_type == device.type && (device.index < 0 || Value.device_index == device.index)) return;
        var moved = Value.to(device).DetachFromDisposeScope();
        var old = Value;
        Value = moved;
        old.Dispose();
    }

    /// <summary>Moves the state to the device of <paramref name="like"/> if it lives elsewhere.</summary>
    internal void MoveToDeviceOf(Tensor like)
    {
        var type = like.device_type;
        var index = like.device_index;
        if (Value.device_type == type && Value.device_index == index) return;
        var moved = Value.to(like.device).DetachFromDisposeScope();
        var old = Value;
        Value = moved;
        old.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"<OptimizerVariable path={Path}, shape={Keras.Rnn.Shape.Format(Value.shape.Select(d => (int?)d).ToArray())}>";
}
