using Nnk;

namespace Nnk.Tests.Data;

/// <summary>
/// CIFAR-10 binary batches: the record layout (label byte, then 3x32x32 CHW), round trips, and
/// malformed files rejected with a message naming the file.
/// </summary>
public class Cifar10FileTests
{
    [Fact]
    public void Read_WrittenBatch_RoundTripsLabelsAndImages()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data_batch_1.bin");
        byte[] labels = [3, 0, 9];
        byte[] images = SyntheticData.Pixels(3, Cifar10File.ImageBytes, seed: 21);

        Cifar10File.Write(path, labels, images);
        Cifar10Batch batch = Cifar10File.Read(path);

        Assert.Equal(3, batch.Count);
        Assert.Equal(labels, batch.Labels.ToArray());
        Assert.Equal(images, batch.Images.ToArray());
    }

    [Fact]
    public void Write_ProducesOneLabelByteThenTheImageForEachRecord()
    {
        using var dir = new TempDirectory();
        string path = dir.File("test_batch.bin");
        byte[] images = SyntheticData.Pixels(2, Cifar10File.ImageBytes, seed: 22);

        Cifar10File.Write(path, [7, 4], images);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(2 * 3073, bytes.Length);
        Assert.Equal(7, bytes[0]);
        Assert.Equal(images[..3072], bytes[1..3073]);
        Assert.Equal(4, bytes[3073]);
        Assert.Equal(images[3072..], bytes[3074..]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3072)]
    [InlineData(3074)]
    public void Read_LengthNotANonZeroMultipleOfRecordSize_ThrowsNamingFileAndLength(int length)
    {
        using var dir = new TempDirectory();
        string path = dir.File("data_batch_1.bin");
        File.WriteAllBytes(path, new byte[length]);

        var e = Assert.Throws<InvalidDataException>(() => Cifar10File.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains($"has {length} bytes", e.Message);
        Assert.Contains("3073-byte records", e.Message);
    }

    [Fact]
    public void Read_LabelAbove9_ThrowsNamingFileRecordAndLabel()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data_batch_2.bin");
        var bytes = new byte[3 * 3073];
        bytes[3073] = 10;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => Cifar10File.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("record 1 (byte offset 3073) has label 10", e.Message);
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFoundNamingIt()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "data_batch_9.bin");

        var e = Assert.Throws<FileNotFoundException>(() => Cifar10File.Read(path));

        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Write_BadRecords_ThrowsArgumentException()
    {
        using var dir = new TempDirectory();
        string path = dir.File("batch.bin");

        Assert.Throws<ArgumentException>(() => Cifar10File.Write(path, [], []));
        var length = Assert.Throws<ArgumentException>(() => Cifar10File.Write(path, [1, 2], new byte[3072]));
        Assert.Contains("2 labels need 6144 image bytes", length.Message);
        var label = Assert.Throws<ArgumentException>(() => Cifar10File.Write(path, [1, 12], new byte[6144]));
        Assert.Contains("Label 1 is 12", label.Message);
    }
}
