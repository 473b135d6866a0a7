using ScottPlot;

namespace Nnk.Cli.Plots;

/// <summary>
/// The seeds' Solver figure as a PNG: training loss per iteration (dots) above training and
/// validation accuracy per check (lines with markers; check 0 is after the first iteration, check k
/// the end of epoch k), and test accuracy per epoch when it was measured.
/// </summary>
internal static class TrainingPlot
{
    private const int Width = 1000;
    private const int Height = 800;

    /// <summary>Draws the figure into <paramref name="path"/>.</summary>
    /// <param name="path">The PNG file to write; its directory must exist.</param>
    /// <param name="title">Shown above the loss panel, for example the model and dataset.</param>
    /// <param name="loss">Loss of every iteration; non-finite values are left out.</param>
    /// <param name="trainAcc">Training accuracy of every check.</param>
    /// <param name="valAcc">Validation accuracy of every check.</param>
    /// <param name="testAcc">Test accuracy after each epoch (drawn from epoch 1), or null.</param>
    public static void Save(string path, string title, IReadOnlyList<double> loss, IReadOnlyList<double> trainAcc,
        IReadOnlyList<double> valAcc, IReadOnlyList<double>? testAcc = null)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();

        Plot lossPlot = multiplot.GetPlot(0);
        (double[] xs, double[] ys) = Finite(loss);
        var dots = lossPlot.Add.ScatterPoints(xs, ys);
        dots.MarkerSize = 3;
        lossPlot.Title($"Training loss — {title}");
        lossPlot.XLabel("Iteration");
        lossPlot.YLabel("Loss");

        Plot accPlot = multiplot.GetPlot(1);
        AddLine(accPlot, trainAcc, "train");
        AddLine(accPlot, valAcc, "val");
        if (testAcc is { Count: > 0 })
            AddLine(accPlot, testAcc, "test", firstEpoch: 1);
        accPlot.Title("Accuracy");
        accPlot.XLabel("Epoch");
        accPlot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        accPlot.YLabel("Accuracy");
        accPlot.ShowLegend(Alignment.LowerRight);

        multiplot.SavePng(path, Width, Height);
    }

    private static void AddLine(Plot plot, IReadOnlyList<double> values, string label, int firstEpoch = 0)
    {
        double[] xs = Enumerable.Range(firstEpoch, values.Count).Select(i => (double)i).ToArray();
        var line = plot.Add.Scatter(xs, values.ToArray());
        line.LegendText = label;
        line.MarkerSize = 6;
    }

    private static (double[] Xs, double[] Ys) Finite(IReadOnlyList<double> values)
    {
        var xs = new List<double>(values.Count);
        var ys = new List<double>(values.Count);
        for (int i = 0; i < values.Count; i++)
        {
            if (double.IsFinite(values[i]))
            {
                xs.Add(i + 1);
                ys.Add(values[i]);
            }
        }
        return (xs.ToArray(), ys.ToArray());
    }
}
