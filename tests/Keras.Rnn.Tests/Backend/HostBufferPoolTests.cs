using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using Keras.Rnn.Tests.Layers.Rnn;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

/// <summary>
/// <see cref="HostBufferPool"/>: a block is handed out again only after every tensor over it is gone (views, saved
/// autograd tensors); blocks are pooled only inside a scope, the cache keeps to its limit (least recently freed blocks
/// out first) and empties when the scope closes; <c>Fit</c> leaves nothing behind and <c>Predict</c> returns ordinary
/// storage; our recurrent kernels give the same outputs and gradients with pooled buffers as without — also when graphs
/// overlap, so that a later batch reuses blocks while an earlier graph still holds others.
/// </summary>
public class HostBufferPoolTests : IDisposable
{
    private const long Rows = 256, Columns = 1024;
    private const long Bytes = Rows * Columns * sizeof(float); // 1 MiB: pooled

    private readonly RecurrentKernelMode _savedMode = RecurrentKernels.Mode;

    public HostBufferPoolTests()
    {
        RecurrentKernels.Mode = RecurrentKernelMode.Custom;
        CollectGarbage();
        HostBufferPool.Release();
    }

    /// <summary>Finalizes unreachable tensors (twice: a finalized autograd node releases saved tensors).</summary>
    private static void CollectGarbage()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    public void Dispose()
    {
        RecurrentKernels.Mode = _savedMode;
        HostBufferPool.Enabled = true;
        HostBufferPool.MaxCachedBytes = HostBufferPool.DefaultMaxCachedBytes;
        HostBufferPool.Release();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void FreedBlockServesTheNextBufferOfTheSameSize()
    {
        using var scope = HostBufferPool.Scope();
        int inUse = HostBufferPool.BlocksInUse;
        var t = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU);
        Assert.Equal(inUse + 1, HostBufferPool.BlocksInUse);
        t.fill_(3f);
        Assert.Equal(3.0 * Rows * Columns, t.sum(ScalarType.Float64).item<double>());
        long reuses = HostBufferPool.Reuses;
        Assert.Equal(0, HostBufferPool.CachedBytes);
        t.Dispose();
        Assert.Equal(Bytes, HostBufferPool.CachedBytes);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);

        // Same byte size, another shape and dtype: the freed block is handed out again.
        using var u = HostBufferPool.Empty([Rows * Columns / 2], ScalarType.Float64, CPU);
        Assert.Equal(reuses + 1, HostBufferPool.Reuses);
        Assert.Equal(0, HostBufferPool.CachedBytes);
        Assert.Equal(ScalarType.Float64, u.dtype);
        Assert.Equal([Rows * Columns / 2], u.shape);
    }

    [Fact]
    public void BlockIsNotReusedWhileAViewOfItLives()
    {
        using var scope = HostBufferPool.Scope();
        var t = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU).fill_(5f);
        var view = t.narrow(0, 0, 8);
        t.Dispose();
        Assert.Equal(0, HostBufferPool.CachedBytes);
        long reuses = HostBufferPool.Reuses;
        using (var other = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU))
        {
            Assert.Equal(reuses, HostBufferPool.Reuses);
            other.fill_(-1f);
            Assert.Equal(5.0 * 8 * Columns, view.sum(ScalarType.Float64).item<double>());
        }
        Assert.Equal(Bytes, HostBufferPool.CachedBytes);
        view.Dispose();
        Assert.Equal(2 * Bytes, HostBufferPool.CachedBytes);
    }

    [Fact]
    public void SmallBuffersOutsideAScopeAndDisabledPoolComeFromLibtorch()
    {
        int inUse = HostBufferPool.BlocksInUse;
        using (var outside = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU))
            Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        using var scope = HostBufferPool.Scope();
        using var small = HostBufferPool.Empty([16, 16], ScalarType.Float32, CPU);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        using var integers = HostBufferPool.Empty([Rows, Columns], ScalarType.Int64, CPU);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        HostBufferPool.Enabled = false;
        using var large = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        Assert.Equal([Rows, Columns], large.shape);
    }

    [Fact]
    public void CacheKeepsToItsLimitAndTheClosingScopeEmptiesIt()
    {
        HostBufferPool.MaxCachedBytes = 3 * Bytes;
        int inUse = HostBufferPool.BlocksInUse;
        var scope = HostBufferPool.Scope();
        var a = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU);
        var b = HostBufferPool.Empty([2 * Rows, Columns], ScalarType.Float32, CPU);
        var c = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU);
        a.Dispose();
        b.Dispose();
        Assert.Equal(3 * Bytes, HostBufferPool.CachedBytes);
        // Over the limit: the least recently freed block (a) goes.
        c.Dispose();
        Assert.Equal(3 * Bytes, HostBufferPool.CachedBytes);
        long reuses = HostBufferPool.Reuses;
        using (HostBufferPool.Empty([2 * Rows, Columns], ScalarType.Float32, CPU)) Assert.Equal(reuses + 1, HostBufferPool.Reuses);
        scope.Dispose();
        Assert.Equal(0, HostBufferPool.CachedBytes);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
    }

    [Fact]
    public void BlocksFreedAfterTheScopeGoBackToTheHeap()
    {
        int inUse = HostBufferPool.BlocksInUse;
        Tensor t;
        using (HostBufferPool.Scope()) t = HostBufferPool.Empty([Rows, Columns], ScalarType.Float32, CPU);
        Assert.Equal(inUse + 1, HostBufferPool.BlocksInUse);
        t.Dispose();
        Assert.Equal(0, HostBufferPool.CachedBytes);
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
    }

    [Fact]
    public void FitReusesBuffersAndLeavesNothingBehind()
    {
        var model = new Keras.Rnn.Models.Sequential(new InputLayer([20, 16]), new GRU(128), new Dense(1));
        model.Compile(optimizer: "adam", loss: "mse");
        using var x = torch.randn(64, 20, 16);
        using var y = torch.randn(64, 1);
        int inUse = HostBufferPool.BlocksInUse;
        long reuses = HostBufferPool.Reuses;
        model.Fit(x, y, batchSize: 32, epochs: 2, verbose: 0);
        Assert.True(HostBufferPool.Reuses > reuses, "the kernels' buffers were not reused from batch to batch");
        CollectGarbage();
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        Assert.Equal(0, HostBufferPool.CachedBytes);
    }

    [Fact]
    public void PredictReusesBuffersBetweenBatchesAndReturnsOrdinaryStorage()
    {
        using var x = torch.randn(64, 20, 16);
        int inUse = HostBufferPool.BlocksInUse;
        long reuses = HostBufferPool.Reuses;
        var withHead = new Keras.Rnn.Models.Sequential(new InputLayer([20, 16]), new SimpleRNN(128, returnSequences: true), new Dense(4));
        using (var y = withHead.Predict(x, batchSize: 32, verbose: 0)) Assert.Equal([64L, 20L, 4L], y.shape);
        Assert.True(HostBufferPool.Reuses > reuses, "the second batch reused no block");

        // SimpleRNN's last state is a view of its pooled (T·B, u) state buffer: Predict returns a copy, not a view that
        // would keep a pooled (non-resizable) block alive after Predict.
        var bare = new Keras.Rnn.Models.Sequential(new InputLayer([20, 16]), new SimpleRNN(128));
        using var last = bare.Predict(x, batchSize: 64, verbose: 0);
        CollectGarbage();
        Assert.Equal(inUse, HostBufferPool.BlocksInUse);
        Assert.Equal([64L, 128L], last.shape);
    }

    public static IEnumerable<object[]> Kinds() => new[] { CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore, CellKind.SimpleRnn }
        .Select(k => new object[] { k });

    // 32 sequences × 20 steps × 128 units: the states (327 KB) and gates are pooled; the mask has gaps.
    private const int Batch = 32, Steps = 20, Features = 16, Units = 128;

    private static (RNN Layer, Tensor Mask) Make(CellKind kind)
    {
        var w = RnnReference.RandomWeights(new Random(7 + (int)kind), kind, Features, Units, scale: 0.2);
        var layer = RnnFactory.Make(kind, Units, returnSequences: true, returnState: true).WithWeights(Features, w);
        var mask = torch.rand([Batch, Steps], generator: new Generator(11)).gt(0.2);
        return (layer, mask);
    }

    private static (Tensor Loss, Tensor X) Loss(RNN layer, Tensor mask, int seed)
    {
        var g = new Generator((ulong)seed);
        var x = torch.randn([Batch, Steps, Features], generator: g).requires_grad_(true);
        var outs = layer.ApplyAll([x], masks: [mask]);
        var loss = outs[0].mul(torch.randn(outs[0].shape, generator: g)).sum();
        for (int s = 1; s < outs.Count; s++) loss = loss.add(outs[s].mul(torch.randn(outs[s].shape, generator: g)).sum());
        return (loss, x);
    }

    private static double[][] Gradients(RNN layer, Tensor loss, Tensor x)
    {
        foreach (var v in layer.TrainableWeights) v.Value.grad?.zero_();
        loss.backward();
        return layer.TrainableWeights.Select(v => T.Values(v.Value.grad!)).Append(T.Values(x.grad!)).ToArray();
    }

    private static void AssertSame(double[][] expected, double[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) T.Close(expected[i], actual[i], atol: 1e-5, rtol: 1e-5, what: $"{what} gradient {i}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void KernelsGiveTheSameResultsWithAndWithoutPooledBuffers(CellKind kind)
    {
        using var scope = HostBufferPool.Scope();
        var (layer, mask) = Make(kind);
        HostBufferPool.Enabled = false;
        var (lossOff, xOff) = Loss(layer, mask, 3);
        var off = Gradients(layer, lossOff, xOff);
        HostBufferPool.Enabled = true;
        int inUse = HostBufferPool.BlocksInUse;
        var (lossOn, xOn) = Loss(layer, mask, 3);
        Assert.True(HostBufferPool.BlocksInUse > inUse, "the kernel took no pooled buffer");
        Assert.Equal(lossOff.item<float>(), lossOn.item<float>(), 5);
        AssertSame(off, Gradients(layer, lossOn, xOn), "pooled");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OverlappingGraphsKeepTheirBuffers(CellKind kind)
    {
        using var scope = HostBufferPool.Scope();
        var (layer, mask) = Make(kind);
        var (lossA, xA) = Loss(layer, mask, 21);
        var expectedA = Gradients(layer, lossA, xA);

        // Graph A stays alive while B runs forward and backward and C runs forward on B's freed blocks; then A's backward.
        var (a, xa) = Loss(layer, mask, 21);
        var (b, xb) = Loss(layer, mask, 22);
        Gradients(layer, b, xb);
        b.Dispose();
        CollectGarbage();
        long reuses = HostBufferPool.Reuses;
        var (c, xc) = Loss(layer, mask, 23);
        Assert.True(HostBufferPool.Reuses > reuses, "graph C reused no block");
        AssertSame(expectedA, Gradients(layer, a, xa), "overlapping");
        c.Dispose();
    }
}
