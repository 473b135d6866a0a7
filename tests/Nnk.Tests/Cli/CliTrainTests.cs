using System.Text.Json;
using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary><c>nnk train</c> end to end, in-process, on a tiny generated MNIST-format dataset.</summary>
public class CliTrainTests
{
    private static readonly string[] SmallSplits = ["--num-train", "250", "--num-val", "50", "--num-test", "50"];

    [Fact]
    public void Train_MnistBnCnn_WritesJsonWithMetricsHistoriesAndFilters()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "out", "run.json");

        CliResult result = CliRunner.Run(["train", "--model", "mnist-bn-cnn", "--data", temp.Path, .. SmallSplits,
            "--epochs", "2", "--batch-size", "25", "--print-every", "5", "--seed", "3", "--json", json]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = document.RootElement;
        Assert.Equal("train", root.GetProperty("kind").GetString());
        Assert.Equal("mnist-bn-cnn", root.GetProperty("model").GetString());
        Assert.Equal("mnist", root.GetProperty("dataset").GetString());
        Assert.Equal("native", root.GetProperty("backend").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("blas").GetString()));
        Assert.Equal("float32", root.GetProperty("dtype").GetString());
        Assert.Equal(3, root.GetProperty("seed").GetInt32());
        Assert.True(root.GetProperty("threads").GetInt32() >= 1);
        Assert.Equal(2, root.GetProperty("epochs").GetInt32());
        Assert.Equal(20, root.GetProperty("iterations").GetInt32());      // 2 epochs x 250 / 25
        Assert.Equal(50, root.GetProperty("num_test").GetInt32());
        foreach (string name in new[] { "test_acc", "val_acc", "train_acc" })
        {
            double acc = root.GetProperty(name).GetDouble();
            Assert.InRange(acc, 0.0, 1.0);
        }
        Assert.True(root.GetProperty("seconds_per_epoch").GetDouble() > 0);
        Assert.True(root.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Equal(2, root.GetProperty("epoch_seconds").GetArrayLength());
        Assert.False(root.GetProperty("cancelled").GetBoolean());

        JsonElement history = root.GetProperty("history");
        Assert.Equal(20, history.GetProperty("loss").GetArrayLength());
        Assert.Equal(3, history.GetProperty("train_acc").GetArrayLength());  // after iteration 1 and each epoch end
        Assert.Equal(3, history.GetProperty("val_acc").GetArrayLength());
        JsonElement filters = root.GetProperty("filters");
        Assert.Equal([20, 1, 3, 3], filters.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(180, filters.GetProperty("values").GetArrayLength());
    }

    [Fact]
    public void Train_PrintsTheSeedsLogLinesThenTestAccuracyAndTimePerEpoch()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "2", "--batch-size", "25", "--print-every", "5"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"\(Iteration 1 / 20\) loss: \d+\.\d{6}", result.Output);
        Assert.Matches(@"\(Iteration 6 / 20\) loss: \d+\.\d{6}", result.Output);
        Assert.Matches(@"\(Epoch 2 / 2\) train acc: \d\.\d{6}; val_acc: \d\.\d{6}", result.Output);
        Assert.Matches(@"Test accuracy: \d\.\d{4} \(50 images\)", result.Output);
        Assert.Matches(@"Time: 2 epochs, 20 iterations in \d+\.\d s; \d+\.\d s per epoch", result.Output);
    }

    [Fact]
    public void Train_FcNetOnBarPatterns_LearnsThemAboveNinetyPercentTestAccuracy()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "5", "--batch-size", "25", "--quiet", "--json", json]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        double testAcc = document.RootElement.GetProperty("test_acc").GetDouble();
        Assert.True(testAcc > 0.9, $"test accuracy {testAcc} should exceed 0.9 on bars one class apart");
        Assert.DoesNotContain("(Iteration", result.Output);
    }

    [Fact]
    public void Train_TestEachEpoch_LogsAndRecordsOneTestAccuracyPerEpoch()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "3", "--test-each-epoch", "--json", json]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"\(Epoch 3 / 3\) test acc: \d\.\d{6}", result.Output);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement testAcc = document.RootElement.GetProperty("history").GetProperty("test_acc");
        Assert.Equal(3, testAcc.GetArrayLength());
        Assert.All(testAcc.EnumerateArray(), a => Assert.InRange(a.GetDouble(), 0.0, 1.0));
    }

    [Fact]
    public void Train_WithoutTestEachEpoch_WritesNullTestHistory()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "1", "--quiet", "--json", json]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("history").GetProperty("test_acc").ValueKind);
    }

    [Fact]
    public void Train_WithPlots_WritesTrainingAndFilterPngs()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string plots = Path.Combine(temp.Path, "plots");

        CliResult result = CliRunner.Run(["train", "--model", "three-layer-convnet", "--data", temp.Path, .. SmallSplits,
            "--epochs", "1", "--batch-size", "25", "--hidden-dims", "20", "--quiet", "--plots", plots]);

        Assert.True(result.ExitCode == 0, result.ToString());
        (int width, int height) = Png.AssertValid(Path.Combine(plots, "training.png"), minimumBytes: 10_000);
        Assert.Equal((1000, 800), (width, height));
        Png.AssertValid(Path.Combine(plots, "filters.png"), minimumBytes: 500);
    }

    [Fact]
    public void Train_ManagedBackendFloat64_ReportsManagedWithoutBlas()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "1", "--backend", "managed", "--dtype", "float64", "--hidden-dims", "30", "--quiet", "--json", json]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("managed", document.RootElement.GetProperty("backend").GetString());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("blas").ValueKind);
        Assert.Equal("float64", document.RootElement.GetProperty("dtype").GetString());
    }

    [Fact]
    public void Train_DataInNpmPackageLayout_IsFoundUnderPackageData()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(Path.Combine(temp.Path, "package", "data"));

        CliResult result = CliRunner.Run(["train", "--model", "fc-net", "--data", temp.Path, .. SmallSplits,
            "--epochs", "1", "--quiet"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(Path.Combine(temp.Path, "package", "data"), result.Output);
    }

    [Fact]
    public void Train_CancelledBeforeTheFirstIteration_Returns130AndSaysWhatWasDone()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");

        CliResult result = CliRunner.Run(new CancellationToken(canceled: true), ["train", "--model", "fc-net", "--data", temp.Path,
            .. SmallSplits, "--json", json]);

        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Contains("Cancelled after iteration 0 / 50 (0 of 10 epochs done)", result.Output);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.True(document.RootElement.GetProperty("cancelled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("test_acc").ValueKind);
    }

    [Fact]
    public void Train_MissingDataDirectory_Returns1AndNamesIt()
    {
        string missing = Path.Combine(Path.GetTempPath(), "nnk-no-such-dir-" + Guid.NewGuid().ToString("N"));

        CliResult result = CliRunner.Run("train", "--model", "fc-net", "--data", missing);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(missing, result.Error);
    }

    [Fact]
    public void Train_DirectoryWithoutIdxFiles_Returns1AndListsTheDirectoriesTried()
    {
        using var temp = new TempDirectory();

        CliResult result = CliRunner.Run("train", "--model", "fc-net", "--data", temp.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("train-images-idx3-ubyte", result.Error);
        Assert.Contains(Path.Combine(temp.Path, "package", "data"), result.Error);
    }

    [Fact]
    public void Train_MoreRowsThanTheFilesHold_Returns1WithBothCounts()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);

        CliResult result = CliRunner.Run("train", "--model", "fc-net", "--data", temp.Path, "--quiet");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("300", result.Error);
    }
}
