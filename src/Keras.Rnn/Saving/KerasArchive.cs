using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving;

/// <summary>
/// Writes Keras 3 <c>.keras</c> archives (<c>saving_lib.save_model</c>): a zip whose entries are stored, not
/// compressed — <c>metadata.json</c>, <c>config.json</c>, <c>model.weights.h5</c>, in that order, then the
/// <c>assets/</c> files of layers that have some (<see cref="IHasAssets"/>, e.g. an adapted vocabulary).
/// </summary>
internal static class KerasArchive
{
    /// <summary>The Keras version written to <c>metadata.json</c>: the Keras release whose formats we follow.</summary>
    internal const string KerasVersion = "3.15.0";

    internal const string MetadataEntry = "metadata.json";
    internal const string ConfigEntry = "config.json";

    /// <summary><c>metadata.json</c>: Keras version and save date (<c>%Y-%m-%d@%H:%M:%S</c>, local time).</summary>
    internal static string MetadataJson(DateTime now) => PythonJson.Serialize(new JsonObject
    {
        ["keras_version"] = KerasVersion,
        ["date_saved"] = now.ToString("yyyy-MM-dd'@'HH:mm:ss", CultureInfo.InvariantCulture),
    });

    /// <summary>Writes the archive of <paramref name="model"/> to <paramref name="stream"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="stream">Receives the zip.</param>
    /// <param name="includeOptimizer">Store the optimizer's variables of a compiled model (default <c>true</c>, as Keras does).</param>
    public static void Write(Model model, Stream stream, bool includeOptimizer = true)
    {
        // Serialize everything first, so that a failure leaves no half-written archive behind.
        var config = PythonJson.Serialize(KerasConfigSerializer.SerializeModel(model));
        var metadata = MetadataJson(DateTime.Now);
        using var weights = new MemoryStream();
        H5WeightsWriter.Write(model, weights, includeOptimizer);
        var assets = KerasArchiveAssets.Collect(model);

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        WriteEntry(zip, MetadataEntry, Encoding.UTF8.GetBytes(metadata));
        WriteEntry(zip, ConfigEntry, Encoding.UTF8.GetBytes(config));
        WriteEntry(zip, H5WeightsReader.ArchiveWeightsEntry, weights.GetBuffer().AsSpan(0, (int)weights.Length));
        foreach (var (name, content) in assets) WriteEntry(zip, name, content);
    }

    private static void WriteEntry(ZipArchive zip, string name, ReadOnlySpan<byte> content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = entry.Open();
        s.Write(content);
    }
}
