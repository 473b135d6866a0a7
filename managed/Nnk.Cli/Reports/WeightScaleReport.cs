namespace Nnk.Cli.Reports;

/// <summary>
/// What <c>nnk experiment weight-scale --json</c> writes: the settings and, for every weight scale,
/// the baseline and batch-norm networks' best accuracies and final loss, the numbers of the seed's
/// three-panel figure. Serialised with snake_case names.
/// </summary>
internal sealed record WeightScaleReport
{
    /// <summary>The <see cref="ReportJson"/> kind of this report.</summary>
    public const string KindName = "weight-scale";

    /// <summary>Always <see cref="KindName"/>.</summary>
    public string Kind { get; init; } = KindName;

    /// <summary>mnist, fashion-mnist or cifar10.</summary>
    public required string Dataset { get; init; }

    /// <summary>float32 or float64.</summary>
    public required string Dtype { get; init; }

    /// <summary>Base seed; run i of each network uses seed + i.</summary>
    public required int Seed { get; init; }

    /// <summary>native or managed.</summary>
    public required string Backend { get; init; }

    /// <summary>The BLAS of the native kernels; null on the managed backend.</summary>
    public string? Blas { get; init; }

    /// <summary>Threads the kernels could use.</summary>
    public required int Threads { get; init; }

    /// <summary>Hidden layer sizes of both networks.</summary>
    public required int[] HiddenDims { get; init; }

    /// <summary>Training rows.</summary>
    public required int NumTrain { get; init; }

    /// <summary>Validation rows.</summary>
    public required int NumVal { get; init; }

    /// <summary>Epochs per run.</summary>
    public required int Epochs { get; init; }

    /// <summary>Inputs per minibatch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Update rule of every run.</summary>
    public required string UpdateRule { get; init; }

    /// <summary>Learning rate of every run.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Wall time of the whole experiment, in seconds.</summary>
    public required double Seconds { get; init; }

    /// <summary>One point per weight scale, in increasing order.</summary>
    public required WeightScalePoint[] Points { get; init; }
}

/// <summary>Both networks at one weight scale.</summary>
/// <param name="WeightScale">Standard deviation of the initial weights.</param>
/// <param name="Baseline">The network without normalisation.</param>
/// <param name="Batchnorm">The network with batch norm after every hidden affine layer.</param>
internal sealed record WeightScalePoint(double WeightScale, RunOutcome Baseline, RunOutcome Batchnorm);

/// <summary>One training run's numbers, as the seed's plotting cell takes them from a solver.</summary>
/// <param name="BestTrainAcc">max(train_acc_history).</param>
/// <param name="BestValAcc">max(val_acc_history).</param>
/// <param name="FinalLoss">Mean of the last 100 losses; null when the run diverged (a non-finite loss).</param>
/// <param name="Diverged">True when the loss became NaN or infinite and the solver stopped.</param>
internal sealed record RunOutcome(double BestTrainAcc, double BestValAcc, double? FinalLoss, bool Diverged);
