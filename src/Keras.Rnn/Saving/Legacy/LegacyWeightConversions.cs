using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving.Legacy;

/// <summary>A file's weights for a layer are in a form that cannot be converted to the layer's (e.g. GRU <c>reset_after</c>).</summary>
internal sealed class LegacyConversionException(string message) : Exception(message);

/// <summary>
/// The weight conversions Keras 2 and tf.keras apply when loading legacy HDF5 weights
/// (<c>preprocess_weights_for_loading</c> and <c>_convert_rnn_weights</c> in their <c>hdf5_format.py</c>), for the
/// layers this library has:
/// <list type="bullet">
/// <item>wrappers and nested models: <see cref="Bidirectional"/> splits the list in two halves (forward, then
/// backward), <see cref="TimeDistributed"/> passes it to the wrapped layer, a nested <see cref="Model"/> hands each
/// sub-layer its trainable and non-trainable share;</item>
/// <item>Keras 1 per-gate arrays (files whose weights group says <c>keras_version</c> 1, or has none): an LSTM's 12
/// arrays <c>W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o</c> become <c>kernel</c>,
/// <c>recurrent_kernel</c>, <c>bias</c> in Keras 2's gate order i, f, c, o; a GRU's 9 arrays
/// <c>W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h</c> are concatenated in the order z, r, h;</item>
/// <item>CuDNN layers: <c>CuDNNLSTM</c> weights (bias of 8·units: input and recurrent biases) become LSTM weights —
/// each gate's input kernel re-read in Fortran order, each recurrent kernel transposed, the two biases summed;
/// <c>CuDNNGRU</c> weights (bias of 6·units) become <c>GRU(reset_after=True)</c> weights the same way with the bias
/// reshaped to (2, 3·units). GRU weights written with the other <c>reset_after</c> cannot be converted (Keras raises
/// too).</item>
/// </list>
/// Conversions only apply when the arrays have the shapes the source layout implies; anything else is passed on
/// unchanged and reported as a shape mismatch by the loader.
/// </summary>
internal static class LegacyWeightConversions
{
    /// <summary>Converts the arrays read for <paramref name="layer"/> to its own layout (Keras' <c>preprocess_weights_for_loading</c>).</summary>
    /// <param name="layer">The layer the arrays are loaded into.</param>
    /// <param name="weights">The arrays in the file's <c>weight_names</c> order.</param>
    /// <param name="keras1">Whether the file was written by Keras 1.</param>
    /// <exception cref="LegacyConversionException">The arrays are in a layout that cannot be converted to the layer's.</exception>
    public static List<LegacyArray> Preprocess(Layer layer, IReadOnlyList<LegacyArray> weights, bool keras1)
    {
        var w = weights.ToList();
        switch (layer)
        {
            case Bidirectional bidirectional:
                int half = w.Count / 2;
                w = [.. Preprocess(bidirectional.Forward, w[..half], keras1), .. Preprocess(bidirectional.Backward, w[half..], keras1)];
                break;
            case TimeDistributed timeDistributed:
                w = Preprocess(timeDistributed.Inner, w, keras1);
                break;
            case Model model:
                w = NestedModel(model, w, keras1);
                break;
        }

        if (layer is RNN rnn)
        {
            if (rnn.Cell is LSTMCell)
            {
                if (keras1 && w.Count == 12) w = MergeKeras1Gates(w, [0, 6, 3, 9], "LSTM");
                w = FromCudnnLstm(w);
            }
            else if (rnn.Cell is GRUCell gru)
            {
                if (keras1 && w.Count == 9) w = MergeKeras1Gates(w, [0, 3, 6], "GRU");
                w = ConvertGru(w, gru.ResetAfter, layer.Name);
            }
        }
        return w;
    }

    /// <summary>tf.keras' <c>convert_nested_model</c>: each sub-layer gets its trainable and its non-trainable share.</summary>
    private static List<LegacyArray> NestedModel(Model model, List<LegacyArray> w, bool keras1)
    {
        int trainableCount = Math.Min(model.TrainableWeights.Count, w.Count);
        var trainable = w[..trainableCount];
        var nonTrainable = w[trainableCount..];
        var newTrainable = new List<LegacyArray>();
        var newNonTrainable = new List<LegacyArray>();
        foreach (var sub in model.Layers)
        {
            if (sub.Weights.Count == 0) continue;
            int t = Math.Min(sub.TrainableWeights.Count, trainable.Count);
            int n = Math.Min(sub.NonTrainableWeights.Count, nonTrainable.Count);
            var converted = Preprocess(sub, [.. trainable[..t], .. nonTrainable[..n]], keras1);
            int split = Math.Min(t, converted.Count);
            newTrainable.AddRange(converted[..split]);
            newNonTrainable.AddRange(converted[split..]);
            trainable = trainable[t..];
            nonTrainable = nonTrainable[n..];
        }
        // Arrays no sub-layer claimed stay, so that the count check reports them.
        return [.. newTrainable, .. trainable, .. newNonTrainable, .. nonTrainable];
    }

    /// <summary>Concatenates Keras 1's per-gate arrays (W, U, b per gate) along the last axis in the given gate order.</summary>
    private static List<LegacyArray> MergeKeras1Gates(List<LegacyArray> w, int[] gateStarts, string kind)
    {
        var kernel = ConcatLastAxis(gateStarts.Select(g => w[g]).ToList(), "kernel");
        var recurrent = ConcatLastAxis(gateStarts.Select(g => w[g + 1]).ToList(), "recurrent_kernel");
        var bias = ConcatLastAxis(gateStarts.Select(g => w[g + 2]).ToList(), "bias");
        if (kernel is null || recurrent is null || bias is null)
            throw new LegacyConversionException(
                $"the file holds Keras 1 per-gate {kind} weights [{string.Join(", ", w.Select(a => $"{a.Name} {a.ShapeText}"))}] whose shapes do not line up per gate");
        return [kernel, recurrent, bias];
    }

    /// <summary>Concatenation along the last axis; <c>null</c> when the arrays' other dimensions differ.</summary>
    private static LegacyArray? ConcatLastAxis(IReadOnlyList<LegacyArray> parts, string role)
    {
        var first = parts[0].Shape;
        if (first.Length == 0) return null;
        var lead = first[..^1];
        foreach (var p in parts)
            if (p.Shape.Length != first.Length || !p.Shape[..^1].SequenceEqual(lead)) return null;
        long rows = lead.Aggregate(1L, (a, b) => a * b);
        long total = parts.Sum(p => p.Shape[^1]);
        var data = new float[checked(rows * total)];
        long offset = 0;
        foreach (var p in parts)
        {
            long cols = p.Shape[^1];
            for (long r = 0; r < rows; r++)
                Array.Copy(p.Data, r * cols, data, r * total + offset, cols);
            offset += cols;
        }
        return new LegacyArray($"{role} from [{string.Join(", ", parts.Select(p => p.Name))}]", [.. lead, total], data);
    }

    /// <summary>
    /// CuDNNLSTM → LSTM: recognised by a bias of 8·units (units = rows of the recurrent kernel); an LSTM bias of
    /// 4·units is left alone.
    /// </summary>
    private static List<LegacyArray> FromCudnnLstm(List<LegacyArray> w)
    {
        if (w.Count != 3 || w[1].Shape.Length != 2 || w[0].Shape.Length != 2 || w[2].Shape.Length != 1) return w;
        long units = w[1].Shape[0];
        if (units == 0 || w[2].Shape[0] != 8 * units || w[1].Shape[1] != 4 * units || w[0].Shape[1] != 4 * units) return w;
        var kernel = PerGate(w[0], 4, units, FromFortranBlock, "kernel from CuDNN ");
        var recurrent = PerGate(w[1], 4, units, TransposeBlock, "recurrent_kernel from CuDNN ");
        var bias = new float[4 * units];
        for (long i = 0; i < bias.Length; i++) bias[i] = w[2].Data[i] + w[2].Data[i + 4 * units];
        return [kernel, recurrent, new LegacyArray($"bias from CuDNN {w[2].Name} (input + recurrent halves)", [4 * units], bias)];
    }

    /// <summary>
    /// GRU weights: recognises CuDNNGRU (bias 6·units), <c>reset_after=True</c> (bias (2, 3·units)) and
    /// <c>reset_after=False</c> (bias 3·units) sources; converts CuDNNGRU to <c>reset_after=True</c>.
    /// </summary>
    private static List<LegacyArray> ConvertGru(List<LegacyArray> w, bool resetAfter, string layerName)
    {
        if (w.Count != 3 || w[1].Shape.Length != 2) return w;
        long units = w[1].Shape[0];
        var bias = w[2].Shape;
        string? source = bias switch
        {
            [var n] when n == 6 * units => "CuDNNGRU",
            [2, var n] when n == 3 * units => "GRU(reset_after=True)",
            [var n] when n == 3 * units => "GRU(reset_after=False)",
            _ => null,
        };
        if (source is null) return w;
        var target = resetAfter ? "GRU(reset_after=True)" : "GRU(reset_after=False)";
        if (source == target) return w;
        if (source == "GRU(reset_after=False)" || target == "GRU(reset_after=False)")
            throw new LegacyConversionException(
                $"the file holds {source} weights (bias {w[2].ShapeText}), which are not compatible with {target} '{layerName}': build the layer with resetAfter: {(source == "GRU(reset_after=False)" ? "false" : "true")}");
        // CuDNNGRU → GRU(reset_after=True).
        if (w[0].Shape.Length != 2 || w[0].Shape[1] != 3 * units || w[1].Shape[1] != 3 * units) return w;
        var kernel = PerGate(w[0], 3, units, FromFortranBlock, "kernel from CuDNN ");
        var recurrent = PerGate(w[1], 3, units, TransposeBlock, "recurrent_kernel from CuDNN ");
        return [kernel, recurrent, w[2] with { Name = $"bias from CuDNN {w[2].Name} (reshaped)", Shape = [2, 3 * units] }];
    }

    private delegate void BlockTransform(float[] source, float[] target, long rows, long columns, long units, long gate);

    /// <summary>Applies a transform to each gate's column block of a (rows, gates·units) matrix.</summary>
    private static LegacyArray PerGate(LegacyArray matrix, int gates, long units, BlockTransform transform, string prefix)
    {
        long rows = matrix.Shape[0], columns = matrix.Shape[1];
        var data = new float[matrix.Data.Length];
        for (long g = 0; g < gates; g++) transform(matrix.Data, data, rows, columns, units, g);
        return new LegacyArray(prefix + matrix.Name, matrix.Shape, data);
    }

    /// <summary>
    /// One gate's input kernel from CuDNN's layout (Keras' <c>kernel.T.reshape(kernel.shape, order='F')</c>): the
    /// block's values in C order are the (units, rows) matrix CuDNN uses, transposed back to (rows, units).
    /// </summary>
    private static void FromFortranBlock(float[] source, float[] target, long rows, long columns, long units, long gate)
    {
        long offset = gate * units;
        for (long c = 0; c < rows; c++)
            for (long d = 0; d < units; d++)
            {
                long p = d * rows + c; // position in the block's C-order values
                target[c * columns + offset + d] = source[(p / units) * columns + offset + p % units];
            }
    }

    /// <summary>One gate's (units, units) recurrent block, transposed.</summary>
    private static void TransposeBlock(float[] source, float[] target, long rows, long columns, long units, long gate)
    {
        long offset = gate * units;
        for (long c = 0; c < rows; c++)
            for (long d = 0; d < units; d++)
                target[c * columns + offset + d] = source[d * columns + offset + c];
    }
}
