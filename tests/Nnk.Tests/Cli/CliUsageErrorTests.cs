namespace Nnk.Tests.Cli;

/// <summary>A wrong command line gives exit code 2, a message naming what was wrong, and the usage, on stderr.</summary>
public class CliUsageErrorTests
{
    [Theory]
    [InlineData(new[] { "trian" }, "trian")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--bogus" }, "--bogus")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--epochs", "0" }, "--epochs must be at least 1; it was 0")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--epochs", "two" }, "--epochs expects a whole number; it was 'two'")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--lr", "fast" }, "--lr expects a finite number")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--lr", "-1" }, "--lr must lie in (0, inf); it was -1")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--lr-decay", "1.5" }, "--lr-decay must lie in (0, 1]; it was 1.5")]
    [InlineData(new[] { "train", "--model", "resnet", "--data", "." }, "--model must be one of mnist-bn-cnn, three-layer-convnet, fc-net; it was 'resnet'")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--backend", "gpu" }, "--backend must be one of native, managed; it was 'gpu'")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--update-rule", "lbfgs" }, "--update-rule must be one of sgd, sgd_momentum, rmsprop, adam")]
    [InlineData(new[] { "train", "--model", "fc-net", "--data", ".", "--hidden-dims", "100,x" }, "--hidden-dims expects positive whole numbers")]
    [InlineData(new[] { "train", "--data", "." }, "--model")]
    [InlineData(new[] { "experiment" }, "Required command was not provided")]
    [InlineData(new[] { "experiment", "weight-scale", "--num-scales", "0" }, "--num-scales must be at least 1")]
    [InlineData(new[] { "plot", "--out", "." }, "--from")]
    public void BadCommandLine_Returns2AndNamesTheProblem(string[] args, string message)
    {
        CliResult result = CliRunner.Run(args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Error);
        Assert.Contains("Usage:", result.Error);
        Assert.Equal("", result.Output);
    }

    [Theory]
    [InlineData(new[] { "train", "--model", "fc-net" }, "--data DIR is required for mnist")]
    [InlineData(new[] { "train", "--model", "fc-net", "--dataset", "cifar10" }, "--data DIR is required for cifar10")]
    [InlineData(new[] { "train", "--model", "mnist-bn-cnn", "--data", ".", "--hidden-dims", "64" }, "--hidden-dims does not apply to mnist-bn-cnn")]
    [InlineData(new[] { "train", "--model", "three-layer-convnet", "--data", ".", "--hidden-dims", "64,64" }, "takes one size")]
    [InlineData(new[] { "train", "--model", "mnist-bn-cnn", "--dataset", "cifar10", "--data", "." }, "mnist-bn-cnn takes inputs (1, 28, 28)")]
    public void InconsistentOptions_Return2AndExplain(string[] args, string message)
    {
        CliResult result = CliRunner.Run(args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Error);
        Assert.Contains("nnk train [options]", result.Error);
    }
}
