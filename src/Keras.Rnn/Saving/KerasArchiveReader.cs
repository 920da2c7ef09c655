using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving;

/// <summary>
/// Reads Keras 3 <c>.keras</c> archives (<c>saving_lib.load_model</c>): <c>metadata.json</c> (the Keras version,
/// which decides Keras-2 semantics such as <c>hard_sigmoid</c>), <c>config.json</c> (the model, compiled from its
/// <c>compile_config</c>), the <c>assets/</c> of layers that have some (<see cref="IHasAssets"/>), then
/// <c>model.weights.h5</c> (weights and optimizer state). Entries are size-checked before
/// they are read, and the weights file's size bounds how many weights the config may create.
/// </summary>
internal static class KerasArchiveReader
{
    /// <summary>Largest <c>config.json</c> accepted.</summary>
    internal const long MaxConfigBytes = 64L << 20;

    /// <summary>Largest <c>metadata.json</c> accepted.</summary>
    internal const long MaxMetadataBytes = 1L << 20;

    /// <summary>Loads the model in <paramref name="path"/>.</summary>
    public static Model Load(string path, IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects, bool compile)
    {
        string configText;
        string? metadataText;
        long weightsBytes;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var configEntry = zip.GetEntry(KerasArchive.ConfigEntry)
                              ?? throw new KerasFileException(path,
                                  $"'{path}' is not a Keras model archive: it has no '{KerasArchive.ConfigEntry}' entry. Entries: [{string.Join(", ", zip.Entries.Take(20).Select(e => e.FullName))}].");
            configText = ReadText(configEntry, MaxConfigBytes, path);
            metadataText = zip.GetEntry(KerasArchive.MetadataEntry) is { } metadataEntry ? ReadText(metadataEntry, MaxMetadataBytes, path) : null;
            var weights = zip.GetEntry(H5WeightsReader.ArchiveWeightsEntry);
            weightsBytes = weights is null ? 0 : Math.Min(Math.Max(weights.Length, 0), new FileInfo(path).Length);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException or UnauthorizedAccessException
                                      && e is not KerasFileException)
        {
            throw new KerasFileException(path, $"'{path}' is not a readable .keras archive (zip): {e.GetType().Name}: {e.Message}", e);
        }

        string? version = null;
        if (metadataText is not null)
        {
            var metadata = KerasJson.Parse(metadataText, m => new KerasFileException(path, $"Cannot load the model from '{path}' ({KerasArchive.MetadataEntry}): {m}"));
            if (metadata is JsonObject mo && mo["keras_version"] is JsonValue v && v.GetValueKind() == JsonValueKind.String) version = v.GetValue<string>();
        }

        // Every weight is stored in model.weights.h5 (at least 2 bytes per value): its size bounds what the config may create.
        long budget = Math.Min(KerasLoadContext.DefaultParameterBudget, weightsBytes / 2 + (1L << 16));
        var ctx = new KerasLoadContext(path, true, version, customObjects, budget, KerasArchive.ConfigEntry);
        var root = KerasJson.Parse(configText, m => ctx.Error("", m));
        var model = KerasLayerReader.DeserializeModel(root, ctx, compile);
        // Assets (vocabularies) do not depend on the weights: restored even when the model is not built.
        KerasArchiveAssets.Load(model, path);

        if (!model.Built)
        {
            KerasConfig.Log($"Model '{model.Name}' from '{path}' is not built (its config gives no input shape); its weights were not loaded. Build it and call LoadWeights(\"{path}\").");
            return model;
        }
        H5WeightsReader.Load(model, path, skipMismatch: false);
        return model;
    }

    /// <summary>A UTF-8 entry, refused when its declared or actual size exceeds <paramref name="limit"/>.</summary>
    private static string ReadText(ZipArchiveEntry entry, long limit, string path)
    {
        if (entry.Length < 0 || entry.Length > limit)
            throw new KerasFileException(path, $"The entry '{entry.FullName}' of '{path}' declares {entry.Length} bytes; at most {limit} are accepted.");
        using var stream = entry.Open();
        using var buffer = new MemoryStream((int)Math.Min(entry.Length, 1L << 20));
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > entry.Length)
                throw new KerasFileException(path, $"The entry '{entry.FullName}' of '{path}' is longer than its declared {entry.Length} bytes.");
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length != entry.Length)
            throw new KerasFileException(path, $"The entry '{entry.FullName}' of '{path}' is truncated: {buffer.Length} of {entry.Length} bytes.");
        try
        {
            return new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException e)
        {
            throw new KerasFileException(path, $"The entry '{entry.FullName}' of '{path}' is not UTF-8 text: {e.Message}", e);
        }
    }
}
