using System.Collections;
using System.Runtime.CompilerServices;
using Keras.Rnn.Layers;

namespace Keras.Rnn;

/// <summary>
/// A symbolic tensor of the functional API: it has a shape and a dtype but no values, and remembers which layer call
/// produced it. Create one with <see cref="KerasApi.Input"/>, pass it through layers with
/// <see cref="Layer.Apply(KerasTensors, KerasTensors?, KerasTensors?, bool?, IReadOnlyDictionary{string, object?}?)"/>,
/// and build a <see cref="Models.Model"/> from inputs and outputs.
/// </summary>
public sealed class KerasTensor
{
    private static long _nextId;

    internal KerasTensor(Shape shape, string dtype, Node? node, int tensorIndex, string? name = null)
    {
        Shape = shape;
        DType = dtype;
        Node = node;
        TensorIndex = tensorIndex;
        Name = name ?? $"keras_tensor_{Interlocked.Increment(ref _nextId) - 1}";
    }

    /// <summary>The shape, batch dimension first (<c>null</c> where unknown).</summary>
    public Shape Shape { get; }

    /// <summary>Keras dtype name: <c>"float32"</c>, <c>"int32"</c>, <c>"int64"</c> or <c>"bool"</c>.</summary>
    public string DType { get; }

    /// <summary>A name for messages and summaries.</summary>
    public string Name { get; }

    /// <summary>The layer call that produced this tensor (Keras' <c>_keras_history</c>).</summary>
    internal Node? Node { get; }

    /// <summary>Which output of <see cref="Node"/> this tensor is.</summary>
    internal int TensorIndex { get; }

    /// <summary>The layer that produced this tensor.</summary>
    public Layer? SourceLayer => Node?.Layer;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <inheritdoc />
    public override string ToString() => $"<KerasTensor shape={Shape}, dtype={DType}, name={Name}>";
}

/// <summary>
/// An ordered list of <see cref="KerasTensor"/>s: the inputs or outputs of a layer call. Converts implicitly from one
/// tensor or an array, to one tensor when it holds exactly one, and deconstructs into its elements.
/// </summary>
/// <example>
/// <code>
/// KerasTensor y = new Dense(4).Apply(x);                            // one output
/// var (seq, h, c) = new LSTM(16, returnState: true, returnSequences: true).Apply(x);
/// var merged = new Concatenate().Apply([a, b]);                     // several inputs
/// </code>
/// </example>
[CollectionBuilder(typeof(KerasTensors), nameof(Create))]
public sealed class KerasTensors : IReadOnlyList<KerasTensor>
{
    private readonly KerasTensor[] _items;

    /// <summary>Creates the list.</summary>
    /// <param name="items">The tensors, in order.</param>
    public KerasTensors(IEnumerable<KerasTensor> items)
    {
        _items = items.ToArray();
        for (int i = 0; i < _items.Length; i++)
            if (_items[i] is null) throw new ArgumentNullException(nameof(items), $"Symbolic tensor {i} is null.");
    }

    /// <summary>Builds the list from a span (used by collection expressions).</summary>
    /// <param name="items">The tensors.</param>
    public static KerasTensors Create(ReadOnlySpan<KerasTensor> items) => new(items.ToArray());

    /// <inheritdoc />
    public KerasTensor this[int index] => _items[index];

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <summary>The only tensor of the list.</summary>
    /// <exception cref="InvalidOperationException">The list holds zero or several tensors.</exception>
    public KerasTensor Single() => _items.Length == 1
        ? _items[0]
        : throw new InvalidOperationException(
            $"Expected a single tensor but this layer call has {_items.Length} outputs; index them (outputs[0]) or deconstruct them (var (a, b) = ...).");

    /// <summary>Wraps one tensor.</summary>
    /// <param name="tensor">The tensor.</param>
    public static implicit operator KerasTensors(KerasTensor tensor) => new([tensor]);

    /// <summary>Wraps an array of tensors.</summary>
    /// <param name="tensors">The tensors.</param>
    public static implicit operator KerasTensors(KerasTensor[] tensors) => new(tensors);

    /// <summary>Wraps a list of tensors.</summary>
    /// <param name="tensors">The tensors.</param>
    public static implicit operator KerasTensors(List<KerasTensor> tensors) => new(tensors);

    /// <summary>The only tensor of the list; throws when there are several.</summary>
    /// <param name="tensors">A list holding exactly one tensor.</param>
    public static implicit operator KerasTensor(KerasTensors tensors) => tensors.Single();

    /// <summary>Deconstructs two tensors.</summary>
    /// <param name="a">First.</param><param name="b">Second.</param>
    public void Deconstruct(out KerasTensor a, out KerasTensor b) { Expect(2); a = _items[0]; b = _items[1]; }

    /// <summary>Deconstructs three tensors.</summary>
    /// <param name="a">First.</param><param name="b">Second.</param><param name="c">Third.</param>
    public void Deconstruct(out KerasTensor a, out KerasTensor b, out KerasTensor c) { Expect(3); a = _items[0]; b = _items[1]; c = _items[2]; }

    /// <summary>Deconstructs four tensors.</summary>
    /// <param name="a">First.</param><param name="b">Second.</param><param name="c">Third.</param><param name="d">Fourth.</param>
    public void Deconstruct(out KerasTensor a, out KerasTensor b, out KerasTensor c, out KerasTensor d) { Expect(4); a = _items[0]; b = _items[1]; c = _items[2]; d = _items[3]; }

    /// <summary>Deconstructs five tensors.</summary>
    /// <param name="a">First.</param><param name="b">Second.</param><param name="c">Third.</param><param name="d">Fourth.</param><param name="e">Fifth.</param>
    public void Deconstruct(out KerasTensor a, out KerasTensor b, out KerasTensor c, out KerasTensor d, out KerasTensor e) { Expect(5); a = _items[0]; b = _items[1]; c = _items[2]; d = _items[3]; e = _items[4]; }

    private void Expect(int n)
    {
        if (_items.Length != n)
            throw new InvalidOperationException($"Cannot deconstruct {_items.Length} tensor(s) into {n} variables.");
    }

    /// <inheritdoc />
    public IEnumerator<KerasTensor> GetEnumerator() => ((IEnumerable<KerasTensor>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
