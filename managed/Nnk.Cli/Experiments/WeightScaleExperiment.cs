using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Nnk.Cli.Data;
using Nnk.Cli.Options;
using Nnk.Cli.Plots;
using Nnk.Cli.Reports;
using Nnk.Cli.Runtime;

namespace Nnk.Cli.Experiments;

/// <summary>Runs the weight-scale experiment in the element type the settings ask for.</summary>
internal static class WeightScaleExperiment
{
    /// <summary>Trains both networks at every scale, prints the table, writes the figure and the report.</summary>
    /// <returns><see cref="ExitCodes.Success"/>, or <see cref="ExitCodes.Cancelled"/> when stopped early.</returns>
    public static int Execute(WeightScaleSettings settings, CliConsole console, CancellationToken cancellationToken) =>
        settings.Runtime.DType == DType.Float64
            ? WeightScaleExperiment<double>.Execute(settings, console, cancellationToken)
            : WeightScaleExperiment<float>.Execute(settings, console, cancellationToken);
}

/// <summary><see cref="WeightScaleExperiment"/> for element type <typeparamref name="T"/>.</summary>
internal static class WeightScaleExperiment<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // The seed's final training loss: np.mean(solver.loss_history[-100:]).
    private const int FinalLossWindow = 100;

    /// <inheritdoc cref="WeightScaleExperiment.Execute"/>
    public static int Execute(WeightScaleSettings settings, CliConsole console, CancellationToken cancellationToken)
    {
        TextWriter output = console.Out;
        RuntimeInfo runtime = RuntimeSetup.Apply(settings.Runtime);
        string directory = DataLocator.Resolve(settings.Dataset, settings.DataDirectory);
        // The seed takes the first rows of its usual splits; here the splits are cut to those rows when
        // loaded, so the mean image subtracted is that of the NumTrain rows rather than of the whole
        // training file, and the experiment also runs on small files.
        DataSplits<T> splits = Datasets.Load<T>(settings.Dataset, directory, new DataSplitOptions
        {
            NumTraining = settings.NumTrain,
            NumValidation = settings.NumVal,
            NumTest = 1,
        });
        SolverData<T> data = splits.ToSolverData();
        int inputDim = splits.InputShape.Aggregate(1, (a, b) => a * b);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, 
            $"Weight-scale experiment on {settings.DatasetName}: {settings.NumTrain} training rows, {splits.YVal.Length} validation rows; " +
            $"hidden {string.Join(',', settings.HiddenDims)}; {settings.UpdateRule} {settings.LearningRate:G}, batch {settings.BatchSize}, " +
            $"{settings.Epochs} epochs; {settings.NumScales} scales; {runtime}"));

        var watch = Stopwatch.StartNew();
        var points = new List<WeightScalePoint>();
        double[] scales = settings.WeightScales();
        bool cancelled = false;
        try
        {
            for (int i = 0; i < scales.Length; i++)
            {
                if (!settings.Quiet)
                    output.WriteLine($"Running weight scale {i + 1} / {scales.Length}");
                int seed = unchecked(settings.Runtime.Seed + i);
                RunOutcome batchnorm = TrainOne(settings, data, inputDim, scales[i], NormalizationKind.BatchNorm, seed, cancellationToken);
                RunOutcome baseline = TrainOne(settings, data, inputDim, scales[i], NormalizationKind.None, seed, cancellationToken);
                points.Add(new WeightScalePoint(scales[i], baseline, batchnorm));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        watch.Stop();

        var report = new WeightScaleReport
        {
            Dataset = settings.DatasetName,
            Dtype = runtime.DType,
            Seed = settings.Runtime.Seed,
            Backend = runtime.Backend,
            Blas = runtime.Blas,
            Threads = runtime.Threads,
            HiddenDims = settings.HiddenDims,
            NumTrain = settings.NumTrain,
            NumVal = splits.YVal.Length,
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            UpdateRule = settings.UpdateRule,
            LearningRate = settings.LearningRate,
            Seconds = watch.Elapsed.TotalSeconds,
            Points = points.ToArray(),
        };
        WeightScaleTable.Write(output, report);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{points.Count} of {scales.Length} weight scales in {watch.Elapsed.TotalSeconds:F1} s"));
        if (cancelled)
            output.WriteLine("Cancelled: the table, figure and report hold the scales completed.");

        if (points.Count > 0)
        {
            foreach (string path in ReportPlots.Save(settings.PlotsDirectory, report))
                output.WriteLine($"Wrote {path}");
        }
        if (settings.JsonPath is string json)
        {
            ReportJson.Write(json, report);
            output.WriteLine($"Wrote {json}");
        }
        return cancelled ? ExitCodes.Cancelled : ExitCodes.Success;
    }

    private static RunOutcome TrainOne(WeightScaleSettings settings, SolverData<T> data, int inputDim, double weightScale,
        NormalizationKind normalization, int seed, CancellationToken cancellationToken)
    {
        var model = new FullyConnectedNet<T>(settings.HiddenDims, inputDim, numClasses: 10, normalization: normalization,
            weightScale: weightScale, seed: seed, kernels: Kernels.For<T>(settings.Runtime.Backend));
        var solver = new Solver<T>(model, data, new SolverOptions
        {
            UpdateRule = settings.UpdateRule,
            OptimConfig = new OptimConfig { LearningRate = settings.LearningRate },
            BatchSize = settings.BatchSize,
            NumEpochs = settings.Epochs,
            Verbose = false,
            Seed = seed,
        });
        bool diverged = false;
        try
        {
            solver.Train(cancellationToken);
        }
        catch (InvalidOperationException) when (solver.LossHistory.Count > 0 && !double.IsFinite(solver.LossHistory[^1]))
        {
            // The seed plots such a run too (numpy carries on with inf and nan); here the solver stops,
            // and the run keeps the accuracies it reached and no final loss.
            diverged = true;
        }
        double bestTrain = solver.TrainAccHistory.DefaultIfEmpty(0).Max();
        double bestVal = solver.ValAccHistory.DefaultIfEmpty(0).Max();
        double? finalLoss = diverged ? null : solver.LossHistory.TakeLast(FinalLossWindow).Average();
        return new RunOutcome(bestTrain, bestVal, finalLoss, diverged);
    }

}
