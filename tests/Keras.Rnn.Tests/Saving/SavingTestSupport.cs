using Keras.Rnn.Models;
using PureHDF;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>A temporary folder removed after the test, plus helpers shared by the saving tests.</summary>
public abstract class SavingTestBase : IDisposable
{
    protected SavingTestBase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "keras-rnn-saving-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    protected string Folder { get; }

    protected string PathOf(string name) => System.IO.Path.Combine(Folder, name);

    public void Dispose()
    {
        KerasConfig.Logger = DefaultLogger;
        Keras.Rnn.Saving.AtomicFile.StreamWrapperForTests = null;
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }

    private static readonly Action<string>? DefaultLogger = KerasConfig.Logger;

    /// <summary>Collects the messages sent to <see cref="KerasConfig.Logger"/> during the test.</summary>
    protected List<string> CaptureLog()
    {
        var messages = new List<string>();
        KerasConfig.Logger = messages.Add;
        return messages;
    }

    /// <summary>A deterministic input of the given shape.</summary>
    protected static Tensor Input(params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return torch.arange(n, ScalarType.Float32).mul(0.37).sin().reshape(shape);
    }

    /// <summary>Output values of the model (first output), as a flat array.</summary>
    protected static float[] Predict(Model model, Tensor x)
    {
        using var _ = torch.no_grad();
        var y = model.ApplyAll([x])[0];
        return y.detach().cpu().contiguous().data<float>().ToArray();
    }

    /// <summary>Saves <paramref name="source"/>'s weights, loads them into <paramref name="fresh"/> (same architecture,
    /// other random values) and checks that predictions were different before and are identical after.</summary>
    protected void AssertRoundTrip(Model source, Model fresh, Tensor x, string fileName = "model.weights.h5")
    {
        var expected = Predict(source, x);
        var before = Predict(fresh, x);
        Assert.NotEqual(expected, before); // the fresh model really starts from other weights
        var path = PathOf(fileName);
        if (fileName.EndsWith(".keras", StringComparison.Ordinal)) source.Save(path);
        else source.SaveWeights(path);
        fresh.LoadWeights(path);
        Assert.Equal(expected, Predict(fresh, x));
        var w1 = source.GetWeights();
        var w2 = fresh.GetWeights();
        Assert.Equal(w1.Length, w2.Length);
        for (int i = 0; i < w1.Length; i++) Assert.Equal(w1[i], w2[i]);
    }
}

/// <summary>What an HDF5 file contains, read with PureHDF directly (independently of the code under test).</summary>
internal static class H5Contents
{
    /// <summary>Every group and dataset path (no leading slash), datasets as "path (shape) class-size".</summary>
    public static List<string> Describe(string file)
    {
        using var h5 = H5File.OpenRead(file);
        return Describe((IH5Group)h5);
    }

    public static List<string> Describe(Stream stream)
    {
        using var h5 = H5File.Open(stream, leaveOpen: true);
        return Describe((IH5Group)h5);
    }

    private static List<string> Describe(IH5Group root)
    {
        var result = new List<string>();
        void Walk(IH5Group group, string prefix)
        {
            foreach (var child in group.Children())
            {
                var path = prefix.Length == 0 ? child.Name : prefix + "/" + child.Name;
                if (child is IH5Group g)
                {
                    result.Add(path);
                    Walk(g, path);
                }
                else if (child is IH5Dataset d)
                {
                    var dims = d.Space.Type == H5DataspaceType.Scalar ? "()" : "(" + string.Join(", ", d.Space.Dimensions) + ")";
                    result.Add($"{path} {dims} {d.Type.Class}{d.Type.Size * 8}");
                }
            }
        }
        Walk(root, "");
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>The <c>name</c> attribute of a group.</summary>
    public static string NameAttribute(string file, string group)
    {
        using var h5 = H5File.OpenRead(file);
        return h5.Group(group).Attribute("name").Read<string>();
    }
}
