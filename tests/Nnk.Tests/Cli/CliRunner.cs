using Nnk.Cli;

namespace Nnk.Tests.Cli;

/// <summary>Runs the nnk command line in-process and captures what it printed.</summary>
internal static class CliRunner
{
    public static CliResult Run(params string[] args) => Run(CancellationToken.None, args);

    public static CliResult Run(CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, new CliConsole(output, error, ErrorIsTerminal: false), cancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}

/// <summary>An exit code and the text written to stdout and stderr.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
