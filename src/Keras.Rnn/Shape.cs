using System.Collections;
using System.Runtime.CompilerServices;

namespace Keras.Rnn;

/// <summary>
/// A tensor shape whose dimensions may be unknown (<c>null</c>, Keras' <c>None</c>), such as a variable batch size or
/// sequence length. Printed the way Keras prints shapes: <c>(None, 10, 32)</c>.
/// </summary>
/// <example>
/// <code>
/// Shape s = [null, 8];          // collection expression
/// Shape t = new int?[] { 20, 1 };
/// Console.WriteLine(s);          // (None, 8)
/// </code>
/// </example>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public sealed class Shape : IReadOnlyList<int?>, IEquatable<Shape>
{
    private readonly int?[] _dims;

    /// <summary>Creates a shape from its dimensions.</summary>
    /// <param name="dims">Each dimension, <c>null</c> where unknown. Known dimensions must be zero or positive.</param>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public Shape(params int?[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
            if (d is < 0)
                throw new ArgumentException($"Shape dimensions must be >= 0 or null (unknown); got {Format(dims)}.", nameof(dims));
        _dims = (int?[])dims.Clone();
    }

    /// <summary>Builds a shape from a span of dimensions (used by collection expressions).</summary>
    /// <param name="dims">The dimensions.</param>
    public static Shape Create(ReadOnlySpan<int?> dims) => new(dims.ToArray());

    /// <summary>A shape of fully known dimensions, e.g. from a tensor.</summary>
    /// <param name="dims">The dimensions.</param>
    public static Shape Of(IEnumerable<long> dims) => new(dims.Select(d => (int?)checked((int)d)).ToArray());

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <inheritdoc />
    public int Count => _dims.Length;

    /// <summary>The dimension at <paramref name="index"/>; negative indices count from the end, as in Python.</summary>
    /// <param name="index">Position, negative from the end.</param>
    public int? this[int index] => _dims[index < 0 ? _dims.Length + index : index];

    /// <summary>Whether every dimension is known.</summary>
    public bool IsFullyDefined => _dims.All(d => d.HasValue);

    /// <summary>The dimensions as an array (a copy).</summary>
    public int?[] ToArray() => (int?[])_dims.Clone();

    /// <summary>Dimensions <c>[start, end)</c> as a new shape.</summary>
    /// <param name="start">First dimension kept.</param>
    /// <param name="end">One past the last dimension kept; default: the rank.</param>
    public Shape Slice(int start, int? end = null) => new(_dims[start..(end ?? _dims.Length)]);

    /// <summary>A copy with dimension <paramref name="index"/> replaced.</summary>
    /// <param name="index">Position, negative from the end.</param>
    /// <param name="value">New dimension.</param>
    public Shape With(int index, int? value)
    {
        var d = ToArray();
        d[index < 0 ? d.Length + index : index] = value;
        return new Shape(d);
    }

    /// <summary>This shape with <paramref name="dims"/> appended.</summary>
    /// <param name="dims">Dimensions to append.</param>
    public Shape Concat(params int?[] dims) => new([.. _dims, .. dims]);

    /// <summary>This shape with a leading (batch) dimension added.</summary>
    /// <param name="batch">The batch size, <c>null</c> when variable (default).</param>
    public Shape WithBatch(int? batch = null) => new([batch, .. _dims]);

    /// <summary>Product of the known dimensions from <paramref name="start"/> on, or <c>null</c> if any is unknown.</summary>
    /// <param name="start">First dimension in the product (default 0).</param>
    public long? Product(int start = 0)
    {
        long p = 1;
        for (int i = start; i < _dims.Length; i++)
        {
            if (_dims[i] is not { } v) return null;
            p *= v;
        }
        return p;
    }

    /// <summary>Converts an array of dimensions.</summary>
    /// <param name="dims">The dimensions.</param>
    public static implicit operator Shape(int?[] dims) => new(dims);

    /// <summary>Converts an array of known dimensions.</summary>
    /// <param name="dims">The dimensions.</param>
    public static implicit operator Shape(int[] dims) => new(dims.Select(d => (int?)d).ToArray());

    /// <summary>Keras' notation, e.g. <c>(None, 10, 32)</c>; a one-dimensional shape prints as <c>(5,)</c>.</summary>
    public override string ToString() => Format(_dims);

    internal static string Format(IReadOnlyList<int?> dims) =>
        dims.Count == 1 ? $"({Dim(dims[0])},)" : "(" + string.Join(", ", dims.Select(Dim)) + ")";

    private static string Dim(int? d) => d?.ToString() ?? "None";

    /// <inheritdoc />
    public IEnumerator<int?> GetEnumerator() => ((IEnumerable<int?>)_dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(Shape? other) => other is not null && _dims.SequenceEqual(other._dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Whether a concrete tensor shape fits this shape (unknown dimensions match anything).</summary>
    /// <param name="concrete">The concrete dimensions.</param>
    public bool IsCompatibleWith(IReadOnlyList<long> concrete)
    {
        if (concrete.Count != _dims.Length) return false;
        for (int i = 0; i < _dims.Length; i++)
            if (_dims[i] is { } d && d != concrete[i]) return false;
        return true;
    }
}
