using System.IO.Compression;
using Keras.Rnn.Models;

namespace Keras.Rnn.Saving;

/// <summary>
/// The <c>assets/</c> part of <c>.keras</c> archives (Keras 3's <c>DiskIOStore</c>): every layer reached by the
/// weights walk (<see cref="WeightsLayout.Walk"/>) that implements <see cref="IHasAssets"/> writes files into a
/// folder of its own, stored in the archive as <c>assets/&lt;key&gt;/&lt;file&gt;</c>, the key being its weights
/// path (<c>layers/text_vectorization</c>; empty for the model). Loading hands each such layer a folder holding the
/// entries under its key.
/// </summary>
internal static class KerasArchiveAssets
{
    /// <summary>The folder of assets in the archive.</summary>
    internal const string Folder = "assets";

    /// <summary>Largest single asset entry read back.</summary>
    internal const long MaxEntryBytes = 256L << 20;

    /// <summary>Largest total of asset bytes read back for one archive.</summary>
    internal const long MaxTotalBytes = 1L << 30;

    /// <summary>
    /// Collects the model's assets: runs every <see cref="IHasAssets.SaveAssets"/> into a temporary folder and
    /// returns the archive entries (name, content) in a stable order. Runs before the archive is opened, so a
    /// failing layer leaves no half-written file.
    /// </summary>
    public static List<(string Name, byte[] Content)> Collect(Model model)
    {
        var result = new List<(string, byte[])>();
        var layers = WeightsLayout.Walk(model).Where(e => e.Layer is IHasAssets).ToList();
        if (layers.Count == 0) return result;
        var root = Path.Combine(Path.GetTempPath(), "keras-rnn-assets-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var entry in layers)
            {
                var dir = entry.Path.Length == 0 ? root : Path.Combine(root, Path.Combine(entry.Path.Split('/')));
                Directory.CreateDirectory(dir);
                try
                {
                    ((IHasAssets)entry.Layer).SaveAssets(dir);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new InvalidOperationException($"Cannot save the assets of {entry.Describe()}: {e.Message}", e);
                }
            }
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
                result.Add(($"{Folder}/{relative}", File.ReadAllBytes(file)));
            }
            result.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
            return result;
        }
        finally
        {
            TryDelete(root);
        }
    }

    /// <summary>Calls <see cref="IHasAssets.LoadAssets"/> on every layer of <paramref name="model"/> that has assets, from the archive at <paramref name="path"/>.</summary>
    public static void Load(Model model, string path)
    {
        var layers = WeightsLayout.Walk(model).Where(e => e.Layer is IHasAssets).ToList();
        if (layers.Count == 0) return;
        var root = Path.Combine(Path.GetTempPath(), "keras-rnn-assets-" + Guid.NewGuid().ToString("N"));
        try
        {
            List<ZipArchiveEntry> entries;
            using var zip = OpenZip(path);
            entries = zip.Entries.Where(e => e.FullName.StartsWith(Folder + "/", StringComparison.Ordinal) && !e.FullName.EndsWith('/')).ToList();
            long total = 0;
            int n = 0;
            foreach (var entry in layers)
            {
                var prefix = Folder + "/" + (entry.Path.Length == 0 ? "" : entry.Path + "/");
                var dir = Path.Combine(root, (n++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                foreach (var zipEntry in entries.Where(e => e.FullName.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    var relative = zipEntry.FullName[prefix.Length..];
                    var target = SafeTarget(dir, relative)
                                 ?? throw new KerasFileException(path,
                                     $"The asset entry '{zipEntry.FullName}' of '{path}' has a path that leaves its folder or is not portable; refusing to extract it.");
                    total += Extract(zipEntry, target, path, MaxTotalBytes - total);
                }
                try
                {
                    ((IHasAssets)entry.Layer).LoadAssets(dir);
                }
                catch (Exception e) when (e is not (KerasFileException or OutOfMemoryException))
                {
                    throw new KerasFileException(path,
                        $"Cannot load the assets of {entry.Describe()} from '{path}' (entries under '{prefix}'): {e.Message}", e);
                }
            }
        }
        finally
        {
            TryDelete(root);
        }
    }

    private static ZipArchive OpenZip(string path)
    {
        try
        {
            return ZipFile.OpenRead(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new KerasFileException(path, $"'{path}' is not a readable .keras archive (zip): {e.Message}", e);
        }
    }

    /// <summary>The extraction target of an entry's path relative to the layer's folder, or <c>null</c> when unsafe.</summary>
    private static string? SafeTarget(string dir, string relative)
    {
        if (relative.Length == 0 || relative.Contains('\\') || relative.Contains(':') || relative.StartsWith('/')) return null;
        var parts = relative.Split('/');
        if (parts.Any(p => p.Length == 0 || p == "." || p == ".." || p.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)) return null;
        var target = Path.GetFullPath(Path.Combine(dir, Path.Combine(parts)));
        var fullDir = Path.GetFullPath(dir) + Path.DirectorySeparatorChar;
        return target.StartsWith(fullDir, StringComparison.Ordinal) ? target : null;
    }

    /// <summary>Extracts one entry, checking its declared and actual sizes; returns the bytes written.</summary>
    private static long Extract(ZipArchiveEntry entry, string target, string path, long remaining)
    {
        long limit = Math.Min(MaxEntryBytes, remaining);
        if (entry.Length < 0 || entry.Length > limit)
            throw new KerasFileException(path,
                $"The asset entry '{entry.FullName}' of '{path}' declares {entry.Length} bytes; at most {limit} more asset bytes are accepted.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            using var source = entry.Open();
            using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
            var buffer = new byte[81920];
            long copied = 0;
            int read;
            while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
            {
                copied += read;
                if (copied > entry.Length)
                    throw new KerasFileException(path, $"The asset entry '{entry.FullName}' of '{path}' is longer than its declared {entry.Length} bytes.");
                output.Write(buffer, 0, read);
            }
            if (copied != entry.Length)
                throw new KerasFileException(path, $"The asset entry '{entry.FullName}' of '{path}' is truncated: {copied} of {entry.Length} bytes.");
            return copied;
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not KerasFileException)
        {
            throw new KerasFileException(path, $"Cannot read the asset entry '{entry.FullName}' of '{path}': {e.Message}", e);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
