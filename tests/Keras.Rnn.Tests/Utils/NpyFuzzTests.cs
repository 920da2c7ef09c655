using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Keras.Rnn.Utils;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Utils.NpyBytes;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Utils;

/// <summary>
/// Mutates valid <c>.npy</c> files thousands of times — random bytes, header text edits, length fields, truncation —
/// and checks that every read either succeeds with a consistent result or throws <see cref="NpyFormatException"/>.
/// Any other exception (overflow, index, out-of-memory, native error) fails the test with the offending bytes.
/// </summary>
public class NpyFuzzTests
{
    private static readonly string[] Tokens =
    [
        "0", "1", "-1", "7", "99999999999999999999999", "4294967296", "9223372036854775807", "-9223372036854775808",
        "(", ")", "[", "]", "{", "}", ",", ":", "'", "\"", " ", "\n", "\\", "\\x", "\\u12", "L", "_",
        "True", "False", "None", "1.5", "1e3", "0x10", "'<f4'", "'>f8'", "'|b1'", "'|O'", "'<c8'", "'<U3'",
        "'descr'", "'shape'", "'fortran_order'", "(2, 2)", "(0,)", "()", "(1000000000, 1000000000)", "\u00e9", "\u20ac", "#",
    ];

    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        void Add(Tensor t)
        {
            using (t)
            {
                var s = new MemoryStream();
                Npy.Write(s, t);
                seeds.Add(s.ToArray());
            }
        }
        Add(torch.arange(12, dtype: ScalarType.Float32).reshape(3, 4));
        Add(torch.tensor(2.5, dtype: ScalarType.Float64));
        Add(torch.tensor(new[] { true, false, true }));
        Add(torch.arange(24, dtype: ScalarType.Int64).reshape(2, 3, 4));
        Add(torch.arange(6, dtype: ScalarType.Int32).reshape(1, 2, 3, 1));
        Add(torch.zeros(new long[] { 2, 0 }, ScalarType.Byte));
        seeds.Add(Simple(">f4", "(2, 2)", BigF32(1, 2, 3, 4)));
        seeds.Add(Simple("<f8", "(2, 3)", F64(1, 2, 3, 4, 5, 6), fortranOrder: "True"));
        seeds.Add(Assemble(Padded("{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }", lengthBytes: 4), I64(1, 2), major: 2));
        seeds.Add(Assemble(Padded("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", lengthBytes: 4), I32(1, 2, 3), major: 3));
        return seeds;
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var bytes = (byte[])seed.Clone();
        int headerEnd = Math.Min(bytes.Length, 128);
        switch (rng.Next(8))
        {
            case 7: // a random shape tuple of awkward dimensions
                return ReplaceShape(bytes, rng);
            case 0: // flip a few bits, mostly in the header
                for (int k = rng.Next(1, 5); k > 0; k--)
                {
                    int at = rng.Next(4) == 0 ? rng.Next(bytes.Length) : rng.Next(headerEnd);
                    bytes[at] ^= (byte)(1 << rng.Next(8));
                }
                return bytes;
            case 1: // random byte values
                for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
                return bytes;
            case 2: // truncate anywhere
                return bytes[..rng.Next(bytes.Length)];
            case 3: // a random header length field
                if (bytes.Length >= 12)
                {
                    if (bytes[6] == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)rng.Next(65536));
                    else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)rng.NextInt64(uint.MaxValue + 1L));
                }
                return bytes;
            case 4: // append or drop data
                return rng.Next(2) == 0
                    ? bytes.Concat(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (byte)rng.Next(256))).ToArray()
                    : bytes[..Math.Max(0, bytes.Length - rng.Next(1, 16))];
            default: // edit the header text: replace a span by tokens, keeping the length field consistent or not
                return EditHeader(bytes, rng);
        }
    }

    private static readonly string[] Dimensions =
        ["0", "1", "2", "3", "4", "-1", "-4", "2147483647", "2147483648", "4294967296", "4611686018427387904",
         "9223372036854775807", "1000000000000", "99999999999999999999"];

    private static byte[] ReplaceShape(byte[] bytes, Random rng)
    {
        if (bytes.Length < 12 || bytes[6] != 1) return bytes;
        int length = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        if (10 + length > bytes.Length) return bytes;
        var text = Encoding.Latin1.GetString(bytes, 10, length);
        int open = text.IndexOf("'shape': (", StringComparison.Ordinal);
        int close = open < 0 ? -1 : text.IndexOf(')', open);
        if (close < 0) return bytes;
        var dims = Enumerable.Range(0, rng.Next(0, 5)).Select(_ => Dimensions[rng.Next(Dimensions.Length)]).ToList();
        var tuple = dims.Count == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
        text = text[..(open + 9)] + tuple + text[(close + 1)..];
        return Assemble(text, bytes[(10 + length)..]);
    }

    private static byte[] EditHeader(byte[] bytes, Random rng)
    {
        if (bytes.Length < 12) return bytes;
        int major = bytes[6];
        int lengthBytes = major == 1 ? 2 : 4;
        int start = 8 + lengthBytes;
        int length = lengthBytes == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)), 100_000);
        if (start + length > bytes.Length) return bytes;
        var encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        var text = encoding.GetString(bytes, start, length);
        var data = bytes[(start + length)..];
        for (int edits = rng.Next(1, 4); edits > 0; edits--)
        {
            int at = rng.Next(text.Length + 1);
            int remove = Math.Min(rng.Next(0, 6), text.Length - at);
            text = text.Remove(at, remove).Insert(at, Tokens[rng.Next(Tokens.Length)]);
        }
        var header = encoding.GetBytes(text);
        var result = new List<byte>(bytes[..8]);
        int declared = rng.Next(5) == 0 ? header.Length + rng.Next(-3, 4) : header.Length;
        var field = new byte[lengthBytes];
        if (lengthBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)Math.Clamp(declared, 0, 65535));
        else BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)Math.Max(0, declared));
        result.AddRange(field);
        result.AddRange(header);
        result.AddRange(data);
        return result.ToArray();
    }

    /// <summary>
    /// One read (0: tensor from a seekable stream, 1: .NET array, 2: tensor from a non-seekable stream). Returns a
    /// problem, or null when the read succeeded consistently (<paramref name="read"/> true) or failed cleanly.
    /// </summary>
    private static string? Check(byte[] bytes, int mode, out bool read)
    {
        read = false;
        try
        {
            switch (mode)
            {
                case 0:
                {
                    var stream = new MemoryStream(bytes);
                    using var t = Npy.Read(stream);
                    long bytesUsed = t.NumberOfElements * t.ElementSize;
                    if (stream.Position > bytes.Length || bytesUsed > bytes.Length)
                        return $"a read claims {bytesUsed} data bytes from a {bytes.Length}-byte file";
                    if (t.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Byte or ScalarType.Bool))
                        return $"unexpected dtype {t.dtype}";
                    break;
                }
                case 1:
                {
                    var a = Npy.ReadArray(new MemoryStream(bytes));
                    if (a.Length > bytes.Length) return $"an array of {a.Length} elements from a {bytes.Length}-byte file";
                    break;
                }
                default:
                {
                    using var t = Npy.Read(new NonSeekableStream(new MemoryStream(bytes)));
                    if (t.NumberOfElements * t.ElementSize > bytes.Length) return "a non-seekable read claims more data than exists";
                    break;
                }
            }
            read = true;
            return null;
        }
        catch (NpyFormatException e)
        {
            return string.IsNullOrWhiteSpace(e.Message) || !e.Message.StartsWith("Cannot read", StringComparison.Ordinal)
                ? $"an NpyFormatException without a proper message: '{e.Message}'"
                : null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    [Fact]
    public void Mutated_files_give_valid_reads_or_clean_exceptions()
    {
        var rng = new Random(20240611);
        var seeds = Seeds();
        foreach (var seed in seeds) Assert.Null(Check(seed, 0, out _)); // the seeds themselves read (the Fortran one fails cleanly)

        var watch = Stopwatch.StartNew();
        int successes = 0, failures = 0;
        const int iterations = 4000;
        for (int i = 0; i < iterations; i++)
        {
            var bytes = Mutate(seeds[i % seeds.Count], rng);
            if (rng.Next(4) == 0) bytes = Mutate(bytes, rng); // some double mutations
            var outcomes = new bool[3];
            for (int mode = 0; mode < 3; mode++)
            {
                var problem = Check(bytes, mode, out outcomes[mode]);
                if (problem != null)
                    Assert.Fail($"iteration {i} (mode {mode}): {problem}\nbytes: {Convert.ToHexString(bytes)}");
            }
            // Seekable and non-seekable streams accept exactly the same files.
            if (outcomes[0] != outcomes[2])
                Assert.Fail($"iteration {i}: seekable read {outcomes[0]}, non-seekable read {outcomes[2]}\nbytes: {Convert.ToHexString(bytes)}");
            if (outcomes[0]) successes++;
            else failures++;
        }
        watch.Stop();
        // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
        Assert.True(successes > iterations / 50, $"only {successes} mutated files read successfully");
        Assert.True(failures > iterations / 4, $"only {failures} mutated files were rejected");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"fuzzing took {watch.Elapsed}");
    }

    [Fact]
    public void Every_truncation_of_a_valid_file_is_rejected_cleanly()
    {
        foreach (var seed in Seeds())
        {
            for (int n = 0; n < seed.Length; n++)
            {
                var cut = seed[..n];
                // Only an empty array survives losing no data; anything shorter than the header fails.
                var e = Record.Exception(() => { using var t = Npy.Read(new MemoryStream(cut)); });
                if (e == null)
                {
                    using var h = Npy.Read(new MemoryStream(seed));
                    Assert.True(h.NumberOfElements == 0, $"a {n}-byte truncation of a {seed.Length}-byte file was read");
                }
                else Assert.IsType<NpyFormatException>(e);
            }
        }
    }
}
