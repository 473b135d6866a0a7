using Nnk.Cli.Reports;

namespace Nnk.Cli.Plots;

/// <summary>Draws every figure a report holds the numbers for into a directory, under fixed names.</summary>
internal static class ReportPlots
{
    /// <summary>The loss and accuracy figure of a training run.</summary>
    public const string TrainingFile = "training.png";

    /// <summary>The first-layer filter grid of a training run.</summary>
    public const string FiltersFile = "filters.png";

    /// <summary>The three-panel figure of the weight-scale experiment.</summary>
    public const string WeightScaleFile = "weight-scale.png";

    /// <summary>Writes <see cref="TrainingFile"/> and, when the report has filters, <see cref="FiltersFile"/>.</summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> Save(string directory, TrainReport report) =>
        SaveTraining(directory, $"{report.Model} on {report.Dataset}", report.History, report.Filters);

    /// <summary>Writes <see cref="TrainingFile"/> from <paramref name="history"/> and, when given, <see cref="FiltersFile"/>.</summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> SaveTraining(string directory, string title, TrainHistory history, FilterSet? filters)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        string training = Path.Combine(directory, TrainingFile);
        TrainingPlot.Save(training, title, history.Loss, history.TrainAcc, history.ValAcc, history.TestAcc);
        written.Add(training);
        if (filters is not null)
        {
            string grid = Path.Combine(directory, FiltersFile);
            FilterGridPng.Save(grid, FilterGrid.Build(filters.Values, filters.Shape));
            written.Add(grid);
        }
        return written;
    }

    /// <summary>Writes <see cref="WeightScaleFile"/>.</summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> Save(string directory, WeightScaleReport report)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, WeightScaleFile);
        WeightScalePlot.Save(path, report);
        return [path];
    }
}
