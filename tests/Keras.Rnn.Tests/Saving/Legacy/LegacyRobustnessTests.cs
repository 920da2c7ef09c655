using System.Globalization;
using Keras.Rnn.Activations;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Keras.Rnn.Saving.Legacy;
using PureHDF;
using Xunit;
using Xunit.Abstractions;
using static Keras.Rnn.Tests.Saving.Legacy.LegacyFileBuilder;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>
/// Untrusted legacy files: truncated and byte-mutated copies of the real Keras files, absurd dataset shapes and
/// malformed structures give a <see cref="KerasFileException"/> (or load, when the damage is in data we do not read) —
/// never another exception, a hang or a huge allocation.
/// </summary>
/// <remarks>
/// The number of mutants per file defaults to 60; set <c>KERAS_RNN_FUZZ_ITERATIONS</c> for longer runs (3000 per file,
/// 15 000 mutants in all, passed while the loader was written).
/// </remarks>
public class LegacyRobustnessTests(ITestOutputHelper output) : SavingTestBase
{
    private static readonly ActivationFunction HardSigmoid2 = ActivationFunction.HardSigmoidKeras2;

    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("KERAS_RNN_FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 60;

    /// <summary>The real files and a model each fits.</summary>
    private static IEnumerable<(string File, Func<Model> Build)> Cases()
    {
        yield return ("dl4j/lstm_functional_tf_keras_2.h5", () =>
        {
            var input = KerasApi.Input([10, 4], name: "inputLayer_1");
            var h = new LSTM(8, recurrentActivation: HardSigmoid2, name: "lstm").Apply(input);
            return new Model(input, new Dense(5, ActivationFunction.Softmax, name: "outputLayer_a").Apply(h));
        });
        yield return ("dl4j/simple_rnn_tf_keras_2_model.h5", () => new Sequential(new InputLayer([1, 1], batchSize: 25), new SimpleRNN(50), new Dense(1)));
        yield return ("dl4j/keras1/simple_lstm_th_keras_1_model.h5", () => new Sequential(new InputLayer([1, 1]), new LSTM(50, recurrentActivation: HardSigmoid2), new Dense(1)));
        yield return ("dl4j/masking_zero_lstm.h5", () => new Sequential(new InputLayer([10, 42]), new Masking(), new LSTM(32, recurrentActivation: HardSigmoid2)));
        yield return ("dl4j/fullconfig-lstm-theano/lstm_th_keras_2_weights.h5", () => new Sequential(new InputLayer([4, 12]),
            new LSTM(96, recurrentActivation: HardSigmoid2, returnSequences: true), new LSTM(96, recurrentActivation: HardSigmoid2), new Dense(1, ActivationFunction.Sigmoid)));
    }

    /// <summary>Loads (weights and metadata); returns what happened, failing on anything but success or a KerasFileException.</summary>
    private static string TryLoad(Model model, string path)
    {
        string outcome = "loaded";
        LegacyData.WithinSeconds(30, () =>
        {
            try
            {
                LegacyH5Weights.Load(model, path);
            }
            catch (KerasFileException e)
            {
                Assert.Equal(path, e.FilePath);
                outcome = "rejected";
            }
            try
            {
                LegacyH5Weights.ReadMetadata(path);
            }
            catch (KerasFileException)
            {
            }
            _ = LegacyH5Weights.IsLegacyFile(path);
        }, $"loading '{path}'");
        return outcome;
    }

    [Fact]
    public void TruncatedCopiesGiveCleanErrors()
    {
        foreach (var (file, build) in Cases())
        {
            var bytes = File.ReadAllBytes(LegacyData.PathOf(file));
            var model = build();
            var lengths = new SortedSet<int> { 0, 1, 8, 64, 200, 512, 1000, 2048, bytes.Length - 1 };
            for (int k = 1; k < 40; k++) lengths.Add((int)((long)bytes.Length * k / 40));
            int rejected = 0;
            foreach (var length in lengths)
            {
                var path = PathOf($"truncated-{length}.h5");
                File.WriteAllBytes(path, bytes[..length]);
                if (TryLoad(model, path) == "rejected") rejected++;
                File.Delete(path);
            }
            output.WriteLine($"{file}: {rejected} of {lengths.Count} truncated copies rejected cleanly, the others loaded (their damage was beyond the weights read)");
            Assert.True(rejected >= lengths.Count / 2);
        }
    }

    [Fact]
    public void ByteMutatedCopiesGiveCleanErrors()
    {
        int seed = 0;
        foreach (var (file, build) in Cases())
        {
            var original = File.ReadAllBytes(LegacyData.PathOf(file));
            var model = build();
            int rejected = 0;
            for (int i = 0; i < Iterations; i++)
            {
                var random = new Random(++seed);
                var bytes = (byte[])original.Clone();
                int flips = random.Next(1, 9);
                for (int f = 0; f < flips; f++)
                {
                    // Half the damage in the first 4 KiB, where the superblock and most object headers live.
                    int at = random.Next(2) == 0 ? random.Next(Math.Min(4096, bytes.Length)) : random.Next(bytes.Length);
                    bytes[at] = random.Next(3) switch
                    {
                        0 => (byte)random.Next(256),
                        1 => (byte)(bytes[at] ^ (1 << random.Next(8))),
                        _ => 0xFF,
                    };
                }
                var path = PathOf("mutant.h5");
                File.WriteAllBytes(path, bytes);
                if (TryLoad(model, path) == "rejected") rejected++;
            }
            output.WriteLine($"{file}: {rejected} of {Iterations} mutants rejected cleanly, the rest loaded");
        }
    }

    /// <summary>Replaces every little-endian (rows, columns) pair of 64-bit dimensions in the file.</summary>
    private static int PatchDimensions(byte[] bytes, long rows, long columns, long newRows, long newColumns)
    {
        int patched = 0;
        for (int i = 0; i + 16 <= bytes.Length; i++)
        {
            if (BitConverter.ToInt64(bytes, i) != rows || BitConverter.ToInt64(bytes, i + 8) != columns) continue;
            BitConverter.GetBytes(newRows).CopyTo(bytes, i);
            BitConverter.GetBytes(newColumns).CopyTo(bytes, i + 8);
            patched++;
        }
        return patched;
    }

    [Theory]
    [InlineData(1L << 40, 200L)]        // 2^40 rows: beyond any array
    [InlineData(50L, 1L << 24)]         // 3.4 GB of float32 declared: plausible-looking but far beyond the layer
    [InlineData(0L, 200L)]              // empty
    public void AbsurdDatasetShapesAreRefusedWithoutAllocating(long rows, long columns)
    {
        // simple_lstm_tf_keras_2_model.h5 (Keras 2.0.6): lstm_1/recurrent_kernel:0 is (50, 200).
        var bytes = File.ReadAllBytes(LegacyData.PathOf("dl4j/simple_lstm_tf_keras_2_model.h5"));
        Assert.True(PatchDimensions(bytes, 50, 200, rows, columns) > 0);
        var path = PathOf("absurd.h5");
        File.WriteAllBytes(path, bytes);
        var model = new Sequential(new InputLayer([1, 1], batchSize: 25), new LSTM(50, recurrentActivation: HardSigmoid2), new Dense(1));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(model, path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine(e.Message);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
        Assert.Contains(path, e.Message);
        Assert.Contains("lstm_1", e.Message);
        if (rows == 50) Assert.Contains("lstm_1/recurrent_kernel:0 (50, 16777216)", e.Message); // declared shapes are named without reading
    }

    private string Build(Action<H5File> fill)
    {
        var file = new H5File();
        fill(file);
        var path = PathOf($"built-{Guid.NewGuid():N}.h5");
        file.Write(path);
        return path;
    }

    private static Sequential Small() => new(new InputLayer([3]), new Dense(2, name: "dense"));

    private static H5Group DenseGroup(H5File file, string name, object weightNames, params (string Name, H5Dataset Data)[] datasets)
    {
        var group = new H5Group();
        file[name] = group;
        group.Attributes["weight_names"] = weightNames;
        foreach (var (n, d) in datasets) group[n] = d;
        return group;
    }

    [Fact]
    public void MalformedStructuresAreReportedWithTheirPlaceInTheFile()
    {
        var kernel = new H5Dataset(Values(6, 1), fileDims: [3, 2]);
        var bias = new H5Dataset(Values(2, 2), fileDims: [2]);

        // layer_names lists a group that does not exist.
        var path = Build(f => f.Attributes["layer_names"] = new[] { "ghost" });
        var e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("lists layer #0 'ghost', but there is no group '/ghost'", e.Message);

        // weight_names lists a dataset that does not exist.
        path = Build(f =>
        {
            f.Attributes["layer_names"] = new[] { "dense" };
            DenseGroup(f, "dense", new[] { "kernel", "bias" }, ("kernel", kernel));
        });
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("has no dataset 'bias' although its 'weight_names' lists it", e.Message);

        // weight_names is not a list of strings.
        path = Build(f =>
        {
            f.Attributes["layer_names"] = new[] { "dense" };
            DenseGroup(f, "dense", new[] { 1, 2 }, ("kernel", kernel), ("bias", bias));
        });
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("attribute 'weight_names' of group '/dense'", e.Message);
        Assert.Contains("integer (32-bit) data; expected strings", e.Message);

        // A weight holding text.
        path = Build(f =>
        {
            f.Attributes["layer_names"] = new[] { "dense" };
            DenseGroup(f, "dense", new[] { "kernel", "bias" }, ("kernel", new H5Dataset(new[] { "a", "b", "c", "d", "e", "f" }, fileDims: [3, 2])), ("bias", bias));
        });
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("dataset '/dense/kernel'", e.Message);
        Assert.Contains("weights must be numbers", e.Message);

        // A group where a dataset should be, and model_weights that is a dataset.
        path = Build(f =>
        {
            f.Attributes["layer_names"] = new[] { "dense" };
            var g = DenseGroup(f, "dense", new[] { "kernel", "bias" }, ("bias", bias));
            g["kernel"] = new H5Group();
        });
        Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        path = Build(f => f["model_weights"] = new H5Dataset(new float[] { 1 }, fileDims: [1]));
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("'/model_weights'", e.Message);

        // Neither layer_names nor model_weights; the pre-1.0 format.
        path = Build(f => f.Attributes["something"] = "else");
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("neither a 'layer_names' attribute", e.Message);
        path = Build(f => f.Attributes["nb_layers"] = 2);
        e = Assert.Throws<KerasFileException>(() => LegacyH5Weights.Load(Small(), path));
        Assert.Contains("pre-1.0", e.Message);
    }

    [Fact]
    public void Float64AndIntegerWeightsAreConverted()
    {
        var kernel = new double[] { 0.5, -1.25, 2, 3, 4.75, -6 };
        var path = Build(f =>
        {
            f.Attributes["layer_names"] = new[] { "dense" };
            f.Attributes["keras_version"] = "2.1.6";
            DenseGroup(f, "dense", new[] { "kernel:0", "bias:0" },
                ("kernel:0", new H5Dataset(kernel, fileDims: [3, 2])), ("bias:0", new H5Dataset(new long[] { 7, -8 }, fileDims: [2])));
        });
        var model = Small();
        LegacyH5Weights.Load(model, path);
        var w = model.Layers[0].GetWeightTensors();
        Assert.Equal(kernel.Select(v => (float)v).ToArray(), LegacyData.Flat(w[0]));
        Assert.Equal([7f, -8f], LegacyData.Flat(w[1]));
    }
}
