using System.Text.RegularExpressions;
using Xunit;

namespace Keras.Rnn.Tests;

/// <summary>The README's C# snippets are the code that examples/ReadmeExamples compiles and runs.</summary>
public class ReadmeTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Keras.Rnn.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }

    private static string Normalize(string code) =>
        string.Join("\n", code.Replace("\r", "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [Fact]
    public void EveryReadmeSnippetIsCompiledByTheReadmeExamplesProject()
    {
        var root = RepoRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var program = File.ReadAllText(Path.Combine(root, "examples", "ReadmeExamples", "Program.cs"));
        var regions = Regex.Matches(program, @"// README: (?<name>[a-z-]+)\n(?<code>.*?)// README: end", RegexOptions.Singleline)
            .Select(m => Normalize(m.Groups["code"].Value)).ToList();
        var blocks = Regex.Matches(readme, @"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)
            .Select(m => Normalize(m.Groups["code"].Value)).ToList();
        Assert.Equal(6, blocks.Count);
        Assert.Equal(blocks.Count, regions.Count);
        foreach (var block in blocks) Assert.Contains(block, regions);
    }
}
