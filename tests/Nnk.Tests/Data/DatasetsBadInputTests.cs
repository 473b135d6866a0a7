using Nnk;

namespace Nnk.Tests.Data;

/// <summary>
/// <see cref="Datasets"/> and <see cref="DataSplitOptions"/> on bad input: missing files and
/// directories, files that do not form a dataset, and more rows requested than the files hold,
/// each with a message naming the files and the numbers.
/// </summary>
public class DatasetsBadInputTests
{
    private static DataSplitOptions SmallSplits() => new() { NumTraining = 50, NumValidation = 10, NumTest = 20 };

    [Fact]
    public void LoadMnist_MissingFile_ThrowsFileNotFoundListingNamesTriedAndDirectory()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        File.Delete(Path.Combine(dir.Path, "t10k-labels-idx1-ubyte"));

        var e = Assert.Throws<FileNotFoundException>(() => Datasets.LoadMnist<float>(dir.Path, SmallSplits()));

        Assert.Contains($"'{dir.Path}'", e.Message);
        Assert.Contains("tried t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz", e.Message);
        Assert.Equal(Path.Combine(dir.Path, "t10k-labels-idx1-ubyte"), e.FileName);
    }

    [Fact]
    public void LoadCifar10_MissingBatch_ThrowsFileNotFoundListingBothPlacesTried()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteCifar10(dir.Path, perBatch: 2, test: 2);
        File.Delete(Path.Combine(dir.Path, "data_batch_3.bin"));

        var e = Assert.Throws<FileNotFoundException>(() => Datasets.LoadCifar10<float>(dir.Path));

        Assert.Contains($"'{dir.Path}'", e.Message);
        Assert.Contains($"tried data_batch_3.bin, {Path.Combine("cifar-10-batches-bin", "data_batch_3.bin")}", e.Message);
    }

    [Fact]
    public void Load_MissingDirectory_ThrowsDirectoryNotFoundNamingIt()
    {
        using var dir = new TempDirectory();
        string missing = Path.Combine(dir.Path, "no-such-dir");

        var e = Assert.Throws<DirectoryNotFoundException>(() => Datasets.Load<float>(DatasetKind.FashionMnist, missing));

        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void LoadMnist_ImageAndLabelCountsDiffer_ThrowsNamingBothFiles()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        string labels = Path.Combine(dir.Path, "train-labels-idx1-ubyte");
        IdxFile.Write(labels, [59], SyntheticData.Labels(59, seed: 9), gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => Datasets.LoadMnist<float>(dir.Path, SmallSplits()));

        Assert.Contains(Path.Combine(dir.Path, "train-images-idx3-ubyte"), e.Message);
        Assert.Contains(labels, e.Message);
        Assert.Contains("holds 60 images", e.Message);
        Assert.Contains("holds 59 labels", e.Message);
    }

    [Fact]
    public void LoadMnist_LabelOutOfRange_ThrowsNamingBothFilesAndTheLabel()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20, gzip: true);
        byte[] bad = SyntheticData.Labels(20, seed: 4);
        bad[7] = 10;
        string labels = Path.Combine(dir.Path, "t10k-labels-idx1-ubyte.gz");
        IdxFile.Write(labels, [20], bad, gzip: true);

        var e = Assert.Throws<InvalidDataException>(() => Datasets.LoadMnist<float>(dir.Path, SmallSplits()));

        Assert.Contains(labels, e.Message);
        Assert.Contains(Path.Combine(dir.Path, "t10k-images-idx3-ubyte.gz"), e.Message);
        Assert.Contains("image 7", e.Message);
        Assert.Contains("label 10", e.Message);
    }

    [Theory]
    [InlineData(new[] { 60, 28, 27 })]
    [InlineData(new[] { 60, 784 })]
    [InlineData(new[] { 60, 1, 28, 28 })]
    public void LoadMnist_ImagesNot28By28Rank3_ThrowsNamingFileAndDimensions(int[] dims)
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        string images = Path.Combine(dir.Path, "train-images-idx3-ubyte");
        IdxFile.Write(images, dims, new byte[dims.Aggregate(1, (p, d) => p * d)], gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => Datasets.LoadMnist<float>(dir.Path, SmallSplits()));

        Assert.Contains(images, e.Message);
        Assert.Contains($"dimensions ({string.Join(", ", dims)})", e.Message);
        Assert.Contains("(N, 28, 28)", e.Message);
    }

    [Fact]
    public void LoadMnist_MalformedIdxFile_PropagatesErrorNamingIt()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        string images = Path.Combine(dir.Path, "t10k-images-idx3-ubyte");
        byte[] bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..^1]);

        var e = Assert.Throws<InvalidDataException>(() => Datasets.LoadMnist<float>(dir.Path, SmallSplits()));

        Assert.Contains(images, e.Message);
        Assert.Contains("truncated by 1 bytes", e.Message);
    }

    [Fact]
    public void LoadMnist_MoreTrainingAndValidationRowsThanTheFilesHold_ThrowsArgumentExceptionWithCounts()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        var options = new DataSplitOptions { NumTraining = 51, NumValidation = 10, NumTest = 20 };

        var e = Assert.Throws<ArgumentException>(() => Datasets.LoadMnist<float>(dir.Path, options));

        Assert.Contains("51 training + 10 validation rows = 61", e.Message);
        Assert.Contains("holds only 60", e.Message);
    }

    [Fact]
    public void LoadMnist_MoreTestRowsThanTheFilesHold_ThrowsArgumentExceptionWithCounts()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);
        var options = new DataSplitOptions { NumTraining = 50, NumValidation = 10, NumTest = 21 };

        var e = Assert.Throws<ArgumentException>(() => Datasets.LoadMnist<float>(dir.Path, options));

        Assert.Contains("21 test rows", e.Message);
        Assert.Contains("holds only 20", e.Message);
    }

    [Fact]
    public void LoadMnist_DefaultSplitsOnASmallSet_ThrowsArgumentExceptionNamingTheDefaults()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, 60, 20);

        var e = Assert.Throws<ArgumentException>(() => Datasets.LoadMnist<float>(dir.Path));

        Assert.Contains("59000 training + 1000 validation rows = 60000", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void DataSplitOptions_RowCountBelowOne_Throws(int value)
    {
        var options = new DataSplitOptions();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => options.NumTraining = value);
        Assert.Contains($"NumTraining must be at least 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.NumValidation = value);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.NumTest = value);
        options.NumTest = null;
        Assert.Null(options.NumTest);
    }

    [Fact]
    public void Load_UndefinedDatasetKind_ThrowsArgumentOutOfRange()
    {
        using var dir = new TempDirectory();

        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Load<float>((DatasetKind)7, dir.Path));
    }
}
