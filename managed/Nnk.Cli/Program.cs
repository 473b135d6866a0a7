using Nnk.Cli;

// The first Ctrl+C asks the running command to stop at the next iteration (it then reports what was
// done and exits with 130); a second one ends the process at once.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancellation.IsCancellationRequested)
        return;
    e.Cancel = true;
    cancellation.Cancel();
};
var console = new CliConsole(Console.Out, Console.Error, ErrorIsTerminal: !Console.IsErrorRedirected);
return CliApp.Run(args, console, cancellation.Token);
