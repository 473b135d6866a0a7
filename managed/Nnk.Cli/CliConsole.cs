namespace Nnk.Cli;

/// <summary>Where the command writes: results and the training log to <see cref="Out"/>, progress,
/// warnings and errors to <see cref="Error"/>.</summary>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
/// <param name="ErrorIsTerminal">True when <see cref="Error"/> is an interactive terminal, so progress
/// can be a live bar redrawn in place; false for periodic plain lines.</param>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, bool ErrorIsTerminal);
