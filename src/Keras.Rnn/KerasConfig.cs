using System.Text.RegularExpressions;
using Keras.Rnn.Backend;

namespace Keras.Rnn;

/// <summary>
/// Process-wide settings of Keras.Rnn, the counterpart of <c>keras.config</c>: the default device, where libtorch
/// lives, and where the library's one-line notices go.
/// </summary>
/// <example>
/// <code>
/// KerasConfig.DefaultDevice = "cuda";          // new models place their weights on the first GPU
/// var model = new Sequential(new LSTM(32), new Dense(1));
/// model.Device = "cpu";                         // ...or choose per model
/// </code>
/// </example>
public static partial class KerasConfig
{
    private static string _defaultDevice = "cpu";
    private static string? _libTorchPath;

    /// <summary>
    /// The device on which models place their weights and run unless a model chooses its own
    /// (<see cref="Models.Model.Device"/>): <c>"cpu"</c> (default), <c>"cuda"</c>, or <c>"cuda:N"</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The value is not one of the forms above.</exception>
    public static string DefaultDevice
    {
        get => _defaultDevice;
        set => _defaultDevice = Devices.Normalize(value, nameof(DefaultDevice));
    }

    /// <summary>
    /// A folder holding libtorch's shared libraries to use instead of the application's NuGet package, for instance a
    /// local PyTorch's <c>torch/lib</c> to get CUDA. Must be set before the first use of the library; the
    /// <c>KERAS_RNN_LIBTORCH</c> environment variable does the same without code. Default <c>null</c>: the libtorch
    /// package referenced by the application (e.g. <c>libtorch-cpu-linux-x64</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">libtorch was already loaded.</exception>
    public static string? LibTorchPath
    {
        get => _libTorchPath;
        set
        {
            if (NativeLibraries.LibTorchFolder != null && value != _libTorchPath)
                throw new InvalidOperationException(
                    $"libtorch was already loaded from '{NativeLibraries.LibTorchFolder}'; set KerasConfig.LibTorchPath before the first use of Keras.Rnn, or use the KERAS_RNN_LIBTORCH environment variable.");
            _libTorchPath = value;
        }
    }

    /// <summary>
    /// Where the library's rare one-line notices go (for instance that a patched TorchSharp glue library was loaded).
    /// Default: standard error, prefixed with <c>[Keras.Rnn]</c>. Set to <c>null</c> to silence them.
    /// </summary>
    public static Action<string>? Logger { get; set; } = message => Console.Error.WriteLine("[Keras.Rnn] " + message);

    /// <summary>
    /// Loads libtorch and TorchSharp's native library now. Keras.Rnn does this by itself on first use; call it
    /// explicitly only when your program calls TorchSharp directly before any Keras.Rnn API.
    /// </summary>
    /// <exception cref="KerasNativeLibraryException">The native libraries cannot be loaded; the message says what to install.</exception>
    public static void InitializeNativeLibraries() => NativeLibraries.EnsureLoaded();

    /// <summary>Whether a CUDA device is usable in this process (a CUDA libtorch is loaded and sees a GPU).</summary>
    public static bool IsCudaAvailable
    {
        get
        {
            NativeLibraries.EnsureLoaded();
            return TorchSharp.torch.cuda.is_available();
        }
    }

    /// <summary>The folder libtorch was loaded from, or <c>null</c> before loading (or when TorchSharp chose it itself).</summary>
    public static string? LoadedLibTorchFolder => NativeLibraries.LibTorchFolder;

    /// <summary>The patched copy of TorchSharp's glue library in use, or <c>null</c> when the original loaded as it is.</summary>
    public static string? PatchedNativeLibraryPath => NativeLibraries.PatchedGluePath;

    internal static void Log(string message) => Logger?.Invoke(message);
}
