using Keras.Rnn.Text;
using Xunit;

namespace Keras.Rnn.Tests.Text;

/// <summary>Reading tab-separated corpora (the repository's data/ files) and source-grouped deterministic splits.</summary>
public class ParallelCorpusTests
{
    private static string DataFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Keras.Rnn.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var path = Path.Combine(dir!.FullName, "data", relative);
        Assert.True(File.Exists(path), $"{path} is missing: the corpora must be committed under data/.");
        return path;
    }

    private static readonly Lazy<ParallelCorpus> French = new(() => ParallelCorpus.ReadTsv(DataFile("tatoeba-fra-eng/fra.txt")));

    [Fact]
    public void ReadsTheFrenchCorpus()
    {
        var corpus = French.Value;
        // data/tatoeba-fra-eng/ATTRIBUTION.md: 73,725 pairs, 47,696 distinct English sentences (49,196 less 1,500 set aside).
        Assert.Equal(73725, corpus.Count);
        Assert.Equal(47696, corpus.DistinctSourceCount);
        Assert.Equal(new SentencePair("Go.", "Va !"), corpus[0]);
        Assert.Equal(new SentencePair("Run!", "Cours\u202F!"), corpus[1]); // French typography: U+202F before "!", kept as read
        Assert.All(corpus, p => Assert.Null(p.Attribution));
        Assert.Equal(100, ParallelCorpus.ReadTsv(DataFile("tatoeba-fra-eng/fra.txt"), maxPairs: 100).Count);
    }

    [Fact]
    public void ReadsTheSerbianCorpusWithItsAttributionColumn()
    {
        var corpus = ParallelCorpus.ReadTsv(DataFile("tatoeba-srp-eng/srp.txt"));
        Assert.Equal(23923, corpus.Count);
        Assert.Equal("Go.", corpus[0].Source);
        Assert.Equal("Иди.", corpus[0].Target);
        Assert.StartsWith("CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)", corpus[0].Attribution);
        Assert.All(corpus, p => Assert.NotNull(p.Attribution));
    }

    [Fact]
    public void SplitKeepsEveryEnglishSentencesTranslationsTogetherAndIsDeterministic()
    {
        var corpus = French.Value;
        var split = corpus.Split(validationFraction: 0.1, testFraction: 0.1, seed: 7);
        Assert.Equal(corpus.Count, split.Train.Count + split.Validation.Count + split.Test.Count);

        var train = split.Train.Select(p => p.Source).ToHashSet(StringComparer.Ordinal);
        var validation = split.Validation.Select(p => p.Source).ToHashSet(StringComparer.Ordinal);
        var test = split.Test.Select(p => p.Source).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(train.Intersect(test));
        Assert.Empty(train.Intersect(validation));
        Assert.Empty(validation.Intersect(test));
        // round(0.1 × 47,696) = 4,770 sentences each for test and validation.
        Assert.Equal(4770, test.Count);
        Assert.Equal(4770, validation.Count);
        Assert.Equal(47696 - 2 * 4770, train.Count);

        // Each test sentence comes with all the corpus's translations of it.
        var all = corpus.GroupBySource().ToDictionary(g => g.Source, g => g.References, StringComparer.Ordinal);
        var grouped = split.Test.GroupBySource();
        Assert.Equal(test.Count, grouped.Count);
        Assert.All(grouped, g => Assert.Equal(all[g.Source], g.References));
        Assert.Contains(grouped, g => g.References.Count > 1);

        // The same seed gives the same split, another seed another one; pairs keep corpus order within a part.
        var again = ParallelCorpus.ReadTsv(DataFile("tatoeba-fra-eng/fra.txt")).Split(0.1, 0.1, seed: 7);
        Assert.Equal(split.Test, again.Test);
        Assert.Equal(split.Validation, again.Validation);
        var other = corpus.Split(0.1, 0.1, seed: 8);
        Assert.NotEqual(split.Test.Select(p => p.Source), other.Test.Select(p => p.Source));
        var positions = new Dictionary<SentencePair, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < corpus.Count; i++) positions[corpus[i]] = i;
        var testPositions = split.Test.Select(p => positions[p]).ToList();
        Assert.Equal(testPositions.Order(), testPositions);
    }

    [Fact]
    public void SplitsASmallCorpusByHand()
    {
        var corpus = new ParallelCorpus([new("a", "1"), new("b", "2"), new("a", "3"), new("c", "4"), new("b", "5"), new("d", "6")]);
        var split = corpus.Split(validationFraction: 0.25, testFraction: 0.25, seed: 1);
        Assert.Single(split.Test.Select(p => p.Source).Distinct());
        Assert.Single(split.Validation.Select(p => p.Source).Distinct());
        Assert.Equal(2, split.Train.Select(p => p.Source).Distinct().Count());
        foreach (var part in new[] { split.Train, split.Validation, split.Test })
            foreach (var s in part.Select(p => p.Source).Distinct())
                Assert.Equal(corpus.Count(p => p.Source == s), part.Count(p => p.Source == s));
        Assert.Equal(new[] { new SourceReferences("a", ["1", "3"]).References }, corpus.GroupBySource().Where(g => g.Source == "a").Select(g => g.References));
        var swapped = corpus.Swap();
        Assert.Equal(new SentencePair("1", "a"), swapped[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Split(0.5, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Split(-0.1, 0.1));
    }

    [Fact]
    public void MalformedLinesNameTheirLine()
    {
        var ok = ParallelCorpus.ReadTsv(new StringReader("Hi.\tSalut.\r\n\r\nGo.\tVa !\tCC-BY x\n"), sourceName: "mem");
        Assert.Equal(2, ok.Count);
        Assert.Equal("CC-BY x", ok[1].Attribution);
        var oneColumn = Assert.Throws<FormatException>(() => ParallelCorpus.ReadTsv(new StringReader("Hi.\tSalut.\nno tab here\n"), sourceName: "mem"));
        Assert.Contains("mem, line 2", oneColumn.Message);
        var emptyTarget = Assert.Throws<FormatException>(() => ParallelCorpus.ReadTsv(new StringReader("Hi.\t \n"), sourceName: "mem"));
        Assert.Contains("target text is empty", emptyTarget.Message);
        Assert.Throws<FormatException>(() => ParallelCorpus.ReadTsv(new StringReader("a\tb\tc\td\n")));
        Assert.Throws<FileNotFoundException>(() => ParallelCorpus.ReadTsv("/no/such/corpus.txt"));
    }
}
