using System.Diagnostics;
using Keras.Rnn.Backend;
using Xunit;

namespace Keras.Rnn.Tests.Backend;

/// <summary>Loading libtorch on Debian 12 without manual steps, checked in this process and in fresh ones.</summary>
public class NativeLoadingTests
{
    private static string GluePath() =>
        NativeLibraries.DefaultSearchFolders().Select(d => Path.Combine(d, "libLibTorchSharp.so")).First(File.Exists);

    /// <summary>Whether the system libstdc++ defines GLIBCXX_3.4.32, read independently from its version strings.</summary>
    private static bool SystemHasGlibcxx3432()
    {
        foreach (var candidate in new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" })
            if (File.Exists(candidate))
                return System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(candidate)).Contains("GLIBCXX_3.4.32");
        return true;
    }

    [Fact]
    public void PatchMarksOnlyTheUnusedVersionWeak()
    {
        var bytes = File.ReadAllBytes(GluePath());
        var before = ElfVersionPatcher.ReadVersionNeeds(bytes);
        Assert.Contains(before, v => v.Version == "GLIBCXX_3.4.32" && (v.Flags & 2) == 0);
        Assert.Equal(1, ElfVersionPatcher.MarkWeak(bytes, NativeLibraries.RelaxableVersions));
        var after = ElfVersionPatcher.ReadVersionNeeds(bytes);
        Assert.Equal(before.Count, after.Count);
        for (int i = 0; i < before.Count; i++)
        {
            bool target = before[i].Version == "GLIBCXX_3.4.32";
            Assert.Equal(target ? (ushort)(before[i].Flags | 2) : before[i].Flags, after[i].Flags);
        }
        Assert.Equal(0, ElfVersionPatcher.MarkWeak(bytes, NativeLibraries.RelaxableVersions));
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.ReadVersionNeeds(new byte[128]));
    }

    [Fact]
    public void PatchedCopyIsUsedExactlyWhenTheSystemRuntimeIsTooOldAndNeverInTheNuGetCache()
    {
        KerasConfig.InitializeNativeLibraries();
        if (SystemHasGlibcxx3432())
        {
            Assert.Null(KerasConfig.PatchedNativeLibraryPath);
            return;
        }
        var patched = KerasConfig.PatchedNativeLibraryPath;
        Assert.NotNull(patched);
        Assert.DoesNotContain(".nuget", patched);
        Assert.True(File.Exists(patched));
        var glue = File.ReadAllBytes(GluePath());
        Assert.Contains(ElfVersionPatcher.ReadVersionNeeds(glue), v => v.Version == "GLIBCXX_3.4.32" && (v.Flags & 2) == 0);
    }

    private static string CliPath()
    {
        // tests/Keras.Rnn.Tests/bin/<Configuration>/net10.0 → src/Keras.Rnn.Cli/bin/<Configuration>/net10.0
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var configuration = baseDir.Parent!.Name;
        var repo = baseDir.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(repo, "src", "Keras.Rnn.Cli", "bin", configuration, baseDir.Name, "keras-rnn.dll");
        Assert.True(File.Exists(path), $"The CLI must be built before the tests: {path}");
        return path;
    }

    private static (int Code, string Out, string Err) RunCli(string arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{CliPath()}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "The CLI did not finish within 2 minutes.");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void AFreshProcessLoadsLibtorchWithoutManualSteps()
    {
        var cache = Path.Combine(Path.GetTempPath(), $"keras-rnn-cache-{Guid.NewGuid():N}");
        try
        {
            var (code, stdout, stderr) = RunCli("info", new() { ["KERAS_RNN_CACHE"] = cache });
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains("check: 8", stdout);
            if (!SystemHasGlibcxx3432())
            {
                // One log line, and the patched copy was prepared in the (new, empty) cache folder.
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("GLIBCXX_3.4.32"));
                Assert.Contains(cache, stdout);
                Assert.True(Directory.EnumerateFiles(cache, "libLibTorchSharp.so", SearchOption.AllDirectories).Any());
            }
        }
        finally
        {
            if (Directory.Exists(cache)) Directory.Delete(cache, true);
        }
    }

    [Fact]
    public void AMissingLibtorchGivesAClearMessage()
    {
        var (code, _, stderr) = RunCli("info", new() { ["KERAS_RNN_LIBTORCH"] = "/nonexistent/libtorch" });
        Assert.Equal(1, code);
        Assert.Contains("no libtorch_cpu.so", stderr);
        Assert.Contains("keras-rnn: error:", stderr);
    }
}
