using Keras.Rnn.Models;
using PureHDF;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Saving;

/// <summary>
/// Writes a model's weights in the Keras 3 <c>.weights.h5</c> layout (also the <c>model.weights.h5</c> entry of a
/// <c>.keras</c> archive): one group <c>{key}/vars</c> per layer with its <c>name</c> as attribute and its own
/// variables as datasets <c>"0"</c>, <c>"1"</c>, ... (contiguous, little-endian, the variable's dtype), the model's
/// own group <c>/vars</c>, and <c>/optimizer/vars</c> for a compiled model. No attributes on the root.
/// </summary>
internal static class H5WeightsWriter
{
    // h5py (and so Keras) writes small datasets contiguously, not compact.
    private static readonly H5WriteOptions Options = new(PreferCompactDatasetLayout: false);

    /// <summary>Writes the weights file to <paramref name="stream"/> (seekable).</summary>
    /// <param name="model">The model.</param>
    /// <param name="stream">Receives the HDF5 file.</param>
    /// <param name="includeOptimizer">Also write <c>/optimizer/vars</c> for a compiled model (default <c>true</c>).</param>
    public static void Write(Model model, Stream stream, bool includeOptimizer = true)
    {
        var file = new H5File();
        foreach (var entry in WeightsLayout.Walk(model))
        {
            var vars = GetOrCreateGroup(file, entry.GroupPath);
            vars.Attributes["name"] = entry.Layer.Name;
            for (int i = 0; i < entry.Variables.Count; i++)
                vars[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ToDataset(entry.Variables[i].Value);
        }
        if (includeOptimizer && model.Optimizer is { } optimizer && model.KerasOptimizerState(forLoading: false) is { } optimizerVariables)
        {
            var vars = GetOrCreateGroup(file, "optimizer/vars");
            vars.Attributes["name"] = model.HasLossScaleOptimizerState ? "loss_scale_optimizer" : optimizer.Name;
            for (int i = 0; i < optimizerVariables.Count; i++)
                vars[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ToDataset(optimizerVariables[i].Value);
        }
        file.Write(stream, Options);
    }

    private static H5Group GetOrCreateGroup(H5Group root, string path)
    {
        var group = root;
        foreach (var part in path.Split('/'))
        {
            if (group.TryGetValue(part, out var existing))
            {
                group = existing as H5Group
                    ?? throw new InvalidOperationException($"Internal error: '{path}' collides with a dataset in the weights file.");
                continue;
            }
            var created = new H5Group();
            group[part] = created;
            group = created;
        }
        return group;
    }

    /// <summary>A dataset holding a copy of the tensor (float32, float64, int32, int64 kept; other dtypes as float32).</summary>
    internal static H5Dataset ToDataset(Tensor value)
    {
        using var scope = torch.NewDisposeScope();
        var t = value.detach().cpu().contiguous();
        var dims = t.shape.Select(d => (ulong)d).ToArray();
        object data = t.dtype switch
        {
            ScalarType.Float32 => t.data<float>().ToArray(),
            ScalarType.Float64 => t.data<double>().ToArray(),
            ScalarType.Int64 => t.data<long>().ToArray(),
            ScalarType.Int32 => t.data<int>().ToArray(),
            _ => t.to_type(ScalarType.Float32).data<float>().ToArray(),
        };
        return new H5Dataset(data, fileDims: dims);
    }
}
