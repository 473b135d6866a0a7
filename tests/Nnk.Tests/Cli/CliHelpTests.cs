namespace Nnk.Tests.Cli;

/// <summary>Every command answers <c>--help</c> with its usage and options on stdout and exit code 0.</summary>
public class CliHelpTests
{
    [Theory]
    [InlineData(new[] { "--help" }, "nnk [command] [options]", new[] { "train", "experiment", "plot" })]
    [InlineData(new[] { "train", "--help" }, "nnk train [options]",
        new[] { "--model", "--data", "--dataset", "--epochs", "--batch-size", "--update-rule", "--lr", "--lr-decay", "--reg",
                "--threads", "--backend", "--blas", "--seed", "--plots", "--json", "--num-train", "--dtype", "--quiet",
                "--checkpoint", "--resume", "--test-each-epoch" })]
    [InlineData(new[] { "experiment", "--help" }, "nnk experiment [command] [options]", new[] { "weight-scale" })]
    [InlineData(new[] { "experiment", "weight-scale", "--help" }, "nnk experiment weight-scale [options]",
        new[] { "--data", "--dataset", "--num-scales", "--plots", "--json", "--epochs" })]
    [InlineData(new[] { "plot", "--help" }, "nnk plot [options]", new[] { "--from", "--out" })]
    public void Help_PrintsUsageAndOptions_ExitCode0(string[] args, string usage, string[] mentions)
    {
        CliResult result = CliRunner.Run(args);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(usage, result.Output);
        foreach (string mention in mentions)
            Assert.Contains(mention, result.Output);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public void TrainHelp_ShowsEachModelsDefaults()
    {
        CliResult result = CliRunner.Run("train", "--help");

        Assert.Contains("mnist-bn-cnn 2, three-layer-convnet 1, fc-net 10", result.Output);
        Assert.Contains("mnist-bn-cnn|three-layer-convnet|fc-net", result.Output);
    }
}
