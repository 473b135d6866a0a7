using System.CommandLine;
using Nnk.Cli.Options;
using Nnk.Cli.Reports;

namespace Nnk.Cli.Plots;

/// <summary>
/// <c>nnk plot</c>: redraws the figures of a JSON report or a checkpoint. A report of <c>nnk train --json</c>
/// or a checkpoint (<c>.safetensors</c>, from <c>nnk train --checkpoint</c> or any Solver) gives training.png
/// (loss per iteration, train and val accuracy per epoch) and filters.png (the first layer's weights); a
/// report of <c>nnk experiment weight-scale --json</c> gives weight-scale.png.
/// </summary>
internal static class PlotCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        Option<string?> from = OptionFactory.Path("--from",
            "A report written by nnk train --json or nnk experiment weight-scale --json, or a checkpoint (.safetensors) " +
            "of nnk train --checkpoint (required)", "FILE");
        from.Required = true;
        Option<string?> outDirectory = OptionFactory.Path("--out", "Directory for the PNG files [default: the current directory]", "DIR");

        var command = new Command("plot",
            "Redraw the PNG figures of a JSON report or checkpoint: training.png and filters.png from nnk train, " +
            "weight-scale.png from nnk experiment weight-scale")
        {
            from,
            outDirectory,
        };
        command.SetAction(result =>
        {
            string path = result.GetValue(from)!;
            string directory = result.GetValue(outDirectory) ?? ".";
            IReadOnlyList<string> written = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                ? CheckpointPlots.Save(path, directory)
                : ReportJson.Read(path) switch
                {
                    TrainReport train => ReportPlots.Save(directory, train),
                    WeightScaleReport weightScale => ReportPlots.Save(directory, weightScale),
                    var other => throw new InvalidDataException($"'{path}' holds an unexpected report {other.GetType().Name}."),
                };
            foreach (string file in written)
                console.Out.WriteLine($"Wrote {file}");
            return ExitCodes.Success;
        });
        return command;
    }
}
