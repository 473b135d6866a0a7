namespace Nnk.Cli;

/// <summary>What the <c>nnk</c> command returns to the shell.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The command line was valid but the work failed: missing or malformed data, a diverging
    /// loss, an unloadable BLAS. The message on stderr says which.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong: an unknown command or option, a bad value, a missing
    /// required option. Usage follows the message on stderr.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}
