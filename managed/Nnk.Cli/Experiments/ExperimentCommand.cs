using System.CommandLine;
using System.Globalization;
using Nnk.Cli.Options;

namespace Nnk.Cli.Experiments;

/// <summary><c>nnk experiment</c>: the seeds' experiments, one subcommand each.</summary>
internal static class ExperimentCommand
{
    /// <summary>Creates the command and its subcommands.</summary>
    public static Command Create(CliConsole console, CancellationToken cancellationToken) =>
        new("experiment", "Run one of the seed notebooks' experiments")
        {
            WeightScale(console, cancellationToken),
        };

    private static Command WeightScale(CliConsole console, CancellationToken cancellationToken)
    {
        var data = new DataOptions("[default: mnist]");
        var numTrain = OptionFactory.Integer("--num-train", $"Training rows, the first of the training file [default: {WeightScaleSettings.SeedNumTrain}]", 1);
        var numVal = OptionFactory.Integer("--num-val", $"Validation rows, right after the training rows [default: {WeightScaleSettings.SeedNumVal}]", 1);
        var epochs = OptionFactory.Integer("--epochs", $"Epochs per run [default: {WeightScaleSettings.SeedEpochs}]", 1);
        var batchSize = OptionFactory.Integer("--batch-size", $"Inputs per minibatch [default: {WeightScaleSettings.SeedBatchSize}]", 1);
        var updateRule = OptionFactory.Name("--update-rule", $"Update rule [default: {WeightScaleSettings.SeedUpdateRule}]", UpdateRules.Names);
        var lr = OptionFactory.Number("--lr", $"Learning rate [default: {WeightScaleSettings.SeedLearningRate.ToString(CultureInfo.InvariantCulture)}]", 0, minimumExcluded: true);
        var numScales = OptionFactory.Integer("--num-scales", $"Weight scales, log-spaced from 1e-4 to 1 [default: {WeightScaleSettings.SeedNumScales}]", 1);
        var hiddenDims = OptionFactory.IntegerList("--hidden-dims", "Hidden layer sizes of both networks [default: 50,50,50,50,50,50,50]");
        var runtime = new RuntimeOptions();
        var output = new OutputOptions(
            "Write the settings and every scale's numbers as JSON (nnk plot --from FILE redraws the figure)",
            "Directory for weight-scale.png, the three-panel figure [default: the current directory]");

        var command = new Command("weight-scale",
            "Batch norm vs baseline across weight initialisation scales (the batch-normalization notebook): 8-layer " +
            "fully connected nets trained with and without batch norm at each scale; prints a table and draws the figure");
        data.AddTo(command);
        foreach (Option option in new Option[] { numTrain, numVal, epochs, batchSize, updateRule, lr, numScales, hiddenDims })
            command.Options.Add(option);
        runtime.AddTo(command);
        output.AddTo(command);

        command.SetAction(result =>
        {
            DatasetKind dataset = data.Dataset(result, DatasetKind.Mnist);
            var settings = new WeightScaleSettings
            {
                Dataset = dataset,
                DataDirectory = data.Directory(result, dataset),
                NumTrain = result.GetValue(numTrain) ?? WeightScaleSettings.SeedNumTrain,
                NumVal = result.GetValue(numVal) ?? WeightScaleSettings.SeedNumVal,
                Epochs = result.GetValue(epochs) ?? WeightScaleSettings.SeedEpochs,
                BatchSize = result.GetValue(batchSize) ?? WeightScaleSettings.SeedBatchSize,
                UpdateRule = result.GetValue(updateRule) ?? WeightScaleSettings.SeedUpdateRule,
                LearningRate = result.GetValue(lr) ?? WeightScaleSettings.SeedLearningRate,
                NumScales = result.GetValue(numScales) ?? WeightScaleSettings.SeedNumScales,
                HiddenDims = OptionFactory.ValueIfGiven(result, hiddenDims) ?? WeightScaleSettings.SeedHiddenDims,
                Runtime = runtime.Read(result),
                PlotsDirectory = output.Plots(result) ?? ".",
                JsonPath = output.Json(result),
                Quiet = output.Quiet(result),
            };
            return WeightScaleExperiment.Execute(settings, console, cancellationToken);
        });
        return command;
    }
}
