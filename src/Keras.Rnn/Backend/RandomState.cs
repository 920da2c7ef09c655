namespace Keras.Rnn.Backend;

/// <summary>The managed random source for shuffling and sampling, seeded by <see cref="KerasApi.SetRandomSeed"/>.</summary>
internal static class RandomState
{
    private static Random _random = new();
    private static readonly object Gate = new();

    public static void Seed(int seed)
    {
        lock (Gate) _random = new Random(seed);
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public static long[] Permutation(long n)
    {
        var p = new long[n];
        for (long i = 0; i < n; i++) p[i] = i;
        lock (Gate)
        {
            for (long i = n - 1; i > 0; i--)
            {
                long j = _random.NextInt64(i + 1);
                (p[i], p[j]) = (p[j], p[i]);
            }
        }
        return p;
    }

    public static double NextDouble()
    {
        lock (Gate) return _random.NextDouble();
    }
}
