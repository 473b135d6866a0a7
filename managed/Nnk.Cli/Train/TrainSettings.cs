using Nnk.Cli.Options;

namespace Nnk.Cli.Train;

/// <summary>Everything <c>nnk train</c> runs with: the model's preset with the command line's overrides applied.</summary>
internal sealed record TrainSettings
{
    /// <summary>The model to build.</summary>
    public required ModelKind Model { get; init; }

    /// <summary>The dataset to load.</summary>
    public required DatasetKind Dataset { get; init; }

    /// <summary>The directory the user named for the dataset.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Training rows, or null for the dataset's default.</summary>
    public int? NumTrain { get; init; }

    /// <summary>Validation rows, or null for the dataset's default.</summary>
    public int? NumVal { get; init; }

    /// <summary>Test rows, or null for the dataset's default.</summary>
    public int? NumTest { get; init; }

    /// <summary>Passes over the training set.</summary>
    public required int Epochs { get; init; }

    /// <summary>Inputs per minibatch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Name of the update rule.</summary>
    public required string UpdateRule { get; init; }

    /// <summary>Initial step size.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Factor on the learning rate after every epoch.</summary>
    public required double LrDecay { get; init; }

    /// <summary>L2 regularisation strength.</summary>
    public required double Reg { get; init; }

    /// <summary>Initial weight standard deviation, or null for the model's own initialisation.</summary>
    public double? WeightScale { get; init; }

    /// <summary>Hidden layer sizes, or null when the model has none to choose.</summary>
    public int[]? HiddenDims { get; init; }

    /// <summary>Iterations between loss lines.</summary>
    public required int PrintEvery { get; init; }

    /// <summary>Threads, backend, BLAS, element type and seed.</summary>
    public required RuntimeSettings Runtime { get; init; }

    /// <summary>Where to write the JSON report, or null.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Where to write the PNG plots, or null.</summary>
    public string? PlotsDirectory { get; init; }

    /// <summary>Print only the final results.</summary>
    public bool Quiet { get; init; }

    /// <summary>Measure the test accuracy after every epoch (on the current parameters), for learning curves;
    /// the time it takes is left out of the epoch times.</summary>
    public bool TestEachEpoch { get; init; }

    /// <summary>Directory to write a checkpoint into after every epoch (and when cancelled), or null.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Checkpoint to continue from, or null to start afresh.</summary>
    public string? ResumePath { get; init; }

    /// <summary>The command-line name of <see cref="Model"/>.</summary>
    public string ModelName => Choices.NameOf(Choices.Models, Model);

    /// <summary>The command-line name of <see cref="Dataset"/>.</summary>
    public string DatasetName => Choices.NameOf(Choices.Datasets, Dataset);
}
