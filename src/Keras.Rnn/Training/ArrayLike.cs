using System.Collections;
using System.Runtime.CompilerServices;
using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn;

/// <summary>
/// Data for <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> (Keras' "array-like"): a .NET array of any rank
/// (<c>float[,,]</c>, <c>float[,]</c>, <c>int[,]</c>, <c>double[]</c>, jagged <c>float[][][]</c>, ...), a TorchSharp
/// tensor, several of them for a model with several inputs or outputs (<c>[xEncoder, xDecoder]</c>), or a
/// dictionary from input/output names to arrays. Converts implicitly from each of these.
/// </summary>
/// <example>
/// <code>
/// model.Fit(xTrain, yTrain);                                   // float[,,] and float[,]
/// model.Fit([encoderInput, decoderInput], decoderTarget);      // two inputs
/// model.Fit(new Dictionary&lt;string, Array&gt; { ["tokens"] = ids }, labels);
/// </code>
/// </example>
[CollectionBuilder(typeof(ArrayLike), nameof(Create))]
public sealed class ArrayLike : IEnumerable<ArrayLike>
{
    private readonly Array? _array;
    private readonly Tensor? _tensor;
    private readonly IReadOnlyList<ArrayLike>? _parts;
    private readonly IReadOnlyDictionary<string, ArrayLike>? _named;

    private ArrayLike(Array? array, Tensor? tensor, IReadOnlyList<ArrayLike>? parts, IReadOnlyDictionary<string, ArrayLike>? named)
    {
        _array = array;
        _tensor = tensor;
        _parts = parts;
        _named = named;
    }

    /// <summary>Wraps a .NET array.</summary>
    /// <param name="array">Rectangular or jagged array of float, double, int, long, short, byte or bool.</param>
    public static ArrayLike FromArray(Array array) => new(array ?? throw new ArgumentNullException(nameof(array)), null, null, null);

    /// <summary>Wraps a tensor (any device; it is not copied until a batch is taken).</summary>
    /// <param name="tensor">The tensor, samples along the first axis.</param>
    public static ArrayLike FromTensor(Tensor tensor) => new(null, tensor ?? throw new ArgumentNullException(nameof(tensor)), null, null);

    /// <summary>Several arrays, one per model input or output, in order.</summary>
    /// <param name="parts">The arrays.</param>
    public static ArrayLike Of(params ArrayLike[] parts) => new(null, null, parts.ToArray(), null);

    /// <summary>Builds a multi-part value from a collection expression: <c>[x1, x2]</c>.</summary>
    /// <param name="parts">The arrays.</param>
    public static ArrayLike Create(ReadOnlySpan<ArrayLike> parts) => new(null, null, parts.ToArray(), null);

    /// <summary>Arrays by input or output name.</summary>
    /// <param name="named">Name → array.</param>
    public static ArrayLike Named(IReadOnlyDictionary<string, ArrayLike> named) => new(null, null, null, named);

    /// <summary>Wraps a .NET array.</summary>
    /// <param name="array">The array.</param>
    public static implicit operator ArrayLike(Array array) => FromArray(array);

    /// <summary>Wraps a tensor.</summary>
    /// <param name="tensor">The tensor.</param>
    public static implicit operator ArrayLike(Tensor tensor) => FromTensor(tensor);

    /// <summary>Arrays by name.</summary>
    /// <param name="named">Name → array.</param>
    public static implicit operator ArrayLike(Dictionary<string, Array> named) =>
        Named(named.ToDictionary(kv => kv.Key, kv => FromArray(kv.Value)));

    /// <summary>Tensors by name.</summary>
    /// <param name="named">Name → tensor.</param>
    public static implicit operator ArrayLike(Dictionary<string, Tensor> named) =>
        Named(named.ToDictionary(kv => kv.Key, kv => FromTensor(kv.Value)));

    /// <summary>Whether this value holds several arrays (a list or a dictionary).</summary>
    public bool IsMultiple => _parts is not null || _named is not null;

    /// <inheritdoc />
    public IEnumerator<ArrayLike> GetEnumerator() =>
        (_parts ?? (IEnumerable<ArrayLike>?)_named?.Values ?? [this]).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The tensors in the order of <paramref name="names"/> (model inputs or outputs), converted once (arrays become
    /// CPU tensors; float becomes float32).
    /// </summary>
    /// <param name="names">The model's input or output names.</param>
    /// <param name="role">What the data is, for messages (<c>x</c>, <c>y</c>, <c>sample_weight</c>).</param>
    /// <param name="owned">Receives the tensors converted from arrays, which the caller disposes after use.</param>
    internal IReadOnlyList<Tensor> ToTensors(IReadOnlyList<string> names, string role, List<Tensor>? owned = null)
    {
        if (_named is not null)
        {
            var unknown = _named.Keys.Where(k => !names.Contains(k)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException(
                    $"{role}: the data has keys [{string.Join(", ", unknown)}] that match no model {(role == "x" ? "input" : "output")}; expected keys: [{string.Join(", ", names)}].");
            var result = new List<Tensor>();
            foreach (var n in names)
            {
                if (!_named.TryGetValue(n, out var part))
                    throw new ArgumentException($"{role}: no data for \"{n}\"; expected keys: [{string.Join(", ", names)}].");
                result.Add(part.Single(role + "[\"" + n + "\"]", owned));
            }
            return result;
        }
        if (_parts is not null)
        {
            if (names.Count > 0 && _parts.Count != names.Count)
                throw new ArgumentException(
                    $"{role}: the model has {names.Count} {(role == "x" ? "input" : "output")}(s) ({string.Join(", ", names)}), but {_parts.Count} arrays were given.");
            return _parts.Select((p, i) => p.Single($"{role}[{i}]", owned)).ToList();
        }
        if (names.Count > 1)
            throw new ArgumentException(
                $"{role}: the model has {names.Count} {(role == "x" ? "input" : "output")}s ({string.Join(", ", names)}), but one array was given; pass one per {(role == "x" ? "input" : "output")} ([a, b] or a name → array dictionary).");
        return [Single(role, owned)];
    }

    private Tensor Single(string what, List<Tensor>? owned)
    {
        if (_tensor is not null) return _tensor;
        if (_array is not null)
        {
            var t = ArrayConversion.ToTensor(_array, what).DetachFromDisposeScope();
            owned?.Add(t);
            return t;
        }
        throw new ArgumentException($"{what}: nested lists of arrays are not supported; give one array per model input or output.");
    }
}
