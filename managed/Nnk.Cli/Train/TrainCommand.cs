using System.CommandLine;
using System.Globalization;
using Nnk.Cli.Data;
using Nnk.Cli.Options;

namespace Nnk.Cli.Train;

/// <summary><c>nnk train</c>: trains one model on one dataset and reports its test accuracy and speed.</summary>
internal static class TrainCommand
{
    /// <summary>Creates the command; its action writes to <paramref name="console"/> and stops on <paramref name="cancellationToken"/>.</summary>
    public static Command Create(CliConsole console, CancellationToken cancellationToken)
    {
        Option<ModelKind?> model = OptionFactory.Choice("--model", "Model to train (required unless --resume names a checkpoint of nnk train)",
            Choices.Models);
        var data = new DataOptions("[default: mnist]");
        var numTrain = OptionFactory.Integer("--num-train", "Training rows [default: 59000 for MNIST-format data, 49000 for cifar10]", 1);
        var numVal = OptionFactory.Integer("--num-val", "Validation rows, taken right after the training rows [default: 1000]", 1);
        var numTest = OptionFactory.Integer("--num-test", "Test rows [default: 10000 for MNIST-format data, 1000 for cifar10]", 1);
        var epochs = OptionFactory.Integer("--epochs", "Passes over the training set " + Defaults(p => p.Epochs.ToString(CultureInfo.InvariantCulture)), 1);
        var batchSize = OptionFactory.Integer("--batch-size", "Inputs per minibatch " + Defaults(p => p.BatchSize.ToString(CultureInfo.InvariantCulture)), 1);
        var updateRule = OptionFactory.Name("--update-rule", "Update rule " + Defaults(p => p.UpdateRule), UpdateRules.Names);
        var lr = OptionFactory.Number("--lr", "Learning rate " + Defaults(p => Format(p.LearningRate)), 0, minimumExcluded: true);
        var lrDecay = OptionFactory.Number("--lr-decay", "Factor on the learning rate after every epoch, in (0, 1] [default: 1]", 0,
            minimumExcluded: true, maximum: 1);
        var reg = OptionFactory.Number("--reg", "L2 regularisation strength " + Defaults(p => Format(p.Reg)), 0, minimumExcluded: false);
        var weightScale = OptionFactory.Number("--weight-scale",
            "Standard deviation of the initial weights " + Defaults(p => p.WeightScale is double w ? Format(w) : "He init"), 0,
            minimumExcluded: true);
        var hiddenDims = OptionFactory.IntegerList("--hidden-dims",
            "Hidden layer sizes: fc-net any number, three-layer-convnet one " + Defaults(p => p.HiddenDims is null ? "-" : string.Join(',', p.HiddenDims)));
        var printEvery = OptionFactory.Integer("--print-every", "Iterations between loss lines " + Defaults(p => p.PrintEvery.ToString(CultureInfo.InvariantCulture)), 1);
        var testEachEpoch = OptionFactory.Flag("--test-each-epoch",
            "Also measure the test accuracy after every epoch and print it (not counted in the epoch times)");
        var checkpoint = OptionFactory.Path("--checkpoint",
            "Write a checkpoint (safetensors, with these settings in its metadata) into DIR after every epoch and when cancelled", "DIR");
        var resume = OptionFactory.Path("--resume",
            "Continue the run a checkpoint saved (FILE, or the latest in DIR): its settings are the defaults, options given here win; " +
            "--epochs counts from the start of the run", "FILE|DIR");
        var runtime = new RuntimeOptions();
        var output = new OutputOptions(
            "Write the final metrics, settings and histories as JSON (nnk plot --from FILE redraws the plots)",
            "Write training.png (loss, train/val accuracy) and filters.png (first-layer weights) into DIR");

        var command = new Command("train", "Train a model and report its test accuracy and speed") { model };
        data.AddTo(command);
        foreach (Option option in new Option[] { numTrain, numVal, numTest, epochs, batchSize, updateRule, lr, lrDecay, reg, weightScale, hiddenDims, printEvery, testEachEpoch, checkpoint, resume })
            command.Options.Add(option);
        runtime.AddTo(command);
        output.AddTo(command);

        command.SetAction(result =>
        {
            string? resumeFrom = result.GetValue(resume);
            ResumeSource? source = resumeFrom is null ? null : ResumeSource.Open(resumeFrom);
            CheckpointSettings? stored = source?.Settings;
            ModelKind kind = result.GetValue(model) ?? Stored(stored?.Model, Choices.Models, "--model")
                ?? throw new UsageException(source is null
                    ? "--model is required: one of " + string.Join(", ", Choices.Models.Keys) + "."
                    : $"--model is required: the checkpoint '{source.Path}' was not written by nnk train, so it does not say which model it holds.");
            ModelPreset preset = ModelPreset.For(kind);
            DatasetKind dataset = data.Dataset(result, Stored(stored?.Dataset, Choices.Datasets, "--dataset") ?? DatasetKind.Mnist);
            RuntimeSettings runtimeSettings = runtime.Read(result, Stored(stored?.Dtype, Choices.DTypes, "--dtype"), stored?.Seed);
            var settings = new TrainSettings
            {
                Model = kind,
                Dataset = dataset,
                DataDirectory = data.Directory(result, dataset),
                NumTrain = result.GetValue(numTrain) ?? stored?.NumTrain,
                NumVal = result.GetValue(numVal) ?? stored?.NumVal,
                NumTest = result.GetValue(numTest) ?? stored?.NumTest,
                Epochs = result.GetValue(epochs) ?? stored?.Epochs ?? preset.Epochs,
                BatchSize = result.GetValue(batchSize) ?? stored?.BatchSize ?? preset.BatchSize,
                UpdateRule = result.GetValue(updateRule) ?? stored?.UpdateRule ?? preset.UpdateRule,
                LearningRate = result.GetValue(lr) ?? stored?.LearningRate ?? preset.LearningRate,
                LrDecay = result.GetValue(lrDecay) ?? stored?.LrDecay ?? preset.LrDecay,
                Reg = result.GetValue(reg) ?? stored?.Reg ?? preset.Reg,
                WeightScale = result.GetValue(weightScale) ?? stored?.WeightScale ?? preset.WeightScale,
                HiddenDims = HiddenDims(kind, OptionFactory.ValueIfGiven(result, hiddenDims)) ?? stored?.HiddenDims ?? preset.HiddenDims,
                PrintEvery = result.GetValue(printEvery) ?? stored?.PrintEvery ?? preset.PrintEvery,
                Runtime = runtimeSettings,
                JsonPath = output.Json(result),
                PlotsDirectory = output.Plots(result),
                Quiet = output.Quiet(result),
                TestEachEpoch = result.GetValue(testEachEpoch),
                CheckpointDirectory = result.GetValue(checkpoint),
                ResumePath = source?.Path,
            };
            if (ModelFactory.Incompatibility(kind, DatasetShapes.InputShape(dataset)) is string problem)
                throw new UsageException($"--model {settings.ModelName} cannot train on --dataset {settings.DatasetName}: {problem}.");
            return TrainRun.Execute(settings, console, cancellationToken);
        });
        return command;
    }

    private static int[]? HiddenDims(ModelKind kind, int[]? given) => (kind, given) switch
    {
        (_, null) => null,
        (ModelKind.MnistBnCnn, _) => throw new UsageException(
            "--hidden-dims does not apply to mnist-bn-cnn, whose layers are fixed (its hidden affine layer has 128 units)."),
        (ModelKind.ThreeLayerConvNet, { Length: not 1 }) => throw new UsageException(
            $"--hidden-dims for three-layer-convnet takes one size (its one hidden affine layer), but {given.Length} were given: {string.Join(',', given)}."),
        _ => given,
    };

    // A name stored in a checkpoint's settings, read back as the option would read it.
    private static T? Stored<T>(string? name, IReadOnlyDictionary<string, T> choices, string option) where T : struct =>
        name is null ? null
        : choices.TryGetValue(name, out T value) ? value
        : throw new InvalidDataException($"The checkpoint's settings give {option} \"{name}\", which this nnk does not know.");

    private static string Defaults(Func<ModelPreset, string> value) =>
        "[default: " + string.Join(", ", ModelPreset.All.Select(p => $"{Choices.NameOf(Choices.Models, p.Kind)} {value(p)}")) + "]";

    private static string Format(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
