using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Nnk.Cli.Data;
using Nnk.Cli.Options;
using Nnk.Cli.Plots;
using Nnk.Cli.Progress;
using Nnk.Cli.Reports;
using Nnk.Cli.Runtime;

namespace Nnk.Cli.Train;

/// <summary>Runs <c>nnk train</c> in the element type the settings ask for.</summary>
internal static class TrainRun
{
    /// <summary>Time between plain progress lines when stderr is not a terminal.</summary>
    public static readonly TimeSpan PlainProgressInterval = TimeSpan.FromSeconds(15);

    /// <summary>Loads the data, trains, measures the test accuracy, prints the summary and writes the
    /// report and plots asked for.</summary>
    /// <returns><see cref="ExitCodes.Success"/>, or <see cref="ExitCodes.Cancelled"/> when
    /// <paramref name="cancellationToken"/> stopped the training.</returns>
    public static int Execute(TrainSettings settings, CliConsole console, CancellationToken cancellationToken) =>
        settings.Runtime.DType == DType.Float64
            ? TrainRun<double>.Execute(settings, console, cancellationToken)
            : TrainRun<float>.Execute(settings, console, cancellationToken);
}

/// <summary><see cref="TrainRun"/> for element type <typeparamref name="T"/>.</summary>
internal static class TrainRun<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="TrainRun.Execute"/>
    public static int Execute(TrainSettings settings, CliConsole console, CancellationToken cancellationToken)
    {
        TextWriter output = console.Out;
        RuntimeInfo runtime = RuntimeSetup.Apply(settings.Runtime);

        string directory = DataLocator.Resolve(settings.Dataset, settings.DataDirectory);
        var loading = Stopwatch.StartNew();
        DataSplits<T> splits = Datasets.Load<T>(settings.Dataset, directory, new DataSplitOptions
        {
            NumTraining = settings.NumTrain,
            NumValidation = settings.NumVal,
            NumTest = settings.NumTest,
        });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Loaded {splits} from {directory} in {loading.Elapsed.TotalSeconds:F1} s"));

        int[] inputShape = splits.InputShape;
        IModel<T> model = ModelFactory.Create(settings, inputShape, splits.NumClasses, Kernels.For<T>(settings.Runtime.Backend));
        long parameters = model.Params.Values.Sum(p => (long)p.Length);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, 
            $"Model {settings.ModelName}: {parameters} parameters; {settings.UpdateRule}, learning rate {settings.LearningRate:G}, " +
            $"lr decay {settings.LrDecay:G}, reg {settings.Reg:G}, batch {settings.BatchSize}, {settings.Epochs} epochs; {runtime}"));

        var clock = new TrainingClock(settings.BatchSize);
        ProgressDisplay? display = settings.Quiet
            ? null
            : new ProgressDisplay(console.Error, console.ErrorIsTerminal, TrainRun.PlainProgressInterval, clock);
        TextWriter log = display is not null && console.ErrorIsTerminal ? new ProgressAwareWriter(output, display) : output;
        var testAccHistory = new List<double>();
        Solver<T>? solver = null;
        var solverOptions = new SolverOptions
        {
            UpdateRule = settings.UpdateRule,
            OptimConfig = new OptimConfig { LearningRate = settings.LearningRate },
            LrDecay = settings.LrDecay,
            BatchSize = settings.BatchSize,
            NumEpochs = settings.Epochs,
            PrintEvery = settings.PrintEvery,
            Verbose = !settings.Quiet,
            Seed = settings.Runtime.Seed,
            CheckpointDirectory = settings.CheckpointDirectory,
            CheckpointName = settings.ModelName,
            CheckpointMetadata = new Dictionary<string, string>([CheckpointSettings.From(settings).ToMetadata()]),
            Log = log,
            Progress = new CallbackProgress<SolverProgress>(p =>
            {
                int epochsBefore = clock.Epochs;
                clock.Observe(p);
                if (settings.TestEachEpoch && clock.Epochs > epochsBefore)
                    testAccHistory.Add(TestAccuracy(solver!, splits, clock, settings.Quiet ? null : log, p.Epoch, settings.Epochs));
                display?.Report(p);
            }),
        };
        solver = new Solver<T>(model, splits.ToSolverData(), solverOptions);
        if (settings.ResumePath is string resumePath)
        {
            solver.LoadCheckpoint(resumePath);
            clock.StartFrom(solver.Epoch, solver.Iteration);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Resumed from {resumePath}: {solver.Epoch} epochs, iteration {solver.Iteration} / {solver.NumIterations}"));
        }

        bool cancelled = false;
        clock.Start();
        try
        {
            solver.Train(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        finally
        {
            clock.Stop();
            display?.Finish();
        }

        if (cancelled && settings.CheckpointDirectory is string checkpoints)
        {
            Directory.CreateDirectory(checkpoints);
            string path = Path.Combine(checkpoints, string.Create(CultureInfo.InvariantCulture,
                $"{settings.ModelName}_iteration_{solver.Iteration}.safetensors"));
            solver.SaveCheckpoint(path);
            output.WriteLine($"Saved {path}; continue with: nnk train --resume {path} --data {settings.DataDirectory}");
        }
        double? testAcc = cancelled ? null : solver.CheckAccuracy(splits.XTest, splits.YTest);
        TrainReport report = Report(settings, runtime, splits, solver, clock, testAcc, cancelled,
            FirstLayerFilters.From(model, inputShape), settings.TestEachEpoch ? testAccHistory.ToArray() : null);
        PrintSummary(output, report, runtime, clock, solver.NumIterations, settings.Epochs);

        if (settings.JsonPath is string json)
        {
            ReportJson.Write(json, report);
            output.WriteLine($"Wrote {json}");
        }
        if (settings.PlotsDirectory is string plots)
        {
            foreach (string path in ReportPlots.Save(plots, report))
                output.WriteLine($"Wrote {path}");
        }
        return cancelled ? ExitCodes.Cancelled : ExitCodes.Success;
    }

    private static TrainReport Report(TrainSettings settings, RuntimeInfo runtime, DataSplits<T> splits, Solver<T> solver,
        TrainingClock clock, double? testAcc, bool cancelled, FilterSet? filters, double[]? testAccHistory)
    {
        // The kept parameters are those of the first check with the best validation accuracy.
        double[] valHistory = solver.ValAccHistory.ToArray(), trainHistory = solver.TrainAccHistory.ToArray();
        int best = valHistory.Length == 0 ? -1 : Array.IndexOf(valHistory, valHistory.Max());
        return new TrainReport
        {
            Model = settings.ModelName,
            Dataset = settings.DatasetName,
            Dtype = runtime.DType,
            Seed = settings.Runtime.Seed,
            Backend = runtime.Backend,
            Blas = runtime.Blas,
            Threads = runtime.Threads,
            Epochs = solver.Epoch,
            Iterations = solver.LossHistory.Count,
            BatchSize = settings.BatchSize,
            UpdateRule = settings.UpdateRule,
            LearningRate = settings.LearningRate,
            LrDecay = settings.LrDecay,
            Reg = settings.Reg,
            NumTrain = splits.YTrain.Length,
            NumVal = splits.YVal.Length,
            NumTest = splits.YTest.Length,
            TestAcc = testAcc,
            ValAcc = best < 0 ? 0 : valHistory[best],
            TrainAcc = best < 0 ? 0 : trainHistory[best],
            Seconds = clock.Elapsed.TotalSeconds,
            SecondsPerEpoch = clock.SecondsPerEpoch,
            EpochSeconds = clock.EpochSeconds.ToArray(),
            ImagesPerSecond = clock.ImagesPerSecond,
            Cancelled = cancelled,
            ResumedFrom = settings.ResumePath,
            History = new TrainHistory(solver.LossHistory.ToArray(), trainHistory, valHistory, testAccHistory),
            Filters = filters,
        };
    }

    // The clock is stopped meanwhile, so that the epoch times stay those of training.
    private static double TestAccuracy(Solver<T> solver, DataSplits<T> splits, TrainingClock clock, TextWriter? log, int epoch,
        int epochs)
    {
        clock.Stop();
        double accuracy = solver.CheckAccuracy(splits.XTest, splits.YTest);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(Epoch {epoch} / {epochs}) test acc: {accuracy:F6}"));
        clock.Start();
        return accuracy;
    }

    private static void PrintSummary(TextWriter output, TrainReport report, RuntimeInfo runtime, TrainingClock clock,
        int numIterations, int epochs)
    {
        if (report.Cancelled)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, 
                $"Cancelled after iteration {report.Iterations} / {numIterations} ({report.Epochs} of {epochs} epochs done) " +
                $"in {report.Seconds:F1} s; best validation accuracy so far {report.ValAcc:F4}."));
        else
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, 
                $"Test accuracy: {report.TestAcc:F4} ({report.NumTest} images), with the parameters of the best " +
                $"validation accuracy {report.ValAcc:F4} (training accuracy {report.TrainAcc:F4} at that check)"));

        string perEpoch = clock.Epochs == 0
            ? "no epoch completed"
            : string.Create(CultureInfo.InvariantCulture, $"{report.SecondsPerEpoch:F1} s per epoch ({string.Join(", ", report.EpochSeconds.Select(s => s.ToString("F1", CultureInfo.InvariantCulture)))})");
        string resumed = report.ResumedFrom is null ? "" : " after resuming";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Time: {clock.Epochs} epochs, {clock.Iterations} iterations{resumed} in {clock.Elapsed.TotalSeconds:F1} s; {perEpoch}; " +
            $"{report.ImagesPerSecond:F0} images/s ({runtime})"));
    }
}
