using Nnk.Cli.Options;

namespace Nnk.Cli.Experiments;

/// <summary>
/// The batch-normalization seed's (002) weight-initialisation experiment: 8-layer fully connected
/// networks (hidden 50 x 7) with and without batch norm, trained on the first 1000 training rows for
/// 10 epochs of Adam at 1e-3 with batch 50, at 20 weight scales from 1e-4 to 1 (logspace(-4, 0, 20)).
/// </summary>
internal sealed record WeightScaleSettings
{
    /// <summary>The seed's training rows.</summary>
    public const int SeedNumTrain = 1000;

    /// <summary>The seed's validation rows.</summary>
    public const int SeedNumVal = 1000;

    /// <summary>The seed's epochs per run.</summary>
    public const int SeedEpochs = 10;

    /// <summary>The seed's minibatch size.</summary>
    public const int SeedBatchSize = 50;

    /// <summary>The seed's update rule.</summary>
    public const string SeedUpdateRule = "adam";

    /// <summary>The seed's learning rate.</summary>
    public const double SeedLearningRate = 1e-3;

    /// <summary>The seed's number of weight scales.</summary>
    public const int SeedNumScales = 20;

    /// <summary>The seed's hidden layers.</summary>
    public static readonly int[] SeedHiddenDims = [50, 50, 50, 50, 50, 50, 50];

    /// <summary>The dataset to load.</summary>
    public required DatasetKind Dataset { get; init; }

    /// <summary>The directory the user named for the dataset.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Training rows: the first this many of the dataset's training file.</summary>
    public int NumTrain { get; init; } = SeedNumTrain;

    /// <summary>Validation rows: those right after the training rows.</summary>
    public int NumVal { get; init; } = SeedNumVal;

    /// <summary>Passes over the training rows per run.</summary>
    public int Epochs { get; init; } = SeedEpochs;

    /// <summary>Inputs per minibatch.</summary>
    public int BatchSize { get; init; } = SeedBatchSize;

    /// <summary>Update rule of every run.</summary>
    public string UpdateRule { get; init; } = SeedUpdateRule;

    /// <summary>Learning rate of every run.</summary>
    public double LearningRate { get; init; } = SeedLearningRate;

    /// <summary>Weight scales, spaced evenly in log10 from 1e-4 to 1.</summary>
    public int NumScales { get; init; } = SeedNumScales;

    /// <summary>Hidden layer sizes of both networks.</summary>
    public int[] HiddenDims { get; init; } = SeedHiddenDims;

    /// <summary>Threads, backend, BLAS, element type and base seed.</summary>
    public required RuntimeSettings Runtime { get; init; }

    /// <summary>Directory the figure goes into.</summary>
    public required string PlotsDirectory { get; init; }

    /// <summary>Where to write the JSON report, or null.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Print only the table.</summary>
    public bool Quiet { get; init; }

    /// <summary>The command-line name of <see cref="Dataset"/>.</summary>
    public string DatasetName => Choices.NameOf(Choices.Datasets, Dataset);

    /// <summary>numpy's logspace(-4, 0, NumScales): one scale when NumScales is 1 (1e-4).</summary>
    public double[] WeightScales() => Enumerable.Range(0, NumScales)
        .Select(i => Math.Pow(10, NumScales == 1 ? -4 : -4 + 4.0 * i / (NumScales - 1)))
        .ToArray();
}
