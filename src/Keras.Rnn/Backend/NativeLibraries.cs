using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;

namespace Keras.Rnn.Backend;

/// <summary>
/// Loads libtorch and TorchSharp's native glue library before TorchSharp's first call.
/// </summary>
/// <remarks>
/// <para>On systems whose C++ runtime predates GCC 13 (Debian 12 ships <c>GLIBCXX_3.4.30</c>), TorchSharp 0.107's
/// <c>libLibTorchSharp.so</c> refuses to load because it names <c>GLIBCXX_3.4.32</c>, needed only by the
/// never-relocated symbol <c>std::ios_base_library_init</c>. When — and only when — loading the original fails for
/// that reason, this class writes a copy whose requirement is marked weak into a cache folder (never into the NuGet
/// cache), loads it, and logs one line.</para>
/// <para>When <see cref="KerasConfig.LibTorchPath"/> (or the <c>KERAS_RNN_LIBTORCH</c> environment variable) names a
/// libtorch folder, for instance a local PyTorch's <c>torch/lib</c>, libtorch is loaded from there, including its CUDA
/// libraries when present.</para>
/// </remarks>
internal static class NativeLibraries
{
    private static readonly object Gate = new();
    private static bool _loaded;
    private static Exception? _failure;

    /// <summary>The version tags that <see cref="ElfVersionPatcher"/> may relax: only symbols that are never bound.</summary>
    internal static readonly string[] RelaxableVersions = ["GLIBCXX_3.4.32"];

    /// <summary>Path of the patched glue library when one was needed, else <c>null</c>.</summary>
    public static string? PatchedGluePath { get; private set; }

    /// <summary>The handle of TorchSharp's loaded glue library (Linux), or zero where TorchSharp's own loader ran.</summary>
    internal static IntPtr GlueHandle { get; private set; }

    /// <summary>The folder libtorch was loaded from.</summary>
    public static string? LibTorchFolder { get; private set; }

    /// <summary>Whether CUDA libraries of libtorch were loaded.</summary>
    public static bool CudaLibrariesLoaded { get; private set; }

    /// <summary>Loads the native libraries once; throws <see cref="KerasNativeLibraryException"/> when that is impossible.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            if (_failure != null) throw _failure;
            try
            {
                Load();
                _loaded = true;
            }
            catch (Exception e)
            {
                _failure = e as KerasNativeLibraryException
                           ?? new KerasNativeLibraryException(
                               $"Keras.Rnn could not initialise libtorch through TorchSharp: {e.Message}\n{InstallHint}", e);
                throw _failure;
            }
        }
    }

    internal const string InstallHint =
        "What to install: reference the NuGet packages 'TorchSharp' 0.107.0 and 'libtorch-cpu-linux-x64' 2.10.0 in the " +
        "application (or 'TorchSharp-cpu'), or set KERAS_RNN_LIBTORCH to a libtorch folder such as a local PyTorch's " +
        "torch/lib (for CUDA, also put its NVIDIA libraries on LD_LIBRARY_PATH).";

    private static void Load()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            LoadLinux();
        // Elsewhere TorchSharp's own loader is used as it is. Touch it now so failures surface here.
        try
        {
            _ = torch.get_num_threads();
        }
        catch (Exception e)
        {
            throw new KerasNativeLibraryException(
                $"TorchSharp failed to load its native libraries: {Unwrap(e).Message}\n{InstallHint}", e);
        }
        if (CudaLibrariesLoaded)
        {
            try { torch.InitializeDeviceType(DeviceType.CUDA); }
            catch (Exception e)
            {
                KerasConfig.Log($"CUDA libtorch was found in {LibTorchFolder} but CUDA could not be initialised: {Unwrap(e).Message}");
            }
        }
    }

    private static Exception Unwrap(Exception e) => e is TypeInitializationException { InnerException: { } inner } ? Unwrap(inner) : e;

    private static void LoadLinux()
    {
        var configured = KerasConfig.LibTorchPath ?? Environment.GetEnvironmentVariable("KERAS_RNN_LIBTORCH");
        var searchFolders = DefaultSearchFolders();
        string libtorchFolder;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            if (!File.Exists(Path.Combine(configured, "libtorch_cpu.so")))
                throw new KerasNativeLibraryException(
                    $"The libtorch folder '{configured}' (KerasConfig.LibTorchPath or KERAS_RNN_LIBTORCH) has no libtorch_cpu.so. " +
                    "Point it at a folder holding libc10.so, libtorch_cpu.so and libtorch.so, such as a PyTorch install's torch/lib.");
            libtorchFolder = configured;
            searchFolders.Insert(0, configured);
        }
        else
        {
            libtorchFolder = searchFolders.FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")))
                ?? throw new KerasNativeLibraryException(
                    "libtorch was not found: no libtorch_cpu.so in " + string.Join(", ", searchFolders) + ".\n" + InstallHint);
        }

        var glue = searchFolders.Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists)
                   ?? throw new KerasNativeLibraryException(
                       "TorchSharp's native library libLibTorchSharp.so was not found in " + string.Join(", ", searchFolders) + ".\n" + InstallHint);

        bool cuda = File.Exists(Path.Combine(libtorchFolder, "libtorch_cuda.so"));
        string[] order = cuda
            ? ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"]
            : ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
        foreach (var name in order)
        {
            var path = Path.Combine(libtorchFolder, name);
            if (!File.Exists(path)) continue;
            try { NativeLibrary.Load(path); }
            catch (Exception e)
            {
                throw new KerasNativeLibraryException(
                    $"Loading {path} failed: {e.Message}\n" + (cuda
                        ? "For a CUDA libtorch, put the NVIDIA libraries (cuDNN, cuBLAS, ...) on LD_LIBRARY_PATH before starting the program.\n"
                        : "") + InstallHint, e);
            }
        }
        LibTorchFolder = libtorchFolder;
        CudaLibrariesLoaded = cuda;

        string? firstError;
        try
        {
            GlueHandle = NativeLibrary.Load(glue);
            return;
        }
        catch (DllNotFoundException e)
        {
            firstError = e.Message;
        }

        if (!RelaxableVersions.Any(v => firstError.Contains(v, StringComparison.Ordinal)))
            throw new KerasNativeLibraryException($"Loading TorchSharp's native library {glue} failed: {firstError}\n{InstallHint}");

        var patched = PreparePatchedCopy(glue);
        try
        {
            GlueHandle = NativeLibrary.Load(patched);
        }
        catch (DllNotFoundException e)
        {
            throw new KerasNativeLibraryException(
                $"This system's C++ runtime (libstdc++) is too old for TorchSharp 0.107 even after relaxing {string.Join(", ", RelaxableVersions)} " +
                $"in a copy of libLibTorchSharp.so ({patched}): {e.Message}\n" +
                "Use a system with GCC 12's libstdc++ (GLIBCXX_3.4.30) or newer, e.g. Debian 12, Ubuntu 22.04 or later.", e);
        }
        PatchedGluePath = patched;
        KerasConfig.Log($"libstdc++ lacks {string.Join(", ", RelaxableVersions)}: loaded a copy of libLibTorchSharp.so with that requirement marked weak ({patched}).");
    }

    /// <summary>Folders where the application's native assets may be: the runtime's probe list and the app folder.</summary>
    internal static List<string> DefaultSearchFolders()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probe)
            folders.AddRange(probe.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        var app = AppContext.BaseDirectory;
        folders.Add(app);
        folders.Add(Path.Combine(app, "runtimes", "linux-x64", "native"));
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchSharpDir))
        {
            folders.Add(torchSharpDir);
            // TorchSharp.dll inside the NuGet cache (lib/net8.0): its natives sit in runtimes/linux-x64/native.
            folders.Add(Path.GetFullPath(Path.Combine(torchSharpDir, "..", "..", "runtimes", "linux-x64", "native")));
        }
        return folders.Select(f => f.TrimEnd('/')).Where(Directory.Exists).Distinct().ToList();
    }

    /// <summary>
    /// Writes (once per original file) a copy of <paramref name="original"/> with <see cref="RelaxableVersions"/>
    /// marked weak, into the Keras.Rnn cache folder, atomically; returns its path.
    /// </summary>
    internal static string PreparePatchedCopy(string original)
    {
        var bytes = File.ReadAllBytes(original);
        var hash = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        int changed = ElfVersionPatcher.MarkWeak(bytes, RelaxableVersions);
        if (changed == 0)
            throw new KerasNativeLibraryException(
                $"{original} could not be loaded and has no {string.Join(", ", RelaxableVersions)} requirement to relax.\n{InstallHint}");

        foreach (var root in CacheRoots())
        {
            try
            {
                var folder = Path.Combine(root, "native", hash);
                Directory.CreateDirectory(folder);
                var target = Path.Combine(folder, "libLibTorchSharp.so");
                if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes))
                    return target;
                var temp = Path.Combine(folder, $".libLibTorchSharp.so.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
                File.WriteAllBytes(temp, bytes);
                File.Move(temp, target, overwrite: true);
                return target;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Try the next cache root.
            }
        }
        throw new KerasNativeLibraryException(
            "No writable cache folder for the patched libLibTorchSharp.so; set KERAS_RNN_CACHE to a writable folder.");
    }

    private static IEnumerable<string> CacheRoots()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("KERAS_RNN_CACHE");
        if (!string.IsNullOrWhiteSpace(explicitRoot)) yield return explicitRoot;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) yield return Path.Combine(xdg, "keras-rnn");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrWhiteSpace(home)) yield return Path.Combine(home, ".cache", "keras-rnn");
        yield return Path.Combine(Path.GetTempPath(), $"keras-rnn-{Environment.UserName}");
    }
}
