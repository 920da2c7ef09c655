using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Text;

/// <summary>Sequence helpers (Keras' <c>keras.utils.pad_sequences</c>).</summary>
public static class Sequences
{
    /// <summary>
    /// Pads sequences to one length (Keras' <c>pad_sequences</c>): a <c>(sequences, length)</c> array where
    /// <c>length</c> is <paramref name="maxlen"/> or, when <c>null</c>, the longest sequence's length. Shorter
    /// sequences are filled with <paramref name="value"/> before (<c>"pre"</c>, Keras' default) or after
    /// (<c>"post"</c>) their values; longer ones lose values at the start (<c>"pre"</c>, default) or at the end
    /// (<c>"post"</c>).
    /// </summary>
    /// <typeparam name="T">The element type (<see cref="int"/>, <see cref="long"/>, <see cref="float"/>, <see cref="string"/>, ...; Keras' <c>dtype</c>).</typeparam>
    /// <param name="sequences">The sequences; empty ones become all <paramref name="value"/>.</param>
    /// <param name="maxlen">The length (default <c>null</c>: the longest sequence's); 0 gives empty rows.</param>
    /// <param name="padding"><c>"pre"</c> (default) or <c>"post"</c>.</param>
    /// <param name="truncating"><c>"pre"</c> (default) or <c>"post"</c>.</param>
    /// <param name="value">The padding value (default <c>default(T)</c>: 0 for numbers, as in Keras).</param>
    /// <returns>A new array.</returns>
    /// <exception cref="ArgumentException">A <c>null</c> sequence, a negative <paramref name="maxlen"/>, or an unknown padding/truncating type.</exception>
    /// <example>
    /// <code>
    /// long[,] x = Sequences.PadSequences(new[] { new long[] { 1 }, [2, 3], [4, 5, 6] });
    /// // [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
    /// </code>
    /// </example>
    public static T[,] PadSequences<T>(IEnumerable<IReadOnlyList<T>> sequences, int? maxlen = null, string padding = "pre",
        string truncating = "pre", T value = default!)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (padding is not ("pre" or "post")) throw new ArgumentException($"Padding type \"{padding}\" not understood; expected \"pre\" or \"post\".", nameof(padding));
        if (truncating is not ("pre" or "post")) throw new ArgumentException($"Truncating type \"{truncating}\" not understood; expected \"pre\" or \"post\".", nameof(truncating));
        if (maxlen is < 0) throw new ArgumentException($"`maxlen` must be null or non-negative. Received: maxlen={maxlen}", nameof(maxlen));
        var list = sequences.ToList();
        for (int i = 0; i < list.Count; i++)
            if (list[i] is null) throw new ArgumentException($"`sequences` must be a list of sequences; sequence {i} is null.", nameof(sequences));
        int length = maxlen ?? (list.Count == 0 ? 0 : list.Max(s => s.Count));
        var result = new T[list.Count, length];
        for (int i = 0; i < list.Count; i++)
        {
            var s = list[i];
            int kept = Math.Min(s.Count, length);
            int from = truncating == "pre" ? s.Count - kept : 0;
            int to = padding == "post" ? 0 : length - kept;
            for (int j = 0; j < length; j++) result[i, j] = value;
            for (int j = 0; j < kept; j++) result[i, to + j] = s[from + j];
        }
        return result;
    }

    /// <summary>
    /// <see cref="PadSequences{T}"/> for token ids, as an int64 CPU tensor <c>(sequences, length)</c> ready for an
    /// <see cref="Layers.Embedding"/>.
    /// </summary>
    /// <param name="sequences">The id sequences.</param>
    /// <param name="maxlen">The length (default <c>null</c>: the longest sequence's).</param>
    /// <param name="padding"><c>"pre"</c> (default) or <c>"post"</c>.</param>
    /// <param name="truncating"><c>"pre"</c> (default) or <c>"post"</c>.</param>
    /// <param name="value">The padding id (default 0).</param>
    /// <returns>A new tensor (the caller disposes it).</returns>
    /// <exception cref="ArgumentException">As for <see cref="PadSequences{T}"/>.</exception>
    public static Tensor PadSequencesTensor(IEnumerable<IReadOnlyList<long>> sequences, int? maxlen = null, string padding = "pre",
        string truncating = "pre", long value = 0)
    {
        var padded = PadSequences(sequences, maxlen, padding, truncating, value);
        int rows = padded.GetLength(0), cols = padded.GetLength(1);
        var flat = new long[(long)rows * cols];
        Buffer.BlockCopy(padded, 0, flat, 0, flat.Length * sizeof(long));
        return torch.tensor(flat, [rows, cols], ScalarType.Int64);
    }
}
