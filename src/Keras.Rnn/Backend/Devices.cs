using System.Text.RegularExpressions;
using TorchSharp;

namespace Keras.Rnn.Backend;

/// <summary>Parses Keras.Rnn device names and turns them into TorchSharp devices.</summary>
internal static partial class Devices
{
    [GeneratedRegex(@"^(cpu|cuda(:\d+)?)$")]
    private static partial Regex DevicePattern();

    /// <summary>Lower-cases and validates a device name: <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>.</summary>
    public static string Normalize(string? value, string argumentName)
    {
        var v = (value ?? "").Trim().ToLowerInvariant();
        if (v == "gpu") v = "cuda";
        if (!DevicePattern().IsMatch(v))
            throw new ArgumentException($"{argumentName}: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"{value}\".", argumentName);
        return v;
    }

    /// <summary>The TorchSharp device for a normalised name, checking that CUDA is usable when asked for.</summary>
    public static torch.Device Resolve(string name)
    {
        NativeLibraries.EnsureLoaded();
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"Device \"{name}\" was requested but CUDA is not available in this process: load a CUDA libtorch " +
                    "(KERAS_RNN_LIBTORCH pointing at a PyTorch torch/lib folder, with its NVIDIA libraries on LD_LIBRARY_PATH) on a machine with a GPU.");
            int index = name.Length > 4 ? int.Parse(name[5..]) : 0;
            int count = torch.cuda.device_count();
            if (index >= count)
                throw new InvalidOperationException($"Device \"{name}\" was requested but only {count} CUDA device(s) exist.");
        }
        return new torch.Device(name);
    }

    /// <summary>
    /// Whether a tensor lives on a device. TorchSharp's <c>Device</c> has no value equality, so compare type and index
    /// (an index of −1 means "the current device of that type").
    /// </summary>
    public static bool IsOn(torch.Tensor tensor, torch.Device device) =>
        tensor.device_type == device.type && (device.index < 0 || tensor.device_index == device.index);

    /// <summary>The tensor itself when it is already on <paramref name="device"/>, else a copy there.</summary>
    public static torch.Tensor To(torch.Tensor tensor, torch.Device device) => IsOn(tensor, device) ? tensor : tensor.to(device);

    /// <summary>The device name of a tensor, in Keras.Rnn's form.</summary>
    public static string NameOf(torch.Tensor t) => t.device.type == DeviceType.CUDA ? $"cuda:{t.device.index}" : "cpu";
}
