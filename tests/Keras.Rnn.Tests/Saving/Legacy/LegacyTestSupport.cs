using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using PureHDF;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving.Legacy;

/// <summary>Test data of the legacy tests (real Keras-written files, see TestData/README.md) and small independent readers.</summary>
internal static partial class LegacyData
{
    /// <summary>A file of Saving/Legacy/TestData: beside this source file, or found upwards from the test binaries.</summary>
    public static string PathOf(string relative, [CallerFilePath] string source = "")
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(source) ?? "", "TestData", relative);
        if (File.Exists(besideSource)) return besideSource;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Keras.Rnn.Tests", "Saving", "Legacy", "TestData", relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"Test data file '{relative}' not found.", relative);
    }

    /// <summary>A float32 dataset of an HDF5 file, read with PureHDF directly (not through the code under test).</summary>
    public static (long[] Shape, float[] Data) ReadDataset(string file, string dataset)
    {
        using var h5 = H5File.OpenRead(file);
        var d = h5.Dataset(dataset);
        return (d.Space.Dimensions.Select(x => (long)x).ToArray(), d.Read<float[]>());
    }

    /// <summary>The same as a tensor.</summary>
    public static Tensor DatasetTensor(string file, string dataset)
    {
        var (shape, data) = ReadDataset(file, dataset);
        return torch.tensor(data, shape);
    }

    [GeneratedRegex(@"'descr':\s*'([^']*)'.*'fortran_order':\s*(True|False).*'shape':\s*\(([^)]*)\)", RegexOptions.Singleline)]
    private static partial Regex NpyHeader();

    /// <summary>A minimal .npy reader for the fixtures: version 1/2 header, little-endian float32, C order.</summary>
    public static (long[] Shape, float[] Data) ReadNpyFloat32(string file)
    {
        var bytes = File.ReadAllBytes(file);
        Assert.True(bytes.Length > 10 && bytes[0] == 0x93 && Encoding.ASCII.GetString(bytes, 1, 5) == "NUMPY", $"{file} is not a .npy file");
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int dataStart = (major == 1 ? 10 : 12) + headerLength;
        var header = Encoding.ASCII.GetString(bytes, major == 1 ? 10 : 12, headerLength);
        var m = NpyHeader().Match(header);
        Assert.True(m.Success, $"unexpected .npy header in {file}: {header}");
        Assert.Equal("<f4", m.Groups[1].Value);
        Assert.Equal("False", m.Groups[2].Value);
        var shape = m.Groups[3].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        Assert.Equal(dataStart + count * 4, bytes.Length);
        var data = new float[count];
        Buffer.BlockCopy(bytes, dataStart, data, 0, (int)(count * 4));
        return (shape, data);
    }

    /// <summary>Values of a tensor as a flat float array.</summary>
    public static float[] Flat(Tensor t) => t.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

    /// <summary>Asserts element-wise closeness and returns the largest absolute difference.</summary>
    public static double AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (d > max) (max, worst) = (d, i);
        }
        Assert.True(max <= tolerance,
            $"{what}: max |difference| {max:E3} at element {worst} (expected {expected[worst]}, got {actual[worst]}) exceeds {tolerance:E1}");
        return max;
    }

    /// <summary>Runs <paramref name="action"/> and fails the test if it does not finish in <paramref name="seconds"/> (no hang).</summary>
    public static void WithinSeconds(double seconds, Action action, string what)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(seconds)), $"{what} did not finish within {seconds} s (hang)");
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }
}

/// <summary>
/// Writes small legacy-layout HDF5 files with PureHDF for tests of layouts no real fixture covers (Keras 1 GRU,
/// CuDNN weights, broken files). These are hand-made test inputs, not stand-ins for Keras-written files.
/// </summary>
internal static class LegacyFileBuilder
{
    public sealed record Weight(string Name, long[] Shape, float[] Data);

    public sealed record LayerEntry(string Name, IReadOnlyList<Weight> Weights);

    /// <summary>A full-model style file (<c>model_weights</c> group) or a weights-only one (root).</summary>
    public static void Write(string path, IReadOnlyList<LayerEntry> layers, string? kerasVersion, bool fullModel = true,
        string? modelConfig = null)
    {
        var file = new H5File();
        H5Group group = file;
        if (fullModel)
        {
            group = new H5Group();
            file["model_weights"] = group;
            file.Attributes["model_config"] = modelConfig ?? "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": []}}";
        }
        group.Attributes["layer_names"] = layers.Select(l => l.Name).ToArray();
        if (kerasVersion is not null) group.Attributes["keras_version"] = kerasVersion;
        foreach (var layer in layers)
        {
            var g = new H5Group();
            group[layer.Name] = g;
            g.Attributes["weight_names"] = layer.Weights.Select(w => w.Name).ToArray();
            foreach (var w in layer.Weights) Add(g, w.Name, new H5Dataset(w.Data, fileDims: w.Shape.Select(d => (ulong)d).ToArray()));
        }
        file.Write(path, new H5WriteOptions(PreferCompactDatasetLayout: false));
    }

    private static void Add(H5Group root, string path, H5Dataset dataset)
    {
        var parts = path.Split('/');
        var group = root;
        foreach (var part in parts[..^1])
        {
            if (!group.TryGetValue(part, out var next))
            {
                next = new H5Group();
                group[part] = next;
            }
            group = (H5Group)next;
        }
        group[parts[^1]] = dataset;
    }

    /// <summary>Deterministic pseudo-random values.</summary>
    public static float[] Values(long count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    public static Weight W(string name, long[] shape, int seed) => new(name, shape, Values(shape.Aggregate(1L, (a, b) => a * b), seed));
}

/// <summary>Keras 2's LSTM evaluated by hand in double precision, as an independent reference.</summary>
internal static class ReferenceLstm
{
    /// <summary>Keras 2's <c>hard_sigmoid</c>: clip(0.2x + 0.5, 0, 1).</summary>
    public static double HardSigmoid2(double x) => Math.Clamp(0.2 * x + 0.5, 0.0, 1.0);

    /// <summary>
    /// The last hidden state of one sequence <paramref name="x"/> (T × in, row-major) through an LSTM with gates
    /// i, f, c, o in <c>kernel (in, 4u)</c>, <c>recurrent (u, 4u)</c>, <c>bias (4u)</c>; masked steps keep the state.
    /// </summary>
    public static double[] Run(float[] kernel, float[] recurrent, float[] bias, float[] x, int steps, int inputs, int units,
        Func<double, double> recurrentActivation, bool[]? mask = null)
    {
        var h = new double[units];
        var c = new double[units];
        var z = new double[4 * units];
        for (int t = 0; t < steps; t++)
        {
            if (mask is not null && !mask[t]) continue;
            for (int j = 0; j < 4 * units; j++)
            {
                double s = bias[j];
                for (int k = 0; k < inputs; k++) s += x[t * inputs + k] * (double)kernel[k * 4 * units + j];
                for (int k = 0; k < units; k++) s += h[k] * recurrent[k * 4 * units + j];
                z[j] = s;
            }
            for (int j = 0; j < units; j++)
            {
                double i = recurrentActivation(z[j]), f = recurrentActivation(z[units + j]);
                double g = Math.Tanh(z[2 * units + j]), o = recurrentActivation(z[3 * units + j]);
                c[j] = f * c[j] + i * g;
                h[j] = o * Math.Tanh(c[j]);
            }
        }
        return h;
    }
}
