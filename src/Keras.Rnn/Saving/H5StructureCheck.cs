using System.Buffers.Binary;
using System.Globalization;

namespace Keras.Rnn.Saving;

/// <summary>
/// A structural pre-check of an HDF5 file before PureHDF reads it. PureHDF resolves soft links recursively without a
/// cycle check — a soft link that leads back to itself overflows the stack, which kills the process — and opens the
/// files that external links name. Keras' files (h5py's "old-style" groups: symbol tables, B-trees, local heaps) and
/// ours (PureHDF's compact link messages) only hold hard links. This walks every group reachable from the root —
/// superblock, object headers (versions 1 and 2, with continuation blocks), link messages, symbol-table B-trees and
/// nodes — and rejects soft, external and user-defined links, dense link storage (never written by h5py's defaults or
/// by us), cycles between header blocks or tree nodes, and addresses outside the file.
/// </summary>
internal sealed class H5StructureCheck
{
    private const int MaxObjects = 1_000_000;
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];

    private readonly Stream _stream;
    private readonly long _length;
    private long _base;
    private int _offsetSize = 8, _lengthSize = 8;
    private readonly HashSet<long> _visited = [];
    private readonly Queue<long> _headers = new();
    private int _objects;

    private H5StructureCheck(Stream stream)
    {
        _stream = stream;
        _length = stream.Length;
    }

    /// <summary>Checks the HDF5 file in <paramref name="stream"/> (seekable; its position is restored).</summary>
    /// <returns><c>null</c> when the structure is safe to read, else why not.</returns>
    public static string? Problem(Stream stream)
    {
        var position = stream.Position;
        try
        {
            return new H5StructureCheck(stream).Run();
        }
        catch (EndOfStreamException)
        {
            return "the file ends inside an HDF5 structure (truncated).";
        }
        finally
        {
            stream.Position = position;
        }
    }

    private sealed class Reject(string reason) : Exception(reason);

    private string? Run()
    {
        try
        {
            var superblock = FindSuperblock();
            if (superblock < 0) return "no HDF5 signature found.";
            _base = superblock;
            _headers.Enqueue(ReadSuperblock(superblock));
            while (_headers.Count > 0)
            {
                var header = _headers.Dequeue();
                if (!IsDefined(header) || !_visited.Add(header)) continue;
                ObjectHeader(header);
            }
            return null;
        }
        catch (Reject r)
        {
            return r.Message;
        }
    }

    // ------------------------------------------------------------------ reading

    private byte[] Bytes(long absolute, int count)
    {
        if (absolute < 0 || count < 0 || absolute > _length - count)
            throw new Reject($"a structure at byte {absolute} (length {count}) lies outside the file ({_length} bytes).");
        var buffer = new byte[count];
        _stream.Position = absolute;
        _stream.ReadExactly(buffer);
        return buffer;
    }

    private static ulong Unsigned(ReadOnlySpan<byte> b, int size) => size switch
    {
        1 => b[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(b),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(b),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(b),
        _ => throw new Reject($"unsupported field size {size}."),
    };

    private bool IsDefined(long address) => address >= 0;

    /// <summary>An address field: relative to the base, -1 when undefined (all bits set).</summary>
    private long Address(ReadOnlySpan<byte> b)
    {
        var raw = Unsigned(b, _offsetSize);
        ulong undefined = _offsetSize == 8 ? ulong.MaxValue : (1UL << (8 * _offsetSize)) - 1;
        if (raw == undefined) return -1;
        if (raw > (ulong)_length) throw new Reject($"address {raw} is beyond the end of the file ({_length} bytes).");
        return _base + (long)raw;
    }

    private void Count()
    {
        if (++_objects > MaxObjects) throw new Reject($"more than {MaxObjects} structures.");
    }

    // ------------------------------------------------------------------ superblock

    private long FindSuperblock()
    {
        for (long at = 0; at + 8 <= _length; at = at == 0 ? 512 : at * 2)
        {
            var head = Bytes(at, 8);
            if (head.AsSpan().SequenceEqual(Signature)) return at;
        }
        return -1;
    }

    /// <summary>The root group's object header address.</summary>
    private long ReadSuperblock(long at)
    {
        var version = Bytes(at + 8, 1)[0];
        switch (version)
        {
            case 0 or 1:
            {
                var b = Bytes(at + 8, 16);
                _offsetSize = b[5];
                _lengthSize = b[6];
                CheckSizes();
                long p = at + 24 + (version == 1 ? 4 : 0);
                // base, free-space, end-of-file, driver info addresses; then the root symbol table entry.
                var fields = Bytes(p, 4 * _offsetSize + 2 * _offsetSize + 24);
                var entry = fields.AsSpan(4 * _offsetSize);
                return Address(entry[_offsetSize..]);
            }
            case 2 or 3:
            {
                var b = Bytes(at + 8, 4);
                _offsetSize = b[1];
                _lengthSize = b[2];
                CheckSizes();
                var fields = Bytes(at + 12, 4 * _offsetSize);
                return Address(fields.AsSpan(3 * _offsetSize));
            }
            default:
                throw new Reject($"unsupported HDF5 superblock version {version}.");
        }
    }

    private void CheckSizes()
    {
        if (_offsetSize is not (2 or 4 or 8) || _lengthSize is not (2 or 4 or 8))
            throw new Reject($"invalid sizes of offsets ({_offsetSize}) or lengths ({_lengthSize}).");
    }

    // ------------------------------------------------------------------ object headers

    private void ObjectHeader(long at)
    {
        Count();
        var head = Bytes(at, 4);
        if (head[0] == 'O' && head[1] == 'H' && head[2] == 'D' && head[3] == 'R')
        {
            var b = Bytes(at + 4, 2);
            if (b[0] != 2) throw new Reject($"object header at {at} has version {b[0]}.");
            byte flags = b[1];
            long p = at + 6;
            if ((flags & 0x20) != 0) p += 16;
            if ((flags & 0x10) != 0) p += 4;
            int sizeBytes = 1 << (flags & 3);
            var chunkSize = (long)Unsigned(Bytes(p, sizeBytes), sizeBytes);
            p += sizeBytes;
            MessagesV2(p, chunkSize, flags, at);
        }
        else
        {
            if (head[0] != 1) throw new Reject($"object header at {at} has version {head[0]}.");
            var b = Bytes(at, 16);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
            MessagesV1(at + 16, size, at);
        }
    }

    private void MessagesV1(long start, long size, long owner)
    {
        if (size > _length) throw new Reject($"object header at {owner} declares {size} bytes of messages.");
        var block = Bytes(start, (int)size);
        int p = 0;
        while (p + 8 <= block.Length)
        {
            int type = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(p));
            int length = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(p + 2));
            p += 8;
            if (p + length > block.Length) throw new Reject($"a message of object header {owner} runs past its block.");
            Message(type, block.AsSpan(p, length), owner, version2: false);
            p += length;
        }
    }

    private void MessagesV2(long start, long size, byte headerFlags, long owner)
    {
        if (size > _length) throw new Reject($"object header at {owner} declares {size} bytes of messages.");
        var block = Bytes(start, (int)size);
        int headerSize = (headerFlags & 0x04) != 0 ? 6 : 4;
        int p = 0;
        while (p + headerSize <= block.Length)
        {
            int type = block[p];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(p + 1));
            p += headerSize;
            if (p + length > block.Length) throw new Reject($"a message of object header {owner} runs past its block.");
            Message(type, block.AsSpan(p, length), owner, version2: true, headerFlags);
            p += length;
        }
    }

    private void Message(int type, ReadOnlySpan<byte> body, long owner, bool version2, byte headerFlags = 0)
    {
        switch (type)
        {
            case 0x02: // link info
                if (body.Length < 2) throw new Reject($"short link info message in object header {owner}.");
                int q = 2 + ((body[1] & 1) != 0 ? 8 : 0);
                if (body.Length < q + _offsetSize) throw new Reject($"short link info message in object header {owner}.");
                if (Address(body[q..]) >= 0)
                    throw new Reject($"the group at {owner} stores its links densely (fractal heap); Keras and h5py's defaults never write that, and it cannot be checked for link cycles.");
                break;
            case 0x06: // link
                Link(body, owner);
                break;
            case 0x10: // continuation
                if (body.Length < _offsetSize + _lengthSize) throw new Reject($"short continuation message in object header {owner}.");
                var at = Address(body);
                var length = (long)Unsigned(body[_offsetSize..], _lengthSize);
                if (at < 0) break;
                if (!_visited.Add(-2 - at)) throw new Reject($"object header {owner} continues into a block already read (a cycle).");
                Count();
                if (version2)
                {
                    var sig = Bytes(at, 4);
                    if (sig[0] != 'O' || sig[1] != 'C' || sig[2] != 'H' || sig[3] != 'K')
                        throw new Reject($"the continuation block at {at} has no OCHK signature.");
                    if (length < 8) throw new Reject($"the continuation block at {at} is too short.");
                    MessagesV2(at + 4, length - 8, headerFlags, owner);
                }
                else
                {
                    MessagesV1(at, length, owner);
                }
                break;
            case 0x11: // symbol table (old-style group)
                if (body.Length < 2 * _offsetSize) throw new Reject($"short symbol table message in object header {owner}.");
                var tree = Address(body);
                if (tree >= 0) GroupTree(tree);
                break;
        }
    }

    private void Link(ReadOnlySpan<byte> body, long owner)
    {
        if (body.Length < 2 || body[0] != 1) throw new Reject($"a link message in object header {owner} has an unknown version.");
        byte flags = body[1];
        int p = 2;
        byte linkType = 0;
        if ((flags & 0x08) != 0) linkType = body[p++];
        if ((flags & 0x04) != 0) p += 8;
        if ((flags & 0x10) != 0) p += 1;
        int sizeBytes = 1 << (flags & 3);
        if (body.Length < p + sizeBytes) throw new Reject($"short link message in object header {owner}.");
        var nameLength = (long)Unsigned(body[p..], sizeBytes);
        p += sizeBytes;
        if (nameLength > body.Length - p) throw new Reject($"a link name in object header {owner} runs past its message.");
        var name = System.Text.Encoding.UTF8.GetString(body.Slice(p, (int)nameLength));
        p += (int)nameLength;
        switch (linkType)
        {
            case 0:
                if (body.Length < p + _offsetSize) throw new Reject($"short hard link '{name}' in object header {owner}.");
                _headers.Enqueue(Address(body[p..]));
                break;
            case 1:
                throw new Reject($"the link '{name}' is a soft link; Keras files only hold hard links (soft links can form cycles).");
            case 64:
                throw new Reject($"the link '{name}' is an external link to another file; Keras files never refer to other files.");
            default:
                throw new Reject($"the link '{name}' has the unknown type {linkType.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    // ------------------------------------------------------------------ old-style groups

    private void GroupTree(long at)
    {
        var pending = new Stack<long>();
        pending.Push(at);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!_visited.Add(-2 - node)) throw new Reject($"the group B-tree node at {node} is reached twice (a cycle).");
            Count();
            int header = 8 + 2 * _offsetSize;
            var b = Bytes(node, header);
            if (b[0] != 'T' || b[1] != 'R' || b[2] != 'E' || b[3] != 'E') throw new Reject($"no TREE signature at {node}.");
            if (b[4] != 0) throw new Reject($"the B-tree node at {node} is not a group node (type {b[4]}).");
            int level = b[5];
            int entries = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6));
            int stride = _lengthSize + _offsetSize;
            var children = Bytes(node + header, entries * stride + _lengthSize);
            for (int i = 0; i < entries; i++)
            {
                var child = Address(children.AsSpan(i * stride + _lengthSize));
                if (child < 0) continue;
                if (level > 0) pending.Push(child);
                else SymbolNode(child);
            }
        }
    }

    private void SymbolNode(long at)
    {
        if (!_visited.Add(-2 - at)) throw new Reject($"the symbol table node at {at} is reached twice (a cycle).");
        Count();
        var b = Bytes(at, 8);
        if (b[0] != 'S' || b[1] != 'N' || b[2] != 'O' || b[3] != 'D') throw new Reject($"no SNOD signature at {at}.");
        int symbols = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6));
        int entrySize = 2 * _offsetSize + 24;
        var entries = Bytes(at + 8, symbols * entrySize);
        for (int i = 0; i < symbols; i++)
        {
            var entry = entries.AsSpan(i * entrySize);
            var cacheType = BinaryPrimitives.ReadUInt32LittleEndian(entry[(2 * _offsetSize)..]);
            if (cacheType == 2)
                throw new Reject($"symbol table node {at} holds a soft link; Keras files only hold hard links (soft links can form cycles).");
            _headers.Enqueue(Address(entry[_offsetSize..]));
        }
    }
}
