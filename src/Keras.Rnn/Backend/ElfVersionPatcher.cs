using System.Buffers.Binary;
using System.Text;

namespace Keras.Rnn.Backend;

/// <summary>
/// Marks symbol-version requirements of an ELF64 shared library as weak (<c>VER_FLG_WEAK</c>), so that glibc's
/// loader accepts a C++ runtime that lacks them. Used on pre-GCC-13 systems (Debian 12) for TorchSharp's glue
/// library, whose only <c>GLIBCXX_3.4.32</c> symbol is never relocated.
/// </summary>
internal static class ElfVersionPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Returns the version names required from other libraries (<c>.gnu.version_r</c>), with their flags.</summary>
    public static IReadOnlyList<(string File, string Version, ushort Flags)> ReadVersionNeeds(byte[] image)
    {
        var result = new List<(string, string, ushort)>();
        Walk(image, (file, version, flagsOffset) =>
            result.Add((file, version, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flagsOffset)))));
        return result;
    }

    /// <summary>
    /// Sets <c>vna_flags |= VER_FLG_WEAK</c> on every version requirement whose name is in <paramref name="versions"/>.
    /// Returns how many entries were changed.
    /// </summary>
    public static int MarkWeak(byte[] image, IReadOnlyCollection<string> versions)
    {
        int changed = 0;
        Walk(image, (_, version, flagsOffset) =>
        {
            if (!versions.Contains(version)) return;
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(flagsOffset));
            if ((flags & VerFlgWeak) != 0) return;
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(flagsOffset), (ushort)(flags | VerFlgWeak));
            changed++;
        });
        return changed;
    }

    private static void Walk(byte[] b, Action<string, string, int> visit)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file.");
        if (b[4] != 2 || b[5] != 1)
            throw new InvalidDataException("Only little-endian ELF64 files are supported.");
        var span = b.AsSpan();
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        if (shoff == 0 || shentsize < 64 || (long)shoff + (long)shnum * shentsize > b.Length)
            throw new InvalidDataException("ELF section header table is missing or truncated.");

        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(span[(sh + 4)..]);
            if (type != ShtGnuVerneed) continue;
            int sectionOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(span[(sh + 0x18)..]));
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(sh + 0x28)..]);
            int strSh = checked((int)shoff + link * shentsize);
            int strOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(span[(strSh + 0x18)..]));
            int entries = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(sh + 0x2C)..]); // sh_info: number of Verneed entries

            int vn = sectionOffset;
            for (int e = 0; e < Math.Max(entries, 1); e++)
            {
                int count = BinaryPrimitives.ReadUInt16LittleEndian(span[(vn + 2)..]);
                string file = ReadString(b, strOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(vn + 4)..]));
                int aux = vn + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(vn + 8)..]);
                for (int k = 0; k < count; k++)
                {
                    string name = ReadString(b, strOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]));
                    visit(file, name, aux + 4);
                    uint nextAux = BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(vn + 12)..]);
                if (next == 0) break;
                vn += (int)next;
            }
        }
    }

    private static string ReadString(byte[] b, int offset)
    {
        int end = offset;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, offset, end - offset);
    }
}
