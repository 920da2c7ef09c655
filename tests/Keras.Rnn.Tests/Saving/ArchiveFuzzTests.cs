using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// Mutates a valid <c>.keras</c> archive thousands of times — bytes of the zip, fields of <c>config.json</c>, bytes
/// and dataset dimensions of the embedded <c>model.weights.h5</c> — and checks that every load either succeeds or
/// fails with a <see cref="KerasFileException"/> naming the file: no other exception type, no hang, no large
/// allocation. Iterations: <c>KERAS_RNN_FUZZ_ITERATIONS</c> (default 2000); seed: <c>KERAS_RNN_FUZZ_SEED</c> (default 20250101).
/// </summary>
public class ArchiveFuzzTests(ITestOutputHelper output) : SavingTestBase
{
    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    /// <summary>A small compiled and trained model: LSTM, Dense, Adam state.</summary>
    private byte[] ValidArchive()
    {
        KerasApi.SetRandomSeed(1);
        var x = KerasApi.Input([3, 2], name: "x");
        var h = new LSTM(2, returnSequences: true, name: "lstm").Apply(new Masking(name: "mask").Apply(x));
        var y = new Dense(1, name: "out").Apply(new GRU(2, name: "gru").Apply(h));
        var model = new Model(x, y, name: "fuzzed");
        model.Compile(optimizer: new Keras.Rnn.Optimizers.Adam(learningRate: 0.01), loss: "mse", metrics: ["mae"]);
        using var xs = torch.rand(4, 3, 2);
        using var ys = torch.rand(4, 1);
        model.TrainOnBatch(xs, ys);
        var path = PathOf("valid.keras");
        model.Save(path);
        return File.ReadAllBytes(path);
    }

    private static Dictionary<string, byte[]> Entries(byte[] archive)
    {
        var result = new Dictionary<string, byte[]>();
        using var zip = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        foreach (var e in zip.Entries)
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            result[e.FullName] = m.ToArray();
        }
        return result;
    }

    private static byte[] Zip(Dictionary<string, byte[]> entries)
    {
        using var m = new MemoryStream();
        using (var zip = new ZipArchive(m, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return m.ToArray();
    }

    // ------------------------------------------------------------------ mutations

    private static byte[] MutateBytes(byte[] data, Random rng, out string what)
    {
        var copy = (byte[])data.Clone();
        switch (rng.Next(4))
        {
            case 0:
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
                what = $"{flips} random byte(s)";
                return copy;
            case 1:
                int length = rng.Next(copy.Length);
                what = $"truncated to {length}";
                return copy[..length];
            case 2:
                int at = rng.Next(copy.Length), count = 1 + rng.Next(64);
                what = $"{count} byte(s) inserted at {at}";
                return [.. copy[..at], .. Enumerable.Range(0, count).Select(_ => (byte)rng.Next(256)), .. copy[at..]];
            default:
                int start = rng.Next(copy.Length), n = Math.Min(1 + rng.Next(256), copy.Length - start);
                for (int i = 0; i < n; i++) copy[start + i] = 0xff;
                what = $"{n} byte(s) set to 0xff at {start}";
                return copy;
        }
    }

    private static readonly Func<Random, JsonNode?>[] OddValues =
    [
        _ => null,
        _ => JsonValue.Create(-1),
        _ => JsonValue.Create(0),
        _ => JsonValue.Create(1_000_000_000_000L),
        _ => JsonValue.Create(3_000_000),
        _ => JsonValue.Create(2.5),
        _ => JsonValue.Create(double.MaxValue),
        _ => JsonValue.Create("relu"),
        _ => JsonValue.Create(""),
        _ => JsonValue.Create(true),
        _ => new JsonArray(),
        _ => new JsonArray(null, 1_000_000, 5),
        _ => new JsonArray(-3, 2),
        _ => new JsonObject(),
        _ => new JsonObject { ["class_name"] = "Dense", ["config"] = new JsonObject { ["units"] = 2 } },
        _ => new JsonObject { ["class_name"] = "__keras_tensor__", ["config"] = new JsonObject { ["keras_history"] = new JsonArray("lstm", 7, 0) } },
        r => JsonValue.Create(r.Next(-5, 50)),
    ];

    private static List<(JsonNode? Parent, string? Key, int Index)> Slots(JsonNode root)
    {
        var slots = new List<(JsonNode?, string?, int)>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o.ToList())
                    {
                        slots.Add((o, k, -1));
                        Walk(v);
                    }
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++)
                    {
                        slots.Add((a, null, i));
                        Walk(a[i]);
                    }
                    break;
            }
        }
        Walk(root);
        return slots;
    }

    private static byte[] MutateJson(byte[] json, Random rng, out string what)
    {
        var root = JsonNode.Parse(json)!;
        var slots = Slots(root);
        int changes = 1 + rng.Next(3);
        var descriptions = new List<string>();
        for (int c = 0; c < changes; c++)
        {
            var (parent, key, index) = slots[rng.Next(slots.Count)];
            if (parent is null) continue;
            var value = OddValues[rng.Next(OddValues.Length)](rng);
            bool remove = rng.Next(5) == 0;
            try
            {
                if (parent is JsonObject o && key is not null)
                {
                    if (!o.ContainsKey(key)) continue;
                    if (remove) o.Remove(key);
                    else o[key] = value;
                    descriptions.Add(remove ? $"removed '{key}'" : $"'{key}' = {value?.ToJsonString() ?? "null"}");
                }
                else if (parent is JsonArray a && index < a.Count)
                {
                    if (remove) a.RemoveAt(index);
                    else a[index] = value;
                    descriptions.Add(remove ? $"removed item {index}" : $"item {index} = {value?.ToJsonString() ?? "null"}");
                }
            }
            catch (InvalidOperationException)
            {
                // The slot was detached by an earlier change in this round.
            }
        }
        what = "config.json: " + string.Join("; ", descriptions);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    /// <summary>Replaces little-endian 8-byte occurrences of a small dimension (dataspace sizes) by odd values.</summary>
    private static byte[] MutateDimensions(byte[] h5, Random rng, out string what)
    {
        var copy = (byte[])h5.Clone();
        ulong[] dims = [1, 2, 3, 6, 8, 12, 18];
        var dim = dims[rng.Next(dims.Length)];
        var pattern = BitConverter.GetBytes(dim);
        var positions = new List<int>();
        for (int i = 0; i + 8 <= copy.Length; i++)
            if (copy.AsSpan(i, 8).SequenceEqual(pattern)) positions.Add(i);
        if (positions.Count == 0)
            return MutateBytes(h5, rng, out what);
        var at = positions[rng.Next(positions.Count)];
        ulong[] replacements = [0, 1, 5, 1UL << 20, 1UL << 40, ulong.MaxValue, (ulong)rng.Next(1, 100)];
        var replacement = replacements[rng.Next(replacements.Length)];
        BitConverter.GetBytes(replacement).CopyTo(copy, at);
        what = $"model.weights.h5: 8-byte value {dim} at {at} set to {replacement}";
        return copy;
    }

    [Fact]
    public async Task MutatedArchivesLoadOrFailCleanly()
    {
        int iterations = Setting("KERAS_RNN_FUZZ_ITERATIONS", 2000);
        int seed = Setting("KERAS_RNN_FUZZ_SEED", 20250101);
        var valid = ValidArchive();
        var entries = Entries(valid);
        var rng = new Random(seed);
        var path = PathOf("mutant.keras");
        var log = CaptureLog(); // Keras-style warnings (skipped optimizer state...) are expected for some mutants
        int loaded = 0, failed = 0, transientLarge = 0;
        long retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var kinds = new Dictionary<string, int>();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++)
        {
            string what;
            byte[] mutant;
            switch (rng.Next(10))
            {
                case < 4:
                    mutant = MutateBytes(valid, rng, out what);
                    what = "zip: " + what;
                    break;
                case < 7:
                    var withConfig = new Dictionary<string, byte[]>(entries) { ["config.json"] = MutateJson(entries["config.json"], rng, out what) };
                    mutant = Zip(withConfig);
                    break;
                default:
                    var h5 = rng.Next(2) == 0 ? MutateDimensions(entries["model.weights.h5"], rng, out what)
                        : MutateBytes(entries["model.weights.h5"], rng, out what);
                    if (!what.StartsWith("model.weights.h5", StringComparison.Ordinal)) what = "model.weights.h5: " + what;
                    mutant = Zip(new Dictionary<string, byte[]>(entries) { ["model.weights.h5"] = h5 });
                    break;
            }
            File.WriteAllBytes(path, mutant);

            Exception? error = null;
            long allocated = 0;
            var task = Task.Run(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    using var scope = torch.NewDisposeScope();
                    Model.Load(path);
                }
                finally
                {
                    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                }
            });
            try
            {
                await task.WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"Iteration {i} (seed {seed}; {what}) did not finish within 20 s.");
            }
            catch (Exception e)
            {
                error = e;
            }
            if (allocated >= 256L << 20)
            {
                // PureHDF allocates a buffer of a header field's length before reading it; a corrupted length (at most
                // int.MaxValue) costs one transient buffer, then the read fails at the end of the data. Anything else
                // allocating that much is a bug.
                Assert.True(error is KerasFileException { InnerException: { } inner } && inner.StackTrace?.Contains("PureHDF", StringComparison.Ordinal) == true,
                    $"Iteration {i} ({what}) allocated {allocated >> 20} MiB of managed memory; result: {error}");
                Assert.True(allocated <= int.MaxValue + (64L << 20), $"Iteration {i} ({what}) allocated {allocated >> 20} MiB.");
                transientLarge++;
            }
            if (error is null)
            {
                loaded++;
                continue;
            }
            failed++;
            if (error is not KerasFileException k)
                throw new Xunit.Sdk.XunitException($"Iteration {i} (seed {seed}; {what}) threw {error.GetType().Name} instead of KerasFileException: {error}");
            Assert.Equal(path, k.FilePath);
            Assert.Contains(path, k.Message);
            var kind = k.Message.Contains("config.json", StringComparison.Ordinal) ? "config" : k.Message.Contains("zip", StringComparison.Ordinal) ? "zip" : "weights/other";
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        output.WriteLine($"{iterations} mutants in {watch.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {failed} clean failures ({string.Join(", ", kinds.Select(kv => $"{kv.Key}: {kv.Value}"))}); {log.Count} warnings; {transientLarge} transient PureHDF buffers over 256 MiB.");
        // Nothing accumulates: memory held after all the loads stays small.
        long retainedAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(retainedAfter - retainedBefore < 64L << 20, $"{(retainedAfter - retainedBefore) >> 20} MiB retained after the loads.");
        Assert.True(failed > iterations / 4, "The mutations should break most archives.");
        Assert.True(loaded > 0, "Some mutations (e.g. of unused bytes or values) should leave a loadable archive.");
    }
}
