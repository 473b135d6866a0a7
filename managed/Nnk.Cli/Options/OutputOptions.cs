using System.CommandLine;

namespace Nnk.Cli.Options;

/// <summary>Options saying where results go and how much is printed.</summary>
internal sealed class OutputOptions
{
    private readonly Option<string?> _json;
    private readonly Option<string?> _plots;
    private readonly Option<bool> _quiet = OptionFactory.Flag("--quiet",
        "Print only the final results: no log lines, no progress");

    /// <summary>Creates the options with descriptions saying what this command writes.</summary>
    public OutputOptions(string jsonDescription, string plotsDescription)
    {
        _json = OptionFactory.Path("--json", jsonDescription, "FILE");
        _plots = OptionFactory.Path("--plots", plotsDescription, "DIR");
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_json);
        command.Options.Add(_plots);
        command.Options.Add(_quiet);
    }

    /// <summary>The JSON file to write, or null.</summary>
    public string? Json(ParseResult result) => result.GetValue(_json);

    /// <summary>The directory to write plots into, or null.</summary>
    public string? Plots(ParseResult result) => result.GetValue(_plots);

    /// <summary>Whether --quiet was given.</summary>
    public bool Quiet(ParseResult result) => result.GetValue(_quiet);
}
