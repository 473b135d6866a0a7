using Nnk.Bench.Speedup;

namespace Nnk.Tests.Bench;

/// <summary>The speedup harness reads the limits tool's output for its % of ceiling column.</summary>
public sealed class LimitsTableTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"nnk-limits-{Guid.NewGuid():N}.md");

    public void Dispose() => File.Delete(_path);

    // The tool's output shape: sections per BLAS and thread count, then the STREAM rows.
    private const string Output = """
        ## /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 threads=1
        | square | 1024 x 1024 x 1024 | 112.0 |
        | conv_3l batch | 32 x 51200 x 147 | 45.0 |
        | conv_3l image | 32 x 1024 x 147 | 78.0 |
        | conv_wide batch | 64 x 32768 x 576 | 85.1 |
        ## /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 threads=2
        | conv_3l batch | 32 x 51200 x 147 | 107.8 |
        | conv_3l image | 32 x 1024 x 147 | 99.5 |
        ## /usr/lib/x86_64-linux-gnu/libmkl_rt.so threads=1
        | conv_3l image | 32 x 1024 x 147 | 500.0 |
        | 64 MiB x3 | 1 threads | copy 11.1 GB/s | triad 12.5 GB/s |
        | 64 MiB x3 | 2 threads | copy 20.2 GB/s | triad 23.6 GB/s |
        | 1 MiB x3 | 1 threads | copy 36.4 GB/s | triad 33.6 GB/s |
        """;

    [Fact]
    public void Read_ToolOutput_GivesFirstBlasRatesAndDramCopy()
    {
        File.WriteAllText(_path, Output);

        LimitsTable table = LimitsTable.Read(_path);

        Assert.Equal("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0", table.Blas);
        Assert.Equal(78.0, table.Sgemm("conv_3l image", 1));
        Assert.Equal(99.5, table.Sgemm("conv_3l image", 2));
        Assert.Equal(11.1, table.StreamCopy(1));
        Assert.Equal(20.2, table.StreamCopy(2));
        Assert.Null(table.Sgemm("conv_wide image", 2));
    }

    [Fact]
    public void Ceiling_ConvIsTheBetterGemmShape_PoolAndNormAreCopy_OthersNone()
    {
        File.WriteAllText(_path, Output);
        LimitsTable table = LimitsTable.Read(_path);

        Assert.Equal(78.0, table.Ceiling("conv_3l", "GFLOP/s", 1));
        Assert.Equal(107.8, table.Ceiling("conv_3l", "GFLOP/s", 2));
        Assert.Equal(85.1, table.Ceiling("conv_wide", "GFLOP/s", 1));
        Assert.Null(table.Ceiling("conv_mnist1", "GFLOP/s", 1));
        Assert.Equal(20.2, table.Ceiling("pool_3l", "GB/s", 2));
        Assert.Null(table.Ceiling("train_3l", "steps/s", 1));
    }

    [Fact]
    public void PercentOfCeiling_IsRateOverCeiling()
    {
        var row = new SpeedupRow("conv_3l", "forward", 1, "openblas", null, null, 10, null, null, 58.5, "GFLOP/s", null, CeilingRate: 78.0);
        Assert.Equal(75.0, row.PercentOfCeiling!.Value, 1e-9);
    }

    [Fact]
    public void Read_NoRates_ThrowsSayingWhatItWants()
    {
        File.WriteAllText(_path, "| 64 MiB x3 | 1 threads | copy 11.1 GB/s | triad 12.5 GB/s |\n");

        var ex = Assert.Throws<InvalidDataException>(() => LimitsTable.Read(_path));

        Assert.Contains("sgemm", ex.Message);
    }

    [Fact]
    public void Read_MissingFile_ThrowsNamingTheTool() =>
        Assert.Contains("limits/run.sh", Assert.Throws<FileNotFoundException>(() => LimitsTable.Read(_path)).Message);
}
