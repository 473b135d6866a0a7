using System.IO.Compression;
using Nnk;

namespace Nnk.Tests.Data;

/// <summary>
/// IDX files: round trips raw and gzip, the byte layout the format fixes (big-endian dimensions),
/// gzip detection by content, and every malformed file rejected with a message naming the file and
/// the expected and actual value.
/// </summary>
public class IdxFileTests
{
    public static TheoryData<bool> RawAndGzip => new() { false, true };

    [Theory]
    [InlineData(false, new[] { 7 })]
    [InlineData(false, new[] { 3, 28, 28 })]
    [InlineData(true, new[] { 3, 28, 28 })]
    [InlineData(true, new[] { 2, 3, 4, 5 })]
    public void Read_WrittenFile_RoundTripsDimensionsAndData(bool gzip, int[] dims)
    {
        using var dir = new TempDirectory();
        string path = dir.File("array.idx");
        byte[] data = SyntheticData.Pixels(1, dims.Aggregate(1, (p, d) => p * d), seed: 11);

        IdxFile.Write(path, dims, data, gzip);
        IdxArray read = IdxFile.Read(path);

        Assert.Equal(dims, read.Dimensions);
        Assert.Equal(data, read.Data.ToArray());
    }

    [Fact]
    public void Write_Raw_ProducesZeroMagicTypeRankBigEndianDimensionsThenData()
    {
        using var dir = new TempDirectory();
        string path = dir.File("array.idx");

        IdxFile.Write(path, [2, 300], Enumerable.Range(0, 600).Select(i => (byte)i).ToArray(), gzip: false);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0x01, 0x2C }, bytes[..12]);
        Assert.Equal(12 + 600, bytes.Length);
        Assert.Equal((byte)255, bytes[12 + 255]);
    }

    [Fact]
    public void Read_GzipIsRecognisedByMagicBytes_NotByFileName()
    {
        using var dir = new TempDirectory();
        string gzipWithoutSuffix = dir.File("images");
        string rawWithGzSuffix = dir.File("images.gz");
        IdxFile.Write(gzipWithoutSuffix, [4], [1, 2, 3, 4], gzip: true);
        IdxFile.Write(rawWithGzSuffix, [4], [5, 6, 7, 8], gzip: false);

        Assert.Equal(new byte[] { 0x1f, 0x8b }, File.ReadAllBytes(gzipWithoutSuffix)[..2]);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, IdxFile.Read(gzipWithoutSuffix).Data.ToArray());
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, IdxFile.Read(rawWithGzSuffix).Data.ToArray());
    }

    [Theory]
    [MemberData(nameof(RawAndGzip))]
    public void Read_BadMagic_ThrowsNamingFileAndBytes(bool gzip)
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0x01, 0x00, 0x08, 1, 0, 0, 0, 1, 42], gzip);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("must be 0x00 0x00 but are 0x01 0x00", e.Message);
    }

    [Fact]
    public void Read_TypeCodeNotUnsignedByte_ThrowsNamingFileAndBothCodes()
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("type 0x0D (float32)", e.Message);
        Assert.Contains("only type 0x08", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Read_DimensionCountOutside1To4_ThrowsNamingFile(byte rank)
    {
        using var dir = new TempDirectory();
        byte[] bytes = new byte[4 + 4 * rank + 1];
        bytes[2] = 0x08;
        bytes[3] = rank;
        string path = WriteBytes(dir, bytes, gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains($"declares {rank} dimensions; an IDX file must have 1 to 4", e.Message);
    }

    [Fact]
    public void Read_ZeroDimension_ThrowsNamingFileAndDimension()
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x08, 2, 0, 0, 0, 3, 0, 0, 0, 0], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("dimension 1 as 0 (dimensions (3, 0))", e.Message);
    }

    [Fact]
    public void Read_DimensionsWhoseProductOverflowsAnArray_ThrowsNamingFile()
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x08, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("(65536, 65536, 2147483647), whose product exceeds", e.Message);
    }

    [Theory]
    [MemberData(nameof(RawAndGzip))]
    public void Read_TruncatedData_ThrowsNamingFileExpectedAndActualLength(bool gzip)
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 5, .. new byte[7]], gzip);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("19 bytes but its header (dimensions (2, 5)) calls for 22", e.Message);
        Assert.Contains("truncated by 3 bytes", e.Message);
    }

    [Theory]
    [MemberData(nameof(RawAndGzip))]
    public void Read_TrailingBytes_ThrowsNamingFileExpectedAndActualLength(bool gzip)
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x08, 1, 0, 0, 0, 4, .. new byte[6]], gzip);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("14 bytes but its header (dimensions (4,)) calls for 12", e.Message);
        Assert.Contains("2 trailing bytes", e.Message);
    }

    [Fact]
    public void Read_FileEndingInsideHeader_ThrowsNamingFile()
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("has 10 bytes but its header alone, with 3 dimensions, needs 16", e.Message);
    }

    [Fact]
    public void Read_CorruptGzip_ThrowsNamingFile()
    {
        using var dir = new TempDirectory();
        string path = WriteBytes(dir, [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xde, 0xad, 0xbe, 0xef], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFoundNamingIt()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "absent-idx3-ubyte");

        var e = Assert.Throws<FileNotFoundException>(() => IdxFile.Read(path));

        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Write_BadDimensionsOrDataLength_ThrowsArgumentException()
    {
        using var dir = new TempDirectory();
        string path = dir.File("array.idx");

        var length = Assert.Throws<ArgumentException>(() => IdxFile.Write(path, [2, 3], new byte[5], gzip: false));
        Assert.Contains("(2, 3) call for 6 bytes but 5 were given", length.Message);
        Assert.Throws<ArgumentException>(() => IdxFile.Write(path, [], [], gzip: false));
        Assert.Throws<ArgumentException>(() => IdxFile.Write(path, [1, 1, 1, 1, 1], new byte[1], gzip: false));
        Assert.Throws<ArgumentException>(() => IdxFile.Write(path, [2, 0], [], gzip: false));
    }

    private static string WriteBytes(TempDirectory dir, byte[] bytes, bool gzip)
    {
        string path = dir.File(gzip ? "crafted.gz" : "crafted");
        using var file = File.Create(path);
        using Stream target = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        target.Write(bytes);
        return path;
    }
}
