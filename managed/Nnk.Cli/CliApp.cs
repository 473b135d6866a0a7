using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;
using Nnk.Cli.Experiments;
using Nnk.Cli.Plots;
using Nnk.Cli.Train;

namespace Nnk.Cli;

/// <summary>
/// The <c>nnk</c> command line: parses the arguments, runs the command and turns every outcome into
/// an exit code (<see cref="ExitCodes"/>). A wrong command line prints the errors and the command's
/// usage to stderr and returns 2; a failure while running prints its message and returns 1.
/// Callable in-process, which is how the tests drive it.
/// </summary>
internal static class CliApp
{
    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and
    /// <paramref name="error"/> (progress as plain lines); returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        Run(args, new CliConsole(output, error, ErrorIsTerminal: false), CancellationToken.None);

    /// <summary>Runs the command line <paramref name="args"/>; returns the exit code.</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="console">Where output, progress and errors go.</param>
    /// <param name="cancellationToken">Cancels a running command (Ctrl+C); it then reports what it did and returns 130.</param>
    public static int Run(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        Command root = CreateRoot(console, cancellationToken);
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var parseError in result.Errors)
                console.Error.WriteLine($"nnk: error: {parseError.Message}");
            console.Error.WriteLine();
            WriteHelp(root, result.CommandResult.Command, console.Error);
            return ExitCodes.Usage;
        }

        try
        {
            return result.Invoke(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"nnk: error: {e.Message}");
            console.Error.WriteLine();
            WriteHelp(root, result.CommandResult.Command, console.Error);
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.Error.WriteLine("nnk: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException
                                      or InvalidOperationException or JsonException or NotSupportedException)
        {
            console.Error.WriteLine($"nnk: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static Command CreateRoot(CliConsole console, CancellationToken cancellationToken)
    {
        var root = new Command("nnk", "Train and examine convolutional networks on the CPU with nnk (native kernels, cs231n-style Solver)")
        {
            TrainCommand.Create(console, cancellationToken),
            ExperimentCommand.Create(console, cancellationToken),
            PlotCommand.Create(console),
        };
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }

    // Help is written by parsing "<path> --help" again with stdout pointed where the usage should go.
    private static void WriteHelp(Command root, Command command, TextWriter writer)
    {
        var path = new List<string>();
        for (Command? c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
            path.Insert(0, c.Name);
        path.Add("--help");
        root.Parse(path).Invoke(new InvocationConfiguration { Output = writer, Error = writer });
    }
}
