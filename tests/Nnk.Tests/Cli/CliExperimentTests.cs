using System.Text.Json;
using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary><c>nnk experiment weight-scale</c> on a tiny dataset with few scales.</summary>
public class CliExperimentTests
{
    [Fact]
    public void WeightScale_TwoScales_PrintsTableWritesFigureAndJson()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string plots = Path.Combine(temp.Path, "plots");
        string json = Path.Combine(temp.Path, "ws.json");

        CliResult result = CliRunner.Run("experiment", "weight-scale", "--data", temp.Path, "--num-train", "200",
            "--num-val", "50", "--epochs", "2", "--num-scales", "2", "--hidden-dims", "20,20,20", "--plots", plots, "--json", json);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Running weight scale 2 / 2", result.Output);
        Assert.Matches(@"1\.000e-04\s+\d\.\d{4}\s+\d\.\d{4}", result.Output);
        Assert.Matches(@"1\.000e\+00\s+\d\.\d{4}\s+\d\.\d{4}", result.Output);
        Png.AssertValid(Path.Combine(plots, "weight-scale.png"), minimumBytes: 10_000);

        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = document.RootElement;
        Assert.Equal("weight-scale", root.GetProperty("kind").GetString());
        Assert.Equal(200, root.GetProperty("num_train").GetInt32());
        JsonElement[] points = root.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal(2, points.Length);
        Assert.Equal(1e-4, points[0].GetProperty("weight_scale").GetDouble(), 1e-12);
        Assert.Equal(1.0, points[1].GetProperty("weight_scale").GetDouble(), 1e-12);
        foreach (JsonElement point in points)
        foreach (string network in new[] { "baseline", "batchnorm" })
        {
            JsonElement outcome = point.GetProperty(network);
            Assert.InRange(outcome.GetProperty("best_val_acc").GetDouble(), 0.0, 1.0);
            Assert.InRange(outcome.GetProperty("best_train_acc").GetDouble(), 0.0, 1.0);
        }
    }
}
