using System.Diagnostics;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using PureHDF;
using TorchSharp;
using Xunit;

namespace Keras.Rnn.Tests.Saving;

/// <summary>Mismatched, incomplete, corrupted and foreign files: clean errors naming the file and the layer, nothing half loaded.</summary>
public class WeightsLoadingErrorTests : SavingTestBase
{
    private static Sequential LstmDense(int lstmUnits = 4, int denseUnits = 2, bool lstmBias = true) =>
        new(new InputLayer([5, 3]), new LSTM(lstmUnits, useBias: lstmBias), new Dense(denseUnits));

    private string SaveLstmDense()
    {
        var path = PathOf("source.weights.h5");
        LstmDense().SaveWeights(path);
        return path;
    }

    [Fact]
    public void ShapeMismatchNamesFileLayerKeyAndShapesAndLoadsNothing()
    {
        var path = SaveLstmDense();
        var target = LstmDense(lstmUnits: 5);
        var before = target.GetWeights();
        var e = Assert.Throws<KerasFileException>(() => target.LoadWeights(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("'lstm_cell'", e.Message);                     // our layer name
        Assert.Contains("key 'layers/lstm/cell'", e.Message);           // Keras' key
        Assert.Contains("shape (3, 20)", e.Message);                    // what the model expects
        Assert.Contains("has shape (3, 16)", e.Message);                // what the file holds
        Assert.Contains("key 'layers/dense'", e.Message);               // the Dense no longer fits either: (5, 2) vs (4, 2)
        Assert.Contains("2 object(s)", e.Message);
        var after = target.GetWeights();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]); // nothing was assigned
    }

    [Fact]
    public void CountMismatchIsReported()
    {
        var path = SaveLstmDense();
        var e = Assert.Throws<KerasFileException>(() => LstmDense(lstmBias: false).LoadWeights(path));
        Assert.Contains("expected 2 variables", e.Message);
        Assert.Contains("holds 3", e.Message);
        Assert.Contains("/layers/lstm/cell/vars", e.Message);
    }

    [Fact]
    public void MissingGroupIsReported()
    {
        var path = SaveLstmDense();
        var bigger = new Sequential(new InputLayer([5, 3]), new LSTM(4), new Dense(2), new Dense(2));
        var e = Assert.Throws<KerasFileException>(() => bigger.LoadWeights(path));
        Assert.Contains("no group '/layers/dense_1/vars'", e.Message);
        Assert.Contains(bigger.Layers[2].Name, e.Message);
    }

    [Fact]
    public void SkipMismatchLoadsTheRestAndWarnsOncePerSkippedLayer()
    {
        var source = LstmDense();
        var path = PathOf("source.weights.h5");
        source.SaveWeights(path);
        var target = LstmDense(denseUnits: 3);
        var denseBefore = target.Layers[1].GetWeights();
        var log = CaptureLog();

        target.LoadWeights(path, skipMismatch: true);

        var skipped = Assert.Single(log);
        Assert.Contains(target.Layers[1].Name, skipped);
        Assert.Contains("layers/dense", skipped);
        Assert.DoesNotContain('\n', skipped);
        var sourceLstm = source.Layers[0].GetWeights();
        var targetLstm = target.Layers[0].GetWeights();
        for (int i = 0; i < sourceLstm.Length; i++) Assert.Equal(sourceLstm[i], targetLstm[i]);
        var denseAfter = target.Layers[1].GetWeights();
        for (int i = 0; i < denseBefore.Length; i++) Assert.Equal(denseBefore[i], denseAfter[i]);
    }

    /// <summary>Rewrites the LSTM cell's kernel dataset of a saved file with other data, using PureHDF directly.</summary>
    private string FileWithKernel(object kernelData, ulong[] dims)
    {
        var source = LstmDense();
        var cell = ((RNN)source.Layers[0]).Cell;
        var dense = source.Layers[1];
        static float[] Flat(Variable v) => v.Value.detach().contiguous().data<float>().ToArray();
        H5Group Vars(string name, params H5Dataset[] datasets)
        {
            var g = new H5Group();
            for (int i = 0; i < datasets.Length; i++) g[i.ToString()] = datasets[i];
            g.Attributes["name"] = name;
            return g;
        }
        var file = new H5File
        {
            ["vars"] = Vars(source.Name),
            ["layers"] = new H5Group
            {
                ["lstm"] = new H5Group
                {
                    ["vars"] = Vars("lstm"),
                    ["cell"] = new H5Group
                    {
                        ["vars"] = Vars("lstm_cell", new H5Dataset(kernelData, fileDims: dims),
                            new H5Dataset(Flat(cell.Weights[1]), fileDims: [4, 16]), new H5Dataset(Flat(cell.Weights[2]), fileDims: [16])),
                    },
                },
                ["dense"] = new H5Group
                {
                    ["vars"] = Vars("dense", new H5Dataset(Flat(dense.Weights[0]), fileDims: [4, 2]), new H5Dataset(Flat(dense.Weights[1]), fileDims: [2])),
                },
            },
        };
        var path = PathOf("crafted.weights.h5");
        file.Write(path);
        return path;
    }

    [Fact]
    public void Float64DataIsConvertedToFloat32()
    {
        var kernel = Enumerable.Range(0, 48).Select(i => i / 7.0).ToArray();
        var path = FileWithKernel(kernel, [3, 16]);
        var target = LstmDense();
        target.LoadWeights(path);
        var loaded = (float[,])((RNN)target.Layers[0]).Cell.Weights[0].ToArray();
        Assert.Equal((float)(17 / 7.0), loaded[1, 1]);
    }

    [Fact]
    public void IntegerDataForAFloatVariableIsAnError()
    {
        var path = FileWithKernel(Enumerable.Range(0, 48).ToArray(), [3, 16]);
        var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
        Assert.Contains("floating-point", e.Message);
        Assert.Contains("integer (32-bit)", e.Message);
        Assert.Contains("/layers/lstm/cell/vars/0", e.Message);
    }

    [Fact]
    public void StringDataForAFloatVariableIsAnError()
    {
        var path = FileWithKernel(Enumerable.Range(0, 48).Select(i => $"w{i}").ToArray(), [3, 16]);
        var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
        Assert.Contains("string", e.Message);
        Assert.Contains("/layers/lstm/cell/vars/0", e.Message);
    }

    [Fact]
    public void HugeDeclaredShapeIsRejectedBeforeReading()
    {
        // A dataset whose header declares 10^10 elements while the file stores 21: it must not be read (that would
        // allocate 40 GB). Patch the dimensions (7, 3) in the dataspace message of a small valid file.
        var file = new H5File
        {
            ["layers"] = new H5Group
            {
                ["dense"] = new H5Group
                {
                    ["vars"] = new H5Group
                    {
                        ["0"] = new H5Dataset(new float[21], fileDims: [7, 3]),
                        ["1"] = new H5Dataset(new float[3], fileDims: [3]),
                    },
                },
            },
        };
        var path = PathOf("bomb.weights.h5");
        file.Write(path);
        var bytes = File.ReadAllBytes(path);
        byte[] Dims(ulong a, ulong b) => [.. BitConverter.GetBytes(a), .. BitConverter.GetBytes(b)];
        var pattern = Dims(7, 3);
        int patched = 0;
        for (int i = 0; i + pattern.Length <= bytes.Length; i++)
        {
            if (!bytes.AsSpan(i, pattern.Length).SequenceEqual(pattern)) continue;
            Dims(100_000, 100_000).CopyTo(bytes, i);
            patched++;
        }
        Assert.InRange(patched, 1, 2); // dimensions (and maximum dimensions)
        File.WriteAllBytes(path, bytes);

        var model = new Sequential(new InputLayer([7]), new Dense(3));
        var e = Assert.Throws<KerasFileException>(() => model.LoadWeights(path));
        Assert.Contains("(100000, 100000)", e.Message);
        Assert.Contains("(7, 3)", e.Message);
    }

    [Fact]
    public void NotAnHdf5FileIsACleanError()
    {
        var path = PathOf("text.weights.h5");
        File.WriteAllText(path, "this is not HDF5 at all, just some text that is long enough to look like a header");
        var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a readable Keras weights file", e.Message);

        File.WriteAllBytes(path, []);
        Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
    }

    [Fact]
    public void TruncatedFilesAreCleanErrors()
    {
        var path = SaveLstmDense();
        var bytes = File.ReadAllBytes(path);
        var cut = PathOf("cut.weights.h5");
        // Cut inside the metadata and inside the data: the loader must fail cleanly, never crash or load garbage.
        foreach (var length in new[] { 8, 100, 600, bytes.Length / 3, bytes.Length / 2 })
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(cut));
            Assert.Equal(cut, e.FilePath);
        }
    }

    [Fact]
    public void CorruptedFilesFailCleanlyAndQuickly()
    {
        var path = SaveLstmDense();
        var bytes = File.ReadAllBytes(path);
        var corrupt = PathOf("corrupt.weights.h5");
        var random = new Random(1234);
        var watch = Stopwatch.StartNew();
        int failures = 0;
        for (int trial = 0; trial < 40; trial++)
        {
            var copy = (byte[])bytes.Clone();
            // Corrupt the first 2 KB (superblock, object headers, heaps, B-trees), where structure lives.
            for (int k = 0; k < 8; k++) copy[random.Next(Math.Min(2048, copy.Length))] = (byte)random.Next(256);
            File.WriteAllBytes(corrupt, copy);
            try
            {
                LstmDense().LoadWeights(corrupt);
            }
            catch (KerasFileException)
            {
                failures++;
            }
        }
        Assert.True(failures > 0);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"40 corrupted loads took {watch.Elapsed}");
    }

    [Fact]
    public void LegacyKeras2FileIsRecognised()
    {
        var file = new H5File { ["lstm_1"] = new H5Group() };
        file.Attributes["layer_names"] = new[] { "lstm_1" };
        file.Attributes["keras_version"] = "2.2.4";
        var path = PathOf("legacy.h5");
        file.Write(path);
        // Routed to the legacy loader, which matches layers with weights in order and reports the mismatch.
        var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
        Assert.Contains("Layer count mismatch", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ArchiveWithoutWeightsEntryIsACleanError()
    {
        var path = PathOf("empty.keras");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            zip.CreateEntry("config.json");
        var e = Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(path));
        Assert.Contains("model.weights.h5", e.Message);
        Assert.Contains("config.json", e.Message);

        var truncated = PathOf("truncated.keras");
        var model = LstmDense();
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Throws<KerasFileException>(() => LstmDense().LoadWeights(truncated));
    }

    [Fact]
    public void MissingFileUnbuiltModelAndWrongExtension()
    {
        Assert.Throws<FileNotFoundException>(() => LstmDense().LoadWeights(PathOf("nope.weights.h5")));
        var unbuilt = new Sequential(new LSTM(4), new Dense(2));
        Assert.Throws<InvalidOperationException>(() => unbuilt.SaveWeights(PathOf("x.weights.h5")));
        Assert.Throws<InvalidOperationException>(() => unbuilt.LoadWeights(SaveLstmDense()));
        var e = Assert.Throws<ArgumentException>(() => LstmDense().SaveWeights(PathOf("x.h5")));
        Assert.Contains(".weights.h5", e.Message);
        Assert.Throws<ArgumentException>(() => LstmDense().Save(PathOf("x.zip")));
        Assert.Throws<DirectoryNotFoundException>(() => LstmDense().SaveWeights(PathOf("missing/x.weights.h5")));
    }
}
