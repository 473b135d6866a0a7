namespace Nnk.Cli.Reports;

/// <summary>
/// What <c>nnk train --json</c> writes: the final metrics, the run's settings, the histories the
/// training plots are drawn from and the first layer's filters, so that <c>nnk plot</c> can redraw
/// every figure later. Serialised with snake_case names (<c>test_acc</c>, <c>seconds_per_epoch</c>, ...).
/// </summary>
internal sealed record TrainReport
{
    /// <summary>The <see cref="ReportJson"/> kind of this report.</summary>
    public const string KindName = "train";

    /// <summary>Always <see cref="KindName"/>; tells <c>nnk plot</c> what the file holds.</summary>
    public string Kind { get; init; } = KindName;

    /// <summary>mnist-bn-cnn, three-layer-convnet or fc-net.</summary>
    public required string Model { get; init; }

    /// <summary>mnist, fashion-mnist or cifar10.</summary>
    public required string Dataset { get; init; }

    /// <summary>float32 or float64.</summary>
    public required string Dtype { get; init; }

    /// <summary>Seed of the weights and the minibatch sampling.</summary>
    public required int Seed { get; init; }

    /// <summary>native or managed.</summary>
    public required string Backend { get; init; }

    /// <summary>The BLAS the native kernels used; null on the managed backend.</summary>
    public string? Blas { get; init; }

    /// <summary>Threads the kernels could use.</summary>
    public required int Threads { get; init; }

    /// <summary>Epochs completed (fewer than asked for when cancelled), from the start of the run.</summary>
    public required int Epochs { get; init; }

    /// <summary>Iterations completed.</summary>
    public required int Iterations { get; init; }

    /// <summary>Inputs per minibatch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>sgd, sgd_momentum, rmsprop or adam.</summary>
    public required string UpdateRule { get; init; }

    /// <summary>Initial learning rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Factor on the learning rate after every epoch.</summary>
    public required double LrDecay { get; init; }

    /// <summary>L2 regularisation strength.</summary>
    public required double Reg { get; init; }

    /// <summary>Training rows.</summary>
    public required int NumTrain { get; init; }

    /// <summary>Validation rows.</summary>
    public required int NumVal { get; init; }

    /// <summary>Test rows.</summary>
    public required int NumTest { get; init; }

    /// <summary>Accuracy on the whole test split of the parameters kept (those of the best validation
    /// accuracy); null when the run was cancelled.</summary>
    public double? TestAcc { get; init; }

    /// <summary>The best validation accuracy: that of the parameters kept.</summary>
    public required double ValAcc { get; init; }

    /// <summary>The training accuracy measured at the same check as <see cref="ValAcc"/> (on the solver's
    /// sample of training rows).</summary>
    public required double TrainAcc { get; init; }

    /// <summary>Wall time of the training, accuracy checks included, in seconds.</summary>
    public required double Seconds { get; init; }

    /// <summary>Mean wall time of a completed epoch, its accuracy check included, in seconds.</summary>
    public required double SecondsPerEpoch { get; init; }

    /// <summary>Wall time of each completed epoch, in seconds.</summary>
    public required double[] EpochSeconds { get; init; }

    /// <summary>Training inputs per second over the whole run.</summary>
    public required double ImagesPerSecond { get; init; }

    /// <summary>True when Ctrl+C stopped the run early.</summary>
    public bool Cancelled { get; init; }

    /// <summary>The checkpoint the run continued from, or null. Epochs, iterations and histories then count from
    /// the start of the original run; the times and throughput are this run's.</summary>
    public string? ResumedFrom { get; init; }

    /// <summary>The solver's histories.</summary>
    public required TrainHistory History { get; init; }

    /// <summary>The first layer's weights as images, for the filter grid; null if the model has none.</summary>
    public FilterSet? Filters { get; init; }
}

/// <summary>The solver's histories, as the seeds' <c>loss_history</c>, <c>train_acc_history</c>, <c>val_acc_history</c>.</summary>
/// <param name="Loss">Minibatch loss of every iteration.</param>
/// <param name="TrainAcc">Training accuracy at every check (after iteration 1, then every epoch end).</param>
/// <param name="ValAcc">Validation accuracy at the same checks.</param>
/// <param name="TestAcc">Test accuracy after each epoch, on the parameters of that moment (<c>--test-each-epoch</c>);
/// null when it was not measured.</param>
internal sealed record TrainHistory(double[] Loss, double[] TrainAcc, double[] ValAcc, double[]? TestAcc = null);

/// <summary>
/// A model's first-layer weights as F images of (C, H, W), row-major: a convolution's W1 (F, C, HH, WW)
/// as it is, a fully connected W1 (D, hidden) as one (C, H, W) image per hidden unit (its column).
/// </summary>
/// <param name="Parameter">The parameter the images come from, W1.</param>
/// <param name="Shape">(F, C, H, W).</param>
/// <param name="Values">F*C*H*W values.</param>
internal sealed record FilterSet(string Parameter, int[] Shape, float[] Values);
