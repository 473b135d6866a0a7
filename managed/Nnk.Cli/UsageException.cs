namespace Nnk.Cli;

/// <summary>A command line that parsed but cannot be run as given (for example <c>--data</c> missing
/// for a dataset that has no default location); reported like a parse error, with exit code 2.</summary>
internal sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the option, what it expects and what it was given.</param>
    public UsageException(string message) : base(message)
    {
    }
}
