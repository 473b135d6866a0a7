using System.Numerics;
using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// Resuming from a checkpoint ends exactly where an uninterrupted run of the same length ends
/// (same seed, float64, managed backend): parameters, running statistics, histories and best
/// parameters bit-identical, whichever update rule, for a fully connected and a convolutional
/// batch-norm model, from an epoch-end checkpoint or from one saved after a cancellation mid-epoch.
/// </summary>
public class SolverResumeTests
{
    public static TheoryData<string> RuleNames => ["sgd", "sgd_momentum", "rmsprop", "adam"];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Resume_FromEpoch2CheckpointOf4_MatchesUninterruptedRun_FullyConnected(string rule)
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options(rule, 4, directory.File("a")));
        solver.Train();

        var resumedModel = TrainingSetups.Net<double>();
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Blobs<double>(), TrainingSetups.Options(rule, 4, directory.File("b")));
        resumed.LoadCheckpoint(directory.File("a/checkpoint_epoch_2.safetensors"));
        resumed.Train();

        AssertSameRun(solver, model, resumed, resumedModel);
        // The resumed run's later checkpoints are the uninterrupted run's, byte for byte.
        Assert.Equal(File.ReadAllBytes(directory.File("a/checkpoint_epoch_4.safetensors")),
            File.ReadAllBytes(directory.File("b/checkpoint_epoch_4.safetensors")));
        Assert.False(File.Exists(directory.File("b/checkpoint_epoch_2.safetensors")));
    }

    [Fact]
    public void Resume_FromEpoch1Checkpoint_MatchesUninterruptedRun_ConvNetWithSpatialBatchNorm()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.ConvNet();
        var solver = new Solver<double>(model, TrainingSetups.Images(), TrainingSetups.Options("sgd_momentum", 3, directory.Path));
        solver.Train();

        var resumedModel = TrainingSetups.ConvNet();
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Images(), TrainingSetups.Options("sgd_momentum", 3));
        resumed.LoadCheckpoint(directory.File("checkpoint_epoch_1.safetensors"));
        resumed.Train();

        AssertSameRun(solver, model, resumed, resumedModel);
    }

    // A run stopped by its cancellation token after iteration 9 (mid-epoch 2 of 6 iterations each) and
    // saved then resumes at iteration 10.
    [Fact]
    public void Resume_AfterCancellationMidEpoch_MatchesUninterruptedRun()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam"));
        solver.Train();

        using var cancellation = new CancellationTokenSource();
        var stoppedModel = TrainingSetups.Net<double>();
        SolverOptions stoppedOptions = TrainingSetups.Options("adam");
        stoppedOptions.Progress = new ImmediateProgress(p =>
        {
            if (p.Iteration == 9)
                cancellation.Cancel();
        });
        var stopped = new Solver<double>(stoppedModel, TrainingSetups.Blobs<double>(), stoppedOptions);
        Assert.Throws<OperationCanceledException>(() => stopped.Train(cancellation.Token));
        string path = directory.File("stopped.safetensors");
        stopped.SaveCheckpoint(path);

        var resumedModel = TrainingSetups.Net<double>();
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam"));
        resumed.LoadCheckpoint(path);
        Assert.Equal(9, resumed.Iteration);
        Assert.Equal(1, resumed.Epoch);
        resumed.Train();

        AssertSameRun(solver, model, resumed, resumedModel);
    }

    // With a seed, FullyConnectedNet draws its dropout masks from that seed at every call, so dropout
    // carries no state between iterations and a resumed run stays exact.
    [Fact]
    public void Resume_SeededDropout_MatchesUninterruptedRun()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>(dropoutKeepRatio: 0.8);
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("rmsprop", 3, directory.Path));
        solver.Train();

        var resumedModel = TrainingSetups.Net<double>(dropoutKeepRatio: 0.8);
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Blobs<double>(), TrainingSetups.Options("rmsprop", 3));
        resumed.LoadCheckpoint(directory.File("checkpoint_epoch_2.safetensors"));
        resumed.Train();

        AssertSameRun(solver, model, resumed, resumedModel);
    }

    // The final checkpoint holds a finished run: training from it runs no iteration and ends with the best parameters.
    [Fact]
    public void Resume_FromFinalCheckpoint_RunsNothingAndEndsWithBestParams()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2, directory.Path));
        solver.Train();

        var resumedModel = TrainingSetups.Net<double>();
        int reports = 0;
        SolverOptions options = TrainingSetups.Options("adam", 2);
        options.Progress = new ImmediateProgress(_ => reports++);
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Blobs<double>(), options);
        resumed.LoadCheckpoint(directory.File("checkpoint_epoch_2.safetensors"));
        resumed.Train();

        Assert.Equal(0, reports);
        AssertSameRun(solver, model, resumed, resumedModel);
    }

    // More epochs than the checkpoint's run continue it: a 5-epoch run resumed from a finished 2-epoch run
    // keeps that run's 12 losses and adds 18.
    [Fact]
    public void Resume_WithMoreEpochs_ContinuesTraining()
    {
        using var directory = new TempDirectory();
        var solver = new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(),
            TrainingSetups.Options("adam", 2, directory.Path));
        solver.Train();

        var resumed = new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 5));
        resumed.LoadCheckpoint(directory.File("checkpoint_epoch_2.safetensors"));
        resumed.Train();

        Assert.Equal(5, resumed.Epoch);
        Assert.Equal(30, resumed.LossHistory.Count);
        Assert.Equal(solver.LossHistory, resumed.LossHistory.Take(12));
    }

    private static void AssertSameRun<T>(Solver<T> expected, IModel<T> expectedModel, Solver<T> actual, IModel<T> actualModel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Epoch, actual.Epoch);
        Assert.Equal(expected.Iteration, actual.Iteration);
        Assert.Equal(expected.LossHistory, actual.LossHistory);
        Assert.Equal(expected.TrainAccHistory, actual.TrainAccHistory);
        Assert.Equal(expected.ValAccHistory, actual.ValAccHistory);
        Assert.Equal(expected.BestValAcc, actual.BestValAcc);
        foreach ((string name, Tensor<T> w) in expectedModel.Params)
        {
            Assert.Equal(w.Span.ToArray(), actualModel.Params[name].Span.ToArray());
            Assert.Equal(expected.BestParams[name].Span.ToArray(), actual.BestParams[name].Span.ToArray());
        }
        var expectedStatistics = ((IHasRunningStatistics<T>)expectedModel).RunningStatistics;
        var actualStatistics = ((IHasRunningStatistics<T>)actualModel).RunningStatistics;
        Assert.NotEmpty(expectedStatistics);
        foreach ((int layer, BatchNormParam<T> bn) in expectedStatistics)
        {
            Assert.Equal(bn.RunningMean!.Span.ToArray(), actualStatistics[layer].RunningMean!.Span.ToArray());
            Assert.Equal(bn.RunningVar!.Span.ToArray(), actualStatistics[layer].RunningVar!.Span.ToArray());
        }
    }
}
