using Nnk.Bench.Speedup;

namespace Nnk.Tests.Bench;

/// <summary>The speedup harness reads the TorchSharp tool's markdown table for its native/peer column.</summary>
public sealed class PeerTableTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"nnk-peers-{Guid.NewGuid():N}.md");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Read_TorchSharpOutput_GivesEachRowsMedian()
    {
        File.WriteAllText(_path, """
            # TorchSharp 0.107.0.0 threads=1
            | shape | pass | threads | median ms |
            |---|---|---|---|
            | conv_3l | forward | 1 | 11.1234 |
            | conv_3l | backward | 1 | 30.5 |
            | train_3l | step | 2 | 19.25 |
            """);

        PeerTable table = PeerTable.Read(_path);

        Assert.Equal(3, table.Count);
        Assert.Equal(11.1234, table.Milliseconds("conv_3l", "forward", 1));
        Assert.Equal(19.25, table.Milliseconds("train_3l", "step", 2));
        Assert.Null(table.Milliseconds("conv_3l", "forward", 2));
    }

    [Fact]
    public void Read_DuplicateRow_ThrowsNamingTheLine()
    {
        File.WriteAllText(_path, "| pool_3l | forward | 1 | 1.0 |\n| pool_3l | forward | 1 | 2.0 |\n");

        var ex = Assert.Throws<InvalidDataException>(() => PeerTable.Read(_path));

        Assert.Contains($"{_path}:2", ex.Message);
    }

    [Fact]
    public void Read_NoRows_Throws()
    {
        File.WriteAllText(_path, "nothing here\n");

        Assert.Throws<InvalidDataException>(() => PeerTable.Read(_path));
    }

    [Fact]
    public void Read_MissingFile_SaysHowToProduceIt()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => PeerTable.Read(_path));

        Assert.Contains("torchsharp/run.sh", ex.Message);
    }

    [Fact]
    public void SpeedupOptions_Peers_IsParsed()
    {
        SpeedupOptions options = SpeedupOptions.Parse(["--peers", "t.md", "--shape", "conv_3l"], ["conv_3l"]);

        Assert.Equal("t.md", options.PeersPath);
        Assert.False(options.SmallPages);
    }

    [Fact]
    public void SpeedupOptions_SmallPages_IsParsed()
    {
        SpeedupOptions options = SpeedupOptions.Parse(["--small-pages", "--native-only"], ["conv_3l"]);

        Assert.True(options.SmallPages);
        Assert.True(options.NativeOnly);
    }
}
