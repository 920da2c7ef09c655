using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// Reuses the large CPU buffers of our recurrent kernels (gates, states, gradients: megabytes each, the same sizes at
/// every batch) from one batch to the next, as PyTorch's caching allocator does on the GPU.
/// </summary>
/// <remarks>
/// <para>Why: libtorch takes such buffers from glibc's heap, where each batch's mix of large and small allocations lands
/// at slightly different places; free holes too small for the next batch's buffers then grow the heap over the first
/// batches — peak resident memory in one run of a training loop was 20–45% above the live data, and varied from run to
/// run. A buffer from this pool is a tensor over a block that returns here when libtorch frees the tensor (its
/// storage's deleter), whoever held it last (a saved autograd tensor, a layer output), so a block is never reused while
/// anything can still read it.</para>
/// <para>Freed blocks are kept by exact size up to <see cref="MaxCachedBytes"/> in all and handed out again; the rest go
/// back to the C heap. <see cref="Release"/> frees the cached blocks (the training and prediction loops call it when
/// they finish), so an idle program holds nothing here.</para>
/// </remarks>
internal static unsafe class HostBufferPool
{
    /// <summary>Buffers smaller than this come from libtorch as usual (glibc reuses small blocks well).</summary>
    internal const long MinBytes = 256 * 1024;

    /// <summary>Most bytes kept in freed blocks (default 256 MiB); a freed block beyond it goes back to the C heap.</summary>
    internal static long MaxCachedBytes { get; set; } = DefaultMaxCachedBytes;

    /// <summary>The default of <see cref="MaxCachedBytes"/>: 256 MiB.</summary>
    internal const long DefaultMaxCachedBytes = 256L * 1024 * 1024;

    /// <summary>Whether kernels take their large buffers from the pool (default <c>true</c>; tests switch it to compare).</summary>
    internal static bool Enabled { get; set; } = true;

    private static readonly object Gate = new();
    private static readonly Dictionary<long, Stack<IntPtr>> FreeBlocks = new();
    private static readonly Dictionary<IntPtr, long> BlockSizes = new();
    private static long _cachedBytes;
    private static long _reuses;
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
        get { lock (Gate) return BlockSizes.Count - FreeBlocks.Values.Sum(s => s.Count); }
    }

    /// <summary>How many buffers were served from a freed block in this process (a diagnostic for tests).</summary>
    internal static long Reuses => Interlocked.Read(ref _reuses);

    /// <summary>
    /// An uninitialised contiguous CPU tensor like <c>torch.empty(shape, dtype)</c>, in a pooled block when it is large
    /// (at least <see cref="MinBytes"/>) and the pool is usable; otherwise from <c>torch.empty</c>.
    /// </summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device; only CPU tensors are pooled.</param>
    public static Tensor Empty(long[] shape, ScalarType dtype, Device device)
    {
        long elements = 1;
        foreach (var d in shape) elements *= d;
        long bytes = elements * ElementSize(dtype);
        if (!Enabled || device.type != DeviceType.CPU || bytes < MinBytes || !Usable()) return torch.empty(shape, dtype, device);
        var block = Take(bytes);
        IntPtr handle;
        fixed (long* dims = shape)
            handle = _newTensor(block, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&OnFree, dims, shape.Length, (sbyte)dtype, (sbyte)dtype, 0, 0, 0);
        if (handle == IntPtr.Zero)
        {
            Return(block);
            return torch.empty(shape, dtype, device);
        }
        return Tensor.UnsafeCreateTensor(handle);
    }

    /// <summary>Frees every cached block (blocks in use return to the C heap when their tensors are freed after this, if the cache is over its limit).</summary>
    public static void Release()
    {
        lock (Gate)
        {
            foreach (var stack in FreeBlocks.Values)
                while (stack.Count > 0)
                {
                    var block = stack.Pop();
                    BlockSizes.Remove(block);
                    NativeMemory.AlignedFree((void*)block);
                }
            FreeBlocks.Clear();
            _cachedBytes = 0;
        }
    }

    private static IntPtr Take(long bytes)
    {
        lock (Gate)
        {
            if (FreeBlocks.TryGetValue(bytes, out var stack) && stack.Count > 0)
            {
                _cachedBytes -= bytes;
                _reuses++;
                return stack.Pop();
            }
            var block = (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            BlockSizes[block] = bytes;
            return block;
        }
    }

    /// <summary>The storage deleter: called by libtorch (on any thread) when the last tensor over a block is freed.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnFree(IntPtr block) => Return(block);

    private static void Return(IntPtr block)
    {
        lock (Gate)
        {
            if (!BlockSizes.TryGetValue(block, out long bytes)) return;
            if (_cachedBytes + bytes > MaxCachedBytes)
            {
                BlockSizes.Remove(block);
                NativeMemory.AlignedFree((void*)block);
                return;
            }
            if (!FreeBlocks.TryGetValue(bytes, out var stack)) FreeBlocks[bytes] = stack = new Stack<IntPtr>();
            stack.Push(block);
            _cachedBytes += bytes;
        }
    }

    private static bool Usable()
    {
        if (_state != 0) return _state == 1;
        NativeLibraries.EnsureLoaded();
        lock (Gate)
        {
            if (_state != 0) return _state == 1;
            if (NativeLibraries.GlueHandle != IntPtr.Zero && NativeLibrary.TryGetExport(NativeLibraries.GlueHandle, "THSTensor_new", out var address))
            {
                _newTensor = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, long*, int, sbyte, sbyte, int, int, byte, IntPtr>)address;
                _state = 1;
            }
            else _state = 2;
            return _state == 1;
        }
    }

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.ComplexFloat64 => 16,
        _ => 1,
    };
}
