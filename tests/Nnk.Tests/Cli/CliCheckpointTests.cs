using System.Text.Json;
using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary><c>nnk train --checkpoint DIR</c> and <c>--resume FILE|DIR</c>: a resumed run repeats an uninterrupted one exactly.</summary>
public class CliCheckpointTests
{
    private static readonly string[] Small = ["--num-train", "250", "--num-val", "50", "--num-test", "50", "--batch-size", "25", "--quiet"];

    [Fact]
    public void Resume_FromEpochCheckpoint_ContinuesToTheSameLossesAsAnUninterruptedRun()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string checkpoints = Path.Combine(temp.Path, "ck");
        CliResult first = CliRunner.Run(["train", "--model", "mnist-bn-cnn", "--data", temp.Path, .. Small, "--epochs", "1",
            "--checkpoint", checkpoints]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(File.Exists(Path.Combine(checkpoints, "mnist-bn-cnn_epoch_1.safetensors")));

        string resumedJson = Path.Combine(temp.Path, "resumed.json");
        CliResult resumed = CliRunner.Run("train", "--resume", checkpoints, "--data", temp.Path, "--epochs", "2", "--json", resumedJson);
        string wholeJson = Path.Combine(temp.Path, "whole.json");
        CliResult whole = CliRunner.Run(["train", "--model", "mnist-bn-cnn", "--data", temp.Path, .. Small, "--epochs", "2",
            "--json", wholeJson]);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.True(whole.ExitCode == 0, whole.ToString());
        Assert.Contains("Resumed from", resumed.Output);
        using JsonDocument a = JsonDocument.Parse(File.ReadAllText(resumedJson));
        using JsonDocument b = JsonDocument.Parse(File.ReadAllText(wholeJson));
        Assert.Equal(20, a.RootElement.GetProperty("iterations").GetInt32());
        Assert.Equal(2, a.RootElement.GetProperty("epochs").GetInt32());
        Assert.EndsWith("mnist-bn-cnn_epoch_1.safetensors", a.RootElement.GetProperty("resumed_from").GetString());
        Assert.Equal(Losses(b), Losses(a));
        Assert.Equal(b.RootElement.GetProperty("test_acc").GetDouble(), a.RootElement.GetProperty("test_acc").GetDouble());
    }

    [Fact]
    public void Cancelled_WithCheckpoint_SavesTheIterationAndSaysHowToResume()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string checkpoints = Path.Combine(temp.Path, "ck");

        CliResult result = CliRunner.Run(new CancellationToken(canceled: true),
            ["train", "--model", "fc-net", "--data", temp.Path, .. Small, "--checkpoint", checkpoints]);

        Assert.True(result.ExitCode == 130, result.ToString());
        string saved = Path.Combine(checkpoints, "fc-net_iteration_0.safetensors");
        Assert.True(File.Exists(saved));
        Assert.Contains($"nnk train --resume {saved}", result.Output);

        CliResult resumed = CliRunner.Run("train", "--resume", saved, "--data", temp.Path, "--epochs", "1");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("Resumed from", resumed.Output);
        Assert.Contains("Test accuracy:", resumed.Output);
    }

    [Fact]
    public void Plot_FromCheckpoint_WritesTrainingAndFilterPngs()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string checkpoints = Path.Combine(temp.Path, "ck");
        CliResult train = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. Small, "--epochs", "1",
            "--hidden-dims", "9", "--checkpoint", checkpoints]);
        Assert.True(train.ExitCode == 0, train.ToString());
        string figures = Path.Combine(temp.Path, "figures");

        CliResult result = CliRunner.Run("plot", "--from", Path.Combine(checkpoints, "fc-net_epoch_1.safetensors"), "--out", figures);

        Assert.True(result.ExitCode == 0, result.ToString());
        Png.AssertValid(Path.Combine(figures, "training.png"), minimumBytes: 10_000);
        // fc-net's W1 (784, 9) drawn as nine 28x28 images: the stored settings give the input shape.
        Png.AssertValid(Path.Combine(figures, "filters.png"), minimumBytes: 500);
    }

    [Fact]
    public void Resume_MissingFile_Returns1AndNamesIt()
    {
        CliResult result = CliRunner.Run("train", "--resume", "/nonexistent/run.safetensors", "--data", ".");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("--resume: the checkpoint '/nonexistent/run.safetensors' does not exist", result.Error);
    }

    [Fact]
    public void Resume_DirectoryWithoutCheckpoints_Returns1()
    {
        using var temp = new TempDirectory();

        CliResult result = CliRunner.Run("train", "--resume", temp.Path, "--data", temp.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("holds no *_epoch_N.safetensors checkpoint", result.Error);
    }

    private static double[] Losses(JsonDocument report) =>
        report.RootElement.GetProperty("history").GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
