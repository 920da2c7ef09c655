using System.Reflection;
using Keras.Rnn;
using TorchSharp;

namespace Keras.Rnn.Cli;

/// <summary>The <c>keras-rnn</c> commands. Every command has <c>--help</c>; errors print one line and exit non-zero.</summary>
public static class CommandLine
{
    private const string Usage = """
        Usage: keras-rnn <command> [options]

        Commands:
          info      Show the Keras.Rnn version, the libtorch in use and the devices available.

        Run 'keras-rnn <command> --help' for a command's options.
        """;

    /// <summary>Runs a command line; returns the process exit code.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Normal output.</param>
    /// <param name="stderr">Error output.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "info" => Info(args[1..], stdout),
                "--version" => Version(stdout),
                _ => Fail(stderr, $"unknown command '{args[0]}'. Run 'keras-rnn --help' for the list of commands."),
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or KerasNativeLibraryException)
        {
            return Fail(stderr, e.Message.Split('\n')[0]);
        }
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine("keras-rnn: error: " + message);
        return 1;
    }

    private static int Version(TextWriter stdout)
    {
        stdout.WriteLine(typeof(KerasApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
        return 0;
    }

    private static int Info(string[] args, TextWriter stdout)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            stdout.WriteLine("Usage: keras-rnn info\n\nShows the Keras.Rnn version, where libtorch was loaded from, whether a patched TorchSharp glue library was needed, and the devices.");
            return 0;
        }
        if (args.Length > 0) throw new ArgumentException($"info takes no arguments, got '{args[0]}'.");
        KerasConfig.InitializeNativeLibraries();
        stdout.WriteLine($"Keras.Rnn {typeof(KerasApi).Assembly.GetName().Version}");
        stdout.WriteLine($"libtorch folder: {KerasConfig.LoadedLibTorchFolder ?? "(chosen by TorchSharp)"}");
        stdout.WriteLine($"patched TorchSharp glue: {KerasConfig.PatchedNativeLibraryPath ?? "not needed"}");
        stdout.WriteLine($"threads: {torch.get_num_threads()}");
        stdout.WriteLine($"cuda: {(torch.cuda.is_available() ? $"available, {torch.cuda.device_count()} device(s)" : "not available")}");
        using var check = torch.ones(2, 2).matmul(torch.ones(2, 2));
        stdout.WriteLine($"check: {check.sum().item<float>()}");
        return 0;
    }
}
