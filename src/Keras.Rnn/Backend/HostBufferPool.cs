using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// Reuses the large CPU buffers of our recurrent kernels (gates, states, gradients: megabytes each, the same sizes at
/// every batch) from one batch to the next while a training, evaluation or prediction loop runs, as PyTorch's caching
/// allocator does on the GPU.
/// </summary>
/// <remarks>
/// <para>Why: libtorch takes such buffers from glibc's heap, where each batch's mix of large and small allocations lands
/// at slightly different places; free holes too small for the next batch's buffers then grow the heap over the first
/// batches, so the peak resident memory of the same training loop varied from run to run, by up to 40% above the
/// live data. A buffer from this pool is a tensor over a block that returns here when libtorch frees the tensor's
/// storage (its deleter), whoever held it last (a saved autograd tensor, a view, a layer output): a block is never
/// handed out again while anything can still read it.</para>
/// <para>Blocks are pooled only inside a <see cref="Scope"/> (<c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> open one):
/// there a freed block is kept for the next buffer of the same byte size, the least recently freed ones going back
/// to the C heap beyond <see cref="MaxCachedBytes"/>. When the outermost scope closes, the kept blocks are freed, and
/// blocks freed after that (tensors the caller still held) go straight back to the C heap. Outside a scope
/// <see cref="Empty"/> is <c>torch.empty</c>.</para>
/// <para>Pooled storage is not resizable (<c>resize_</c>, or an <c>out=</c> argument of another size, throws), which
/// the kernels never need; <c>Predict</c> returns copies.</para>
/// </remarks>
internal static unsafe class HostBufferPool
{
    /// <summary>Buffers smaller than this come from libtorch as usual (glibc reuses small blocks well).</summary>
    internal const long MinBytes = 256 * 1024;

    /// <summary>The default of <see cref="MaxCachedBytes"/>: 256 MiB.</summary>
    internal const long DefaultMaxCachedBytes = 256L * 1024 * 1024;

    /// <summary>Most bytes kept in freed blocks (default 256 MiB); beyond it the least recently freed blocks go back to the C heap.</summary>
    internal static long MaxCachedBytes { get; set; } = DefaultMaxCachedBytes;

    /// <summary>Whether kernels take their large buffers from the pool (default <c>true</c>; tests switch it to compare).</summary>
    internal static bool Enabled { get; set; } = true;

    private static readonly object Gate = new();
    // Freed blocks, least recently freed first.
    private static readonly LinkedList<(IntPtr Block, long Bytes)> Cached = new();
    // Every block allocated here and not yet freed: in use or cached.
    private static readonly Dictionary<IntPtr, long> BlockSizes = new();
    private static long _cachedBytes;
    private static long _reuses;
    private static int _scopes;
    private static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, long*, int, sbyte, sbyte, int, int, byte, IntPtr> _newTensor;
    private static int _state; // 0 unresolved, 1 usable, 2 unavailable

    /// <summary>Bytes held in freed blocks now (a diagnostic).</summary>
    internal static long CachedBytes
    {
        get { lock (Gate) return _cachedBytes; }
    }

    /// <summary>Blocks in use by live tensors now (a diagnostic).</summary>
    internal static int BlocksInUse
    {
        get { lock (Gate) return BlockSizes.Count - Cached.Count; }
    }

    /// <summary>How many buffers were served from a freed block in this process (a diagnostic for tests).</summary>
    internal static long Reuses => Interlocked.Read(ref _reuses);

    /// <summary>
    /// Pools blocks until the returned object is disposed; scopes nest (the outermost one frees the kept blocks when it
    /// closes). Thread-safe.
    /// </summary>
    /// <returns>The scope; dispose it when the loop ends.</returns>
    public static IDisposable Scope()
    {
        lock (Gate) _scopes++;
        return new ScopeHandle();
    }

    /// <summary>
    /// An uninitialised contiguous CPU tensor of <paramref name="shape"/> and <paramref name="dtype"/> (as
    /// <c>torch.empty</c>), in a pooled block when a <see cref="Scope"/> is open, the tensor is large (at least
    /// <see cref="MinBytes"/>) and the pool is usable; otherwise from <c>torch.empty</c>.
    /// </summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device; only CPU tensors are pooled.</param>
    public static Tensor Empty(long[] shape, ScalarType dtype, Device device)
    {
        long elementSize = ElementSize(dtype), elements = 1;
        foreach (var d in shape) elements *= d;
        long bytes = elements * elementSize;
        if (!Enabled || elementSize == 0 || device.type != DeviceType.CPU || bytes < MinBytes || Volatile.Read(ref _scopes) == 0 || !Usable())
            return torch.empty(shape, dtype, device);
        var block = Take(bytes);
        IntPtr handle;
        fixed (long* dims = shape)
            handle = _newTensor(block, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&OnFree, dims, shape.Length, (sbyte)dtype, (sbyte)dtype, 0, 0, 0);
        if (handle != IntPtr.Zero) return Tensor.UnsafeCreateTensor(handle);
        // from_blob failed: if it had already taken the block, its deleter gave it back; otherwise give it back here.
        lock (Gate)
            if (!Cached.Any(c => c.Block == block)) Return(block);
        return torch.empty(shape, dtype, device);
    }

    /// <summary>Frees the kept blocks (blocks in use are unaffected).</summary>
    public static void Release()
    {
        lock (Gate)
        {
            foreach (var (block, _) in Cached)
            {
                BlockSizes.Remove(block);
                NativeMemory.AlignedFree((void*)block);
            }
            Cached.Clear();
            _cachedBytes = 0;
        }
    }

    private static IntPtr Take(long bytes)
    {
        lock (Gate)
        {
            for (var node = Cached.Last; node is not null; node = node.Previous)
            {
                if (node.Value.Bytes != bytes) continue;
                Cached.Remove(node);
                _cachedBytes -= bytes;
                _reuses++;
                return node.Value.Block;
            }
            var block = (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            BlockSizes[block] = bytes;
            return block;
        }
    }

    /// <summary>The storage deleter: called by libtorch (on any thread) when the last tensor over a block is freed.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnFree(IntPtr block)
    {
        lock (Gate) Return(block);
    }

    // Under Gate.
    private static void Return(IntPtr block)
    {
        if (!BlockSizes.TryGetValue(block, out long bytes)) return;
        if (_scopes == 0 || bytes > MaxCachedBytes)
        {
            BlockSizes.Remove(block);
            NativeMemory.AlignedFree((void*)block);
            return;
        }
        Cached.AddLast((block, bytes));
        _cachedBytes += bytes;
        while (_cachedBytes > MaxCachedBytes)
        {
            var (oldest, size) = Cached.First!.Value;
            Cached.RemoveFirst();
            _cachedBytes -= size;
            BlockSizes.Remove(oldest);
            NativeMemory.AlignedFree((void*)oldest);
        }
    }

    private static bool Usable()
    {
        int state = Volatile.Read(ref _state);
        if (state != 0) return state == 1;
        NativeLibraries.EnsureLoaded();
        lock (Gate)
        {
            if (_state == 0)
            {
                // TorchSharp's glue library: the copy we loaded on Linux, else the one TorchSharp's own loader resolves.
                var glue = NativeLibraries.GlueHandle;
                if (glue == IntPtr.Zero) NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out glue);
                if (glue != IntPtr.Zero && NativeLibrary.TryGetExport(glue, "THSTensor_new", out var address))
                {
                    _newTensor = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, long*, int, sbyte, sbyte, int, int, byte, IntPtr>)address;
                    Volatile.Write(ref _state, 1);
                }
                else Volatile.Write(ref _state, 2);
            }
            return _state == 1;
        }
    }

    /// <summary>Bytes per element of the dtypes the kernels use; 0 (not pooled) for any other.</summary>
    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => 8,
        ScalarType.Float32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        _ => 0,
    };

    private sealed class ScopeHandle : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
            lock (Gate)
            {
                if (--_scopes > 0) return;
            }
            Release();
        }
    }
}
