using System.Runtime.InteropServices;
using Keras.Rnn.Cli;

// Short commands (everything but training): libtorch's OpenMP threads should sleep, not spin, while they wait for
// work. Spinning threads compete for the cores with the thread that has the work; on a machine whose cores are busy
// with other processes that made `keras-rnn predict` on a small model about 0.7 s slower (measured: 2.1 s → 1.4 s
// median). OpenMP reads the setting when libtorch loads, so it is set here, before any TorchSharp call, and only when
// the user has not chosen a policy.
if (args.Length > 0 && args[0] != "fit" && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null && OperatingSystem.IsLinux())
    NativeEnvironment.Set("OMP_WAIT_POLICY", "PASSIVE");

return CommandLine.Run(args, Console.Out, Console.Error);

/// <summary>Sets variables in the native process environment (what native libraries read with <c>getenv</c>).</summary>
internal static class NativeEnvironment
{
    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    private static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>Sets <paramref name="name"/> for native code and for .NET (best effort: ignored where libc has no <c>setenv</c>).</summary>
    public static void Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        try
        {
            SetEnv(name, value, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc/musl: the runtime's default applies.
        }
    }
}
