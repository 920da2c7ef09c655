using Keras.Rnn.Backend;
using Keras.Rnn.Constraints;
using Keras.Rnn.Regularizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn;

/// <summary>
/// A weight of a layer (Keras' <c>keras.Variable</c>): a named tensor, trainable or not, stored in Keras' layout
/// (e.g. an LSTM kernel is <c>(input_dim, 4 * units)</c>), optionally with a regularizer and a constraint.
/// </summary>
public sealed class Variable
{
    private bool _trainable;

    internal Variable(string name, string path, Tensor value, bool trainable, Regularizer? regularizer, Constraint? constraint)
    {
        Name = name;
        Path = path;
        _trainable = trainable;
        Regularizer = regularizer;
        Constraint = constraint;
        // Variables outlive any dispose scope that happens to be open when a layer builds.
        _value = value.detach().requires_grad_(trainable).DetachFromDisposeScope();
    }

    private Tensor _value;

    /// <summary>The variable's own name, e.g. <c>kernel</c>.</summary>
    public string Name { get; }

    /// <summary>The path of the variable, e.g. <c>lstm/lstm_cell/kernel</c>.</summary>
    public string Path { get; internal set; }

    /// <summary>The live tensor. Training updates it in place; do not dispose it.</summary>
    /// <remarks>
    /// Change the values with <see cref="Assign(Tensor)"/> (optimizers, constraints and weight loading do so too): layers
    /// may keep copies derived from a variable for inference (recurrent layers keep their weights in torch's layout),
    /// refreshed when the variable reports a change. An in-place change you make to this tensor yourself is not seen by
    /// them; follow it with <c>Assign(Value)</c>.
    /// <para>While a layer with a mixed-precision policy runs (see <see cref="DTypePolicies.DTypePolicy"/>), reading a
    /// float32 variable gives it cast to the layer's compute dtype (a differentiable copy), as Keras' variables do
    /// inside an autocast scope; everywhere else it gives the live tensor.</para>
    /// </remarks>
    public Tensor Value => DTypePolicies.AutocastScope.Current is { } dtype && _value.dtype == ScalarType.Float32 && dtype != ScalarType.Float32
        ? _value.to_type(dtype)
        : _value;

    /// <summary>The live tensor itself, whatever autocast scope is active.</summary>
    internal Tensor Live => _value;

    /// <summary>
    /// Incremented whenever the library changes the value (assignment, optimizer update, constraint, weight loading,
    /// move to another device), so that copies derived from it (see <see cref="Backend.DerivedWeights"/>) know they are stale.
    /// </summary>
    internal long Version { get; private set; }

    /// <summary>Records that the value changed (see <see cref="Version"/>).</summary>
    internal void MarkModified() => Version++;

    /// <summary>The shape (Keras layout).</summary>
    public long[] Shape => _value.shape;

    /// <summary>Whether optimizers update this variable (also controls whether gradients are computed for it).</summary>
    public bool Trainable
    {
        get => _trainable;
        set
        {
            _trainable = value;
            _value.requires_grad_(value);
        }
    }

    /// <summary>The penalty added to the loss for this variable, if any.</summary>
    public Regularizer? Regularizer { get; }

    /// <summary>The projection applied after each optimizer update, if any.</summary>
    public Constraint? Constraint { get; }

    /// <summary>Number of elements.</summary>
    public long Size => _value.numel();

    /// <summary>Copies <paramref name="value"/> into the variable; shapes must match exactly.</summary>
    /// <param name="value">The new value (any device, any floating dtype).</param>
    /// <exception cref="ArgumentException">The shape differs.</exception>
    public void Assign(Tensor value)
    {
        if (!value.shape.SequenceEqual(_value.shape))
            throw new ArgumentException(
                $"Variable '{Path}': expected a value of shape {Keras.Rnn.Shape.Format(_value.shape.Select(d => (int?)d).ToArray())}, got {Keras.Rnn.Shape.Format(value.shape.Select(d => (int?)d).ToArray())}.");
        using var _ = torch.no_grad();
        _value.copy_(value);
        MarkModified();
    }

    /// <summary>Copies a .NET array (any rank; float or double) into the variable; shapes must match.</summary>
    /// <param name="value">The new value.</param>
    /// <exception cref="ArgumentException">The shape differs or the element type is not numeric.</exception>
    public void Assign(Array value)
    {
        using var t = ArrayConversion.ToTensor(value, $"value for variable '{Path}'");
        Assign(t);
    }

    /// <summary>A detached CPU copy of the value.</summary>
    public Tensor ToTensor() => _value.detach().cpu().clone();

    /// <summary>The value as a .NET array of the variable's rank (e.g. <c>float[,]</c> for a kernel).</summary>
    public Array ToArray() => ArrayConversion.ToArray(_value);

    /// <summary>Moves the variable to a device, keeping its identity (optimizer state follows lazily).</summary>
    internal void MoveTo(Device device)
    {
        if (Devices.IsOn(_value, device)) return;
        var moved = _value.detach().to(device).requires_grad_(_trainable).DetachFromDisposeScope();
        var old = _value;
        _value = moved;
        MarkModified();
        old.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"<Variable path={Path}, shape={Keras.Rnn.Shape.Format(Shape.Select(d => (int?)d).ToArray())}, trainable={Trainable}>";
}
