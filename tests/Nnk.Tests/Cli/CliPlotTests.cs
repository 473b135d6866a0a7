using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary><c>nnk plot</c> redraws the figures of the JSON reports.</summary>
public class CliPlotTests
{
    [Fact]
    public void Plot_FromTrainReport_WritesTrainingAndFilterPngs()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");
        CliResult train = CliRunner.Run("train", "--model", "fc-net", "--data", temp.Path, "--num-train", "250", "--num-val", "50",
            "--num-test", "50", "--epochs", "1", "--hidden-dims", "16", "--quiet", "--json", json);
        Assert.True(train.ExitCode == 0, train.ToString());
        string outDirectory = Path.Combine(temp.Path, "figures");

        CliResult result = CliRunner.Run("plot", "--from", json, "--out", outDirectory);

        Assert.True(result.ExitCode == 0, result.ToString());
        Png.AssertValid(Path.Combine(outDirectory, "training.png"), minimumBytes: 10_000);
        // fc-net: one 28x28 image per hidden unit, a 4x4 grid.
        Png.AssertValid(Path.Combine(outDirectory, "filters.png"), minimumBytes: 500);
        Assert.Contains("training.png", result.Output);
    }

    [Fact]
    public void Plot_FileWithoutKind_Returns1AndNamesTheFile()
    {
        using var temp = new TempDirectory();
        string json = temp.File("other.json");
        File.WriteAllText(json, "{\"loss\": [1, 2]}");

        CliResult result = CliRunner.Run("plot", "--from", json, "--out", temp.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(json, result.Error);
        Assert.Contains("\"kind\" is missing", result.Error);
    }

    [Fact]
    public void Plot_NotJson_Returns1AndNamesTheFile()
    {
        using var temp = new TempDirectory();
        string json = temp.File("broken.json");
        File.WriteAllText(json, "not json");

        CliResult result = CliRunner.Run("plot", "--from", json);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"'{json}' is not a valid nnk report", result.Error);
    }

    [Fact]
    public void Plot_MissingFile_Returns1()
    {
        CliResult result = CliRunner.Run("plot", "--from", "/nonexistent/report.json");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("/nonexistent/report.json", result.Error);
    }
}
