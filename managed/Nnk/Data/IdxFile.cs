using System.Buffers.Binary;
using System.IO.Compression;

namespace Nnk;

/// <summary>
/// Reads and writes IDX files, the format of MNIST and Fashion-MNIST: two zero bytes, a type code,
/// the number of dimensions, each dimension as a big-endian int32, then the values in row-major
/// order. Only unsigned-byte data (type code 0x08) with 1 to 4 dimensions is supported. A file may
/// be raw or gzip-compressed; gzip is recognised by its magic bytes (1f 8b), not by the file name.
/// </summary>
public static class IdxFile
{
    /// <summary>The type code of unsigned-byte data, the only one supported.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>The most dimensions a file may have.</summary>
    public const int MaxDimensions = 4;

    private const int MagicLength = 4;
    private const int DimensionLength = 4;

    /// <summary>
    /// Reads a whole IDX file, raw or gzip, checking its header and that the file holds exactly the
    /// bytes the header calls for.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The dimensions and the data, which the result owns.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The first two bytes are not zero, the type code is not
    /// 0x08, the dimension count is outside 1..4, a dimension is less than 1, the data would not fit in
    /// one array, the file is shorter or longer than its header says, or the gzip data is corrupt; the
    /// message names the file and gives the expected and the actual value.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The IDX file '{path}' does not exist.", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        if (!IsGzip(file))
            return ReadIdx(file, path, file.Length, "has");
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        return ReadIdx(gzip, path, knownLength: null, "decompresses to");
    }

    /// <summary>
    /// Writes unsigned-byte data as an IDX file, replacing any file at <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="dims">1 to 4 dimensions, outermost first, each at least 1.</param>
    /// <param name="data">The values in row-major order: the product of <paramref name="dims"/> bytes.</param>
    /// <param name="gzip">True to gzip-compress the file (as the MNIST downloads are), false for a raw file.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, there are not 1 to 4
    /// dimensions, a dimension is less than 1, or the data length is not their product.</exception>
    public static void Write(string path, ReadOnlySpan<int> dims, ReadOnlySpan<byte> data, bool gzip)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (dims.Length is < 1 or > MaxDimensions)
            throw new ArgumentException(
                $"An IDX file has 1 to {MaxDimensions} dimensions, but {dims.Length} were given.", nameof(dims));
        var shape = new TensorShape(dims);
        if (data.Length != shape.ElementCount)
            throw new ArgumentException(
                $"The dimensions {shape} call for {shape.ElementCount} bytes but {data.Length} were given.", nameof(data));

        Span<byte> header = stackalloc byte[MagicLength + DimensionLength * MaxDimensions];
        header[..4].Clear();
        header[2] = UnsignedByteType;
        header[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++)
            BinaryPrimitives.WriteInt32BigEndian(header.Slice(MagicLength + DimensionLength * d), dims[d]);

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        using Stream target = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        target.Write(header[..(MagicLength + DimensionLength * dims.Length)]);
        target.Write(data);
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        file.Position = 0;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    // knownLength is the raw file's length, checked before the data is read; for gzip it is null and
    // the decompressed length is counted instead. "holds" words the messages for either case.
    private static IdxArray ReadIdx(Stream source, string path, long? knownLength, string holds)
    {
        Span<byte> header = stackalloc byte[MagicLength + DimensionLength * MaxDimensions];
        int got = ReadBlock(source, header[..MagicLength], path);
        if (got < MagicLength)
            throw new InvalidDataException(
                $"'{path}' {holds} {got} bytes, too few for an IDX header, which needs at least {MagicLength + DimensionLength}.");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException(
                $"'{path}' is not an IDX file: its first two bytes must be 0x00 0x00 but are 0x{header[0]:X2} 0x{header[1]:X2}.");
        if (header[2] != UnsignedByteType)
            throw new InvalidDataException(
                $"'{path}' holds IDX type 0x{header[2]:X2} ({TypeName(header[2])}); only type 0x{UnsignedByteType:X2} " +
                "(unsigned byte) is supported.");
        int rank = header[3];
        if (rank is < 1 or > MaxDimensions)
            throw new InvalidDataException(
                $"'{path}' declares {rank} dimensions; an IDX file must have 1 to {MaxDimensions}.");

        int headerLength = MagicLength + DimensionLength * rank;
        got = MagicLength + ReadBlock(source, header[MagicLength..headerLength], path);
        if (got < headerLength)
            throw new InvalidDataException(
                $"'{path}' {holds} {got} bytes but its header alone, with {rank} dimensions, needs {headerLength}.");
        var dims = new int[rank];
        for (int d = 0; d < rank; d++)
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(header.Slice(MagicLength + DimensionLength * d));
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            if (dims[d] < 1)
                throw new InvalidDataException(
                    $"'{path}' declares dimension {d} as {dims[d]} (dimensions {TensorShape.Format(dims)}); " +
                    "every dimension must be at least 1.");
            count *= dims[d];
            if (count > Array.MaxLength)
                throw new InvalidDataException(
                    $"'{path}' declares dimensions {TensorShape.Format(dims)}, whose product exceeds {Array.MaxLength} " +
                    "bytes, the most one array can hold.");
        }

        long expected = headerLength + count;
        if (knownLength is long length && length != expected)
            throw LengthMismatch(path, holds, length, dims, headerLength, count);
        var data = new byte[count];
        got = ReadBlock(source, data, path);
        if (got < data.Length)
            throw LengthMismatch(path, holds, headerLength + got, dims, headerLength, count);
        long trailing = CountRemaining(source, path);
        if (trailing > 0)
            throw LengthMismatch(path, holds, expected + trailing, dims, headerLength, count);
        return new IdxArray(new TensorShape(dims), data);
    }

    private static InvalidDataException LengthMismatch(
        string path, string holds, long actual, int[] dims, int headerLength, long count)
    {
        long expected = headerLength + count;
        string problem = actual < expected
            ? $"it is truncated by {expected - actual} bytes"
            : $"it has {actual - expected} trailing bytes";
        return new InvalidDataException(
            $"'{path}' {holds} {actual} bytes but its header (dimensions {TensorShape.Format(dims)}) calls for " +
            $"{expected}: {headerLength} header bytes and {count} data bytes; {problem}.");
    }

    // Reads until the block is full or the stream ends; a corrupt gzip stream's own exception does not
    // say which file it was reading, so it is rethrown with the path.
    private static int ReadBlock(Stream source, Span<byte> block, string path)
    {
        try
        {
            return source.ReadAtLeast(block, block.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not valid gzip data: {e.Message}", e);
        }
    }

    private static long CountRemaining(Stream source, string path)
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int got;
        while ((got = ReadBlock(source, scratch, path)) > 0)
            total += got;
        return total;
    }

    private static string TypeName(byte code) => code switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type code",
    };
}
