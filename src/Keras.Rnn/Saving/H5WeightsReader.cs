using System.Globalization;
using System.IO.Compression;
using Keras.Rnn.Models;
using PureHDF;
using PureHDF.VOL.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Saving;

/// <summary>
/// Loads a Keras 3 weights file (<c>.weights.h5</c>, or the <c>model.weights.h5</c> entry of a <c>.keras</c>
/// archive) into a model of the same architecture. Every layer's group is checked first — variable count, each
/// dataset's shape and dtype — and nothing is assigned unless all fit (or, with <c>skipMismatch</c>, the layers that
/// do not fit are skipped with a warning). Files that are not HDF5, truncated or corrupted raise
/// <see cref="KerasFileException"/>; a dataset is only read after its declared shape matched the variable, so a
/// hostile file cannot make us allocate more than the model's own size.
/// </summary>
internal static class H5WeightsReader
{
    /// <summary>The weights entry of a <c>.keras</c> archive.</summary>
    internal const string ArchiveWeightsEntry = "model.weights.h5";

    // Weights entries larger than this are extracted to a temporary file rather than held in memory.
    private const long InMemoryLimit = 1L << 30;

    private sealed record LoadedVariables(WeightsEntry Entry, IReadOnlyList<Tensor> Values);

    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>.</summary>
    public static void Load(Model model, string path, bool skipMismatch)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Cannot load weights: the file '{path}' does not exist.", path);

        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            throw new KerasFileException(path,
                $"'{path}' looks like the index of sharded Keras weights (.weights.json, saved with max_shard_size); only single .weights.h5 files and .keras archives are supported.");
        string? tempFile = null;
        Stream? stream = null;
        try
        {
            bool archive = IsZip(path);
            stream = archive ? OpenArchiveWeights(path, out tempFile) : OpenFile(path);
            // PureHDF recurses through links and tree nodes without cycle checks: bound its stack and reading.
            stream = new GuardedReadStream(stream);
            // ...and follows soft links into themselves (a stack overflow) or into other files: refuse those first.
            NativeFile h5;
            try
            {
                if (H5StructureCheck.Problem(stream) is { } problem)
                    throw new KerasFileException(path, $"'{path}' is not a readable Keras weights file{(archive ? $" (its '{ArchiveWeightsEntry}' entry)" : "")}: {problem}");
                h5 = H5File.Open(stream, leaveOpen: true);
            }
            catch (Exception e) when (e is not KerasFileException)
            {
                throw Corrupt(path, e);
            }
            using (h5)
            {
                LoadFrom(model, h5, path, skipMismatch);
            }
        }
        finally
        {
            stream?.Dispose();
            if (tempFile != null) TryDelete(tempFile);
        }
    }

    private static Stream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new KerasFileException(path, $"Cannot open the weights file '{path}': {e.Message}", e);
        }
    }

    private static bool IsZip(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> head = stackalloc byte[4];
        return f.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    /// <summary>The <c>model.weights.h5</c> entry of a <c>.keras</c> archive as a seekable stream.</summary>
    private static Stream OpenArchiveWeights(string path, out string? tempFile)
    {
        tempFile = null;
        ZipArchive archive;
        try
        {
            archive = ZipFile.OpenRead(path);
        }
        catch (Exception e) when (e is not KerasFileException)
        {
            throw new KerasFileException(path, $"'{path}' is not a valid .keras archive (zip): {e.Message}", e);
        }
        using (archive)
        {
            var entry = archive.GetEntry(ArchiveWeightsEntry);
            if (entry is null)
            {
                var names = string.Join(", ", archive.Entries.Take(20).Select(e => e.FullName));
                var hint = archive.GetEntry("model.weights.npz") != null ? " (it holds model.weights.npz; only the h5 weights format is supported)" : "";
                throw new KerasFileException(path, $"The .keras archive '{path}' has no '{ArchiveWeightsEntry}' entry{hint}. Entries: [{names}].");
            }
            // Keras rejects members whose declared size is implausible for what is stored (zip bombs); deflate cannot
            // expand more than about 1032:1, and a stored entry is as long as its stored bytes.
            if (entry.Length < 0 || entry.Length > 1100 * Math.Max(1, entry.CompressedLength) + 65536)
                throw new KerasFileException(path, $"The entry '{ArchiveWeightsEntry}' of '{path}' declares {entry.Length} bytes for {entry.CompressedLength} stored; refusing to extract it.");
            try
            {
                using var source = entry.Open();
                if (entry.Length <= InMemoryLimit)
                {
                    // Grown as the bytes arrive: a corrupted size field must not make us reserve memory up front.
                    var memory = new MemoryStream((int)Math.Min(entry.Length, 16L << 20));
                    CopyExactly(source, memory, entry.Length, path);
                    memory.Position = 0;
                    return memory;
                }
                tempFile = Path.Combine(Path.GetTempPath(), $"keras-rnn-{Guid.NewGuid():N}.weights.h5");
                using (var target = new FileStream(tempFile, FileMode.CreateNew, FileAccess.Write))
                    CopyExactly(source, target, entry.Length, path);
                return new FileStream(tempFile, FileMode.Open, FileAccess.Read, FileShare.Read);
            }
            catch (Exception e) when (e is not KerasFileException)
            {
                throw new KerasFileException(path, $"Cannot read '{ArchiveWeightsEntry}' from the .keras archive '{path}': {e.Message}", e);
            }
        }
    }

    /// <summary>Copies at most <paramref name="length"/> bytes; a shorter or longer entry is corrupt.</summary>
    private static void CopyExactly(Stream source, Stream target, long length, string path)
    {
        var buffer = new byte[81920];
        long copied = 0;
        int n;
        while ((n = source.Read(buffer, 0, (int)Math.Min(buffer.Length, length - copied + 1))) > 0)
        {
            copied += n;
            if (copied > length)
                throw new KerasFileException(path, $"The entry '{ArchiveWeightsEntry}' of '{path}' is longer than its declared {length} bytes.");
            target.Write(buffer, 0, n);
        }
        if (copied != length)
            throw new KerasFileException(path, $"The entry '{ArchiveWeightsEntry}' of '{path}' is truncated: {copied} of {length} bytes.");
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static KerasFileException Corrupt(string path, Exception e) =>
        new(path, $"'{path}' is not a readable Keras weights file (not HDF5, truncated or corrupted): {e.GetType().Name}: {FirstLine(e.Message)}", e);

    private static string FirstLine(string message)
    {
        var i = message.IndexOf('\n');
        return i < 0 ? message : message[..i];
    }

    private static void LoadFrom(Model model, NativeFile h5, string path, bool skipMismatch)
    {
        var loaded = new List<LoadedVariables>();
        var failures = new List<(string What, string Reason)>();
        Tensor[]? optimizerValues = null;
        // Asked before the dispose scope opens: these are the optimizer's live state tensors.
        var optimizerTargets = model.KerasOptimizerState(forLoading: true);
        using var scope = torch.NewDisposeScope();
        try
        {
            if (h5.AttributeExists("layer_names") || h5.LinkExists("model_weights") || h5.AttributeExists("model_config"))
                throw new KerasFileException(path,
                    $"'{path}' is a legacy Keras HDF5 file (Keras 1/2, tf.keras or Keras 3's legacy .h5 writer: weights listed by 'layer_names'), not a Keras 3 weights file (.weights.h5 with '/layers/<key>/vars' groups).");
            bool legacyCheckpointKeys = h5.LinkExists("_layer_checkpoint_dependencies");

            foreach (var entry in WeightsLayout.Walk(model))
            {
                var (values, reason) = ReadEntry(h5, entry, entry.Variables.Select(v => (v.Path, v.Shape, IsFloat: v.Value.is_floating_point())).ToList(),
                    legacyCheckpointKeys, path);
                if (reason is null) loaded.Add(new LoadedVariables(entry, values!));
                else failures.Add((entry.Describe(), reason));
            }

            if (optimizerTargets is not null)
                optimizerValues = ReadOptimizer(h5, optimizerTargets, path, failures);
        }
        catch (Exception e) when (e is not KerasFileException)
        {
            throw Corrupt(path, e);
        }

        if (failures.Count > 0)
        {
            if (!skipMismatch)
                throw new KerasFileException(path,
                    $"Cannot load weights from '{path}' into model '{model.Name}': {failures.Count} object(s) do not match. " +
                    $"Example: {failures[0].What}: {failures[0].Reason}\n" +
                    "All objects that could not be loaded:\n" + string.Join("\n", failures.Select(f => $"- {f.What}: {f.Reason}")) +
                    "\nNothing was loaded. Pass skipMismatch: true to load the matching objects and skip these.");
            foreach (var (what, reason) in failures)
                KerasConfig.Log($"Skipping loading of {what} from '{path}': {reason}");
        }

        foreach (var item in loaded)
            for (int i = 0; i < item.Values.Count; i++)
                item.Entry.Variables[i].Assign(item.Values[i]);
        if (optimizerValues is not null && optimizerTargets is not null)
            model.SetKerasOptimizerState(optimizerValues);
    }

    /// <summary>The optimizer's state, or <c>null</c> when it is skipped (Keras warns and skips on a count mismatch).</summary>
    private static Tensor[]? ReadOptimizer(NativeFile h5, IReadOnlyList<(string Path, Tensor Value)> targets, string path,
        List<(string What, string Reason)> failures)
    {
        int count = h5.LinkExists("optimizer/vars") && h5.Get("optimizer/vars") is IH5Group g ? g.Children().Take(targets.Count + 1000).Count() : 0;
        if (count != targets.Count)
        {
            KerasConfig.Log(
                $"Skipping variable loading for the optimizer from '{path}': it has {targets.Count} variables whereas the saved optimizer has {count}." +
                (targets.Count == 0 ? " This is likely because the optimizer has not been built yet (no training step)." : ""));
            return null;
        }
        var expected = targets.Select(t => (t.Path, t.Value.shape, IsFloat: t.Value.is_floating_point())).ToList();
        var (values, reason) = ReadGroup(h5, "optimizer/vars", expected, path);
        if (reason is not null)
        {
            failures.Add(("the optimizer (key 'optimizer')", reason));
            return null;
        }
        return values!.ToArray();
    }

    private static (IReadOnlyList<Tensor>? Values, string? Reason) ReadEntry(NativeFile h5, WeightsEntry entry,
        IReadOnlyList<(string Path, long[] Shape, bool IsFloat)> expected, bool legacyCheckpointKeys, string path)
    {
        var groupPath = entry.GroupPath;
        if (!h5.LinkExists(groupPath) && legacyCheckpointKeys)
        {
            // Keras 2.13 wrote '_layer_checkpoint_dependencies' where Keras 3 writes 'layers'.
            var alternative = groupPath.Replace("layers", "_layer_checkpoint_dependencies", StringComparison.Ordinal);
            if (h5.LinkExists(alternative)) groupPath = alternative;
        }
        return ReadGroup(h5, groupPath, expected, path);
    }

    private static string Describe(IReadOnlyList<(string Path, long[] Shape, bool IsFloat)> expected) =>
        "[" + string.Join(", ", expected.Select(e => $"{e.Path} {Shape.Of(e.Shape)}")) + "]";

    /// <summary>Reads the datasets of one <c>vars</c> group after checking count, shapes and dtypes; returns the reason when they do not fit.</summary>
    private static (IReadOnlyList<Tensor>? Values, string? Reason) ReadGroup(NativeFile h5, string groupPath,
        IReadOnlyList<(string Path, long[] Shape, bool IsFloat)> expected, string path)
    {
        IH5Group? group = null;
        if (h5.LinkExists(groupPath))
        {
            group = h5.Get(groupPath) as IH5Group;
            if (group is null) return (null, $"'/{groupPath}' in the file is not a group.");
        }
        // Enumerate no more members than needed to tell the count (a corrupted group index could be endless).
        int cap = expected.Count + 16;
        var children = group?.Children().Take(cap + 1).Select(c => c.Name).ToList() ?? [];
        if (children.Count != expected.Count)
        {
            var held = children.Count > cap ? $"more than {cap}" : children.Count.ToString(CultureInfo.InvariantCulture);
            var found = group is null ? $"the file has no group '/{groupPath}'" : $"the file's group '/{groupPath}' holds {held}";
            return (null, $"expected {expected.Count} variables {Describe(expected)}, but {found}.");
        }

        var values = new List<Tensor>(expected.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            var datasetPath = $"/{groupPath}/{key}";
            var (variablePath, shape, isFloat) = expected[i];
            if (!group!.LinkExists(key) || group.Get(key) is not IH5Dataset dataset)
                return (null, $"the group '/{groupPath}' has no dataset '{key}' for variable {i} '{variablePath}' (it holds [{string.Join(", ", children)}]).");

            if (dataset.Space.Type is not (H5DataspaceType.Simple or H5DataspaceType.Scalar))
                return (null, $"dataset '{datasetPath}' for variable {i} '{variablePath}' has no data (null dataspace).");
            var dims = dataset.Space.Type == H5DataspaceType.Scalar ? [] : dataset.Space.Dimensions;
            if (dims.Length != shape.Length || dims.Where((d, k) => d != (ulong)shape[k]).Any())
                return (null, $"variable {i} '{variablePath}' has shape {Shape.Of(shape)}, but dataset '{datasetPath}' has shape {FormatDims(dims)}.");

            var type = dataset.Type;
            bool floatData = type.Class == H5DataTypeClass.FloatingPoint && type.Size is 2 or 4 or 8;
            bool intData = type.Class == H5DataTypeClass.FixedPoint && type.Size is 1 or 2 or 4 or 8;
            if (isFloat ? !floatData : !intData)
                return (null, $"variable {i} '{variablePath}' needs {(isFloat ? "floating-point" : "integer")} values, but dataset '{datasetPath}' holds {DescribeType(type)} data.");

            long count = shape.Aggregate(1L, (a, b) => checked(a * b));
            if (dataset.Layout.Class is not (H5DataLayoutClass.Contiguous or H5DataLayoutClass.Compact or H5DataLayoutClass.Chunked))
                return (null, $"dataset '{datasetPath}' for variable {i} '{variablePath}' has a {dataset.Layout.Class} layout, which refers to data outside the file; refusing to read it.");
            if (dataset.Layout.Class == H5DataLayoutClass.Chunked)
            {
                // Guard against chunk shapes far beyond the data (each chunk is allocated whole when read).
                double chunkElements = dataset.Layout.Chunks.Aggregate(1.0, (a, b) => a * b);
                if (chunkElements > Math.Max(8.0 * count * type.Size, 1 << 24))
                    return (null, $"dataset '{datasetPath}' declares chunks of {chunkElements} elements for {count} values; refusing to read it.");
            }
            values.Add(ReadValues(dataset, type, shape, isFloat));
        }
        return (values, null);
    }

    private static Tensor ReadValues(IH5Dataset dataset, IH5DataType type, long[] shape, bool isFloat)
    {
        if (type.Class == H5DataTypeClass.FloatingPoint)
        {
            float[] data = type.Size switch
            {
                4 => dataset.Read<float[]>(),
                8 => Array.ConvertAll(dataset.Read<double[]>(), d => (float)d),
                _ => Array.ConvertAll(dataset.Read<Half[]>(), h => (float)h),
            };
            return torch.tensor(data, shape);
        }
        bool signed = type.FixedPoint.IsSigned;
        long[] ints = (type.Size, signed) switch
        {
            (8, true) => dataset.Read<long[]>(),
            (8, false) => Array.ConvertAll(dataset.Read<ulong[]>(), v => unchecked((long)v)),
            (4, true) => Array.ConvertAll(dataset.Read<int[]>(), v => (long)v),
            (4, false) => Array.ConvertAll(dataset.Read<uint[]>(), v => (long)v),
            (2, true) => Array.ConvertAll(dataset.Read<short[]>(), v => (long)v),
            (2, false) => Array.ConvertAll(dataset.Read<ushort[]>(), v => (long)v),
            (1, true) => Array.ConvertAll(dataset.Read<sbyte[]>(), v => (long)v),
            _ => Array.ConvertAll(dataset.Read<byte[]>(), v => (long)v),
        };
        var t = torch.tensor(ints, shape);
        return isFloat ? t.to_type(ScalarType.Float32) : t;
    }

    private static string FormatDims(ulong[] dims) => dims.Length == 1 ? $"({dims[0]},)" : "(" + string.Join(", ", dims) + ")";

    private static string DescribeType(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FixedPoint => $"integer ({type.Size * 8}-bit)",
        H5DataTypeClass.FloatingPoint => $"floating-point ({type.Size * 8}-bit)",
        H5DataTypeClass.String or H5DataTypeClass.VariableLength => "string",
        _ => type.Class.ToString(),
    };
}
