using System.IO.Compression;
using System.Text;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Xunit;
using static Keras.Rnn.Tests.Saving.ConfigTestSupport;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// The HDF5 pre-check that keeps PureHDF away from soft links (which it follows recursively without a cycle check —
/// a self-referencing soft link would overflow the stack and kill the process) and from links to other files.
/// </summary>
public class H5StructureCheckTests : SavingTestBase
{
    private static byte[] WeightsOf(string archive)
    {
        using var zip = ZipFile.OpenRead(archive);
        using var s = zip.GetEntry("model.weights.h5")!.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private static string? Check(byte[] h5) => H5StructureCheck.Problem(new MemoryStream(h5));

    private static void ReplaceWeights(string source, string target, byte[] h5)
    {
        File.Copy(source, target, overwrite: true);
        using var zip = ZipFile.Open(target, ZipArchiveMode.Update);
        zip.GetEntry("model.weights.h5")!.Delete();
        using var s = zip.CreateEntry("model.weights.h5", CompressionLevel.NoCompression).Open();
        s.Write(h5);
    }

    [Fact]
    public void KerasAndOurFilesPass()
    {
        // Keras 3 (h5py, old-style groups: symbol tables, B-trees, local heaps) and ours (PureHDF, link messages).
        Assert.Null(Check(WeightsOf(TestDataPath("pre_pr22362_nested_container.keras"))));
        var path = PathOf("ours.keras");
        var layers = new List<Layer> { new InputLayer([3]) };
        for (int i = 0; i < 12; i++) layers.Add(new Dense(2));
        new Sequential(layers).Save(path);
        Assert.Null(Check(WeightsOf(path)));
    }

    [Fact]
    public void SoftLinksAreRefusedBeforePureHdfFollowsThem()
    {
        // Turn the first symbol of a Keras-written file's first symbol table node into a soft link (cache type 2).
        var fixture = TestDataPath("pre_pr22362_nested_container.keras");
        var h5 = WeightsOf(fixture);
        int snod = IndexOf(h5, "SNOD");
        Assert.True(snod > 0);
        const int offsetSize = 8; // h5py's default
        int cacheType = snod + 8 + 2 * offsetSize;
        Assert.NotEqual(2, BitConverter.ToInt32(h5, cacheType));
        h5[cacheType] = 2;
        MessageHas(new Exception(Check(h5)), "soft link");

        var path = PathOf("soft.keras");
        ReplaceWeights(fixture, path, h5);
        var model = new Sequential([new InputLayer([4]), new Dense(4, useBias: false), new Dense(4, useBias: false), new Dense(4, useBias: false), new Dense(2)]);
        var e = Assert.Throws<KerasFileException>(() => model.LoadWeights(path));
        MessageHas(e, path, "model.weights.h5", "soft link");
    }

    [Fact]
    public void TruncatedAndMisplacedStructuresAreRefused()
    {
        var h5 = WeightsOf(TestDataPath("pre_pr22362_nested_container.keras"));
        Assert.NotNull(Check(h5[..100]));
        Assert.NotNull(Check(Encoding.ASCII.GetBytes("not an hdf5 file at all")));
        var noTree = (byte[])h5.Clone();
        int tree = IndexOf(noTree, "TREE");
        noTree[tree] = (byte)'X';
        MessageHas(new Exception(Check(noTree)), "no TREE signature");
    }

    [Fact]
    public void GuardedStreamStopsEndlessReading()
    {
        using var guarded = new GuardedReadStream(new MemoryStream(new byte[100]), maxBytes: 250);
        var buffer = new byte[100];
        for (int i = 0; i < 2; i++)
        {
            guarded.Position = 0;
            guarded.ReadExactly(buffer);
        }
        guarded.Position = 0;
        Assert.Throws<InvalidDataException>(() => guarded.ReadExactly(buffer));
        Assert.Equal(200, guarded.BytesRead);
    }

    private static int IndexOf(byte[] data, string signature)
    {
        var pattern = Encoding.ASCII.GetBytes(signature);
        for (int i = 0; i + pattern.Length <= data.Length; i++)
            if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern)) return i;
        return -1;
    }
}
