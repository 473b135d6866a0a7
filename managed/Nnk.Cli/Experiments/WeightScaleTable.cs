using System.Globalization;
using Nnk.Cli.Reports;

namespace Nnk.Cli.Experiments;

/// <summary>Prints the weight-scale experiment's numbers as a fixed-width table, one row per scale.</summary>
internal static class WeightScaleTable
{
    /// <summary>Writes the header and one row per point of <paramref name="report"/>.</summary>
    public static void Write(TextWriter output, WeightScaleReport report)
    {
        output.WriteLine();
        output.WriteLine($"{"weight scale",12}  {"best val acc",19}  {"best train acc",19}  {"final train loss",21}");
        output.WriteLine($"{"",12}  {"baseline",9} {"batchnorm",9}  {"baseline",9} {"batchnorm",9}  {"baseline",10} {"batchnorm",10}");
        foreach (WeightScalePoint p in report.Points)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.WeightScale,12:0.000e+00}  {p.Baseline.BestValAcc,9:F4} {p.Batchnorm.BestValAcc,9:F4}  " +
                $"{p.Baseline.BestTrainAcc,9:F4} {p.Batchnorm.BestTrainAcc,9:F4}  {Loss(p.Baseline),10} {Loss(p.Batchnorm),10}"));
        }
        output.WriteLine();
    }

    private static string Loss(RunOutcome outcome) =>
        outcome.FinalLoss is double loss ? loss.ToString("F4", CultureInfo.InvariantCulture) : "diverged";
}
