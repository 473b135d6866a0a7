using System.Globalization;
using Nnk.Cli.Reports;
using ScottPlot;

namespace Nnk.Cli.Plots;

/// <summary>
/// The batch-normalization seed's weight-initialisation figure as a PNG: best validation accuracy,
/// best training accuracy and final training loss against the weight scale (log axis), baseline and
/// batchnorm networks in each panel. Runs that diverged have no loss point; losses above 3.5 are off the
/// panel, as in the seed.
/// </summary>
internal static class WeightScalePlot
{
    private const int Width = 1000;
    private const int Height = 1500;

    /// <summary>Draws the figure for <paramref name="report"/> into <paramref name="path"/>.</summary>
    public static void Save(string path, WeightScaleReport report)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();

        Panel(multiplot.GetPlot(0), report, "Best val accuracy vs weight initialization scale", "Best val accuracy",
            o => o.BestValAcc);
        Panel(multiplot.GetPlot(1), report, "Best train accuracy vs weight initialization scale", "Best training accuracy",
            o => o.BestTrainAcc);
        Plot lossPanel = multiplot.GetPlot(2);
        Panel(lossPanel, report, "Final training loss vs weight initialization scale", "Final training loss",
            o => o.FinalLoss);
        // As the seed's set_ylim(1.0, 3.5), so that an exploding baseline does not flatten the rest; from 0,
        // because MNIST's losses fall below 1.
        lossPanel.Axes.SetLimitsY(0, 3.5);

        multiplot.SavePng(path, Width, Height);
    }

    private static void Panel(Plot plot, WeightScaleReport report, string title, string yLabel, Func<RunOutcome, double?> value)
    {
        Series(plot, report, "baseline", p => value(p.Baseline));
        Series(plot, report, "batchnorm", p => value(p.Batchnorm));
        plot.Title(title);
        plot.XLabel("Weight initialization scale");
        plot.YLabel(yLabel);
        // ScottPlot has no log axis: the points sit at log10(scale) and the ticks are labelled 10^k.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = exponent => "1e" + exponent.ToString("0", CultureInfo.InvariantCulture),
        };
        plot.ShowLegend(Alignment.LowerRight);
    }

    private static void Series(Plot plot, WeightScaleReport report, string label, Func<WeightScalePoint, double?> value)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (WeightScalePoint point in report.Points)
        {
            if (value(point) is double y && double.IsFinite(y))
            {
                xs.Add(Math.Log10(point.WeightScale));
                ys.Add(y);
            }
        }
        var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        scatter.LegendText = label;
        scatter.MarkerSize = 6;
    }
}
