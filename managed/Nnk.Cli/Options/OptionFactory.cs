using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Nnk.Cli.Options;

/// <summary>
/// Builds options whose bad values are parse errors naming the option, what it expects and what it
/// was given, so that every command reports them the same way (exit code 2, then usage). Numbers are
/// read with the invariant culture: <c>--lr 1e-3</c> means the same on every machine.
/// </summary>
internal static class OptionFactory
{
    /// <summary>An optional integer of at least <paramref name="minimum"/>; null when not given.</summary>
    public static Option<int?> Integer(string name, string description, int minimum, string? helpName = null) =>
        new(name)
        {
            Description = description,
            HelpName = helpName ?? "N",
            CustomParser = result => ParseInteger(result, name, minimum),
        };

    /// <summary>An optional integer of any sign, for seeds; null when not given.</summary>
    public static Option<int?> AnyInteger(string name, string description) =>
        Integer(name, description, int.MinValue);

    /// <summary>An optional finite number in [<paramref name="minimum"/>, <paramref name="maximum"/>],
    /// the minimum excluded when <paramref name="minimumExcluded"/>; null when not given.</summary>
    public static Option<double?> Number(string name, string description, double minimum, bool minimumExcluded,
        double maximum = double.MaxValue) =>
        new(name)
        {
            Description = description,
            HelpName = "X",
            CustomParser = result => ParseNumber(result, name, minimum, minimumExcluded, maximum),
        };

    /// <summary>The value of <paramref name="option"/> when it was given, else null. (An array option that was
    /// not given reads as an empty array, not null.)</summary>
    public static T? ValueIfGiven<T>(ParseResult result, Option<T> option) =>
        result.GetResult(option) is null ? default : result.GetValue(option);

    /// <summary>An optional comma-separated list of positive integers, such as <c>100,100</c>; null when not given.</summary>
    public static Option<int[]?> IntegerList(string name, string description) =>
        new(name)
        {
            Description = description,
            HelpName = "N,N,...",
            CustomParser = result => ParseIntegerList(result, name),
        };

    /// <summary>An optional value chosen by name from <paramref name="choices"/>; the help shows the names.</summary>
    public static Option<T?> Choice<T>(string name, string description, IReadOnlyDictionary<string, T> choices)
        where T : struct =>
        new(name)
        {
            Description = description,
            HelpName = string.Join('|', choices.Keys),
            CustomParser = result =>
            {
                string token = result.Tokens[0].Value;
                if (choices.TryGetValue(token, out T value))
                    return value;
                result.AddError($"{name} must be one of {string.Join(", ", choices.Keys)}; it was '{token}'.");
                return null;
            },
        };

    /// <summary>An optional name from <paramref name="names"/>, matched exactly; null when not given.</summary>
    public static Option<string?> Name(string name, string description, IReadOnlyList<string> names) =>
        new(name)
        {
            Description = description,
            HelpName = string.Join('|', names),
            CustomParser = result =>
            {
                string token = result.Tokens[0].Value;
                if (names.Contains(token, StringComparer.Ordinal))
                    return token;
                result.AddError($"{name} must be one of {string.Join(", ", names)}; it was '{token}'.");
                return null;
            },
        };

    /// <summary>An optional file or directory path; null when not given.</summary>
    public static Option<string?> Path(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>A switch: true when given.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    private static int? ParseInteger(ArgumentResult result, string name, int minimum)
    {
        string token = result.Tokens[0].Value;
        if (!int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
        {
            result.AddError($"{name} expects a whole number; it was '{token}'.");
            return null;
        }
        if (value < minimum)
        {
            result.AddError($"{name} must be at least {minimum}; it was {value}.");
            return null;
        }
        return value;
    }

    private static double? ParseNumber(ArgumentResult result, string name, double minimum, bool minimumExcluded, double maximum)
    {
        string token = result.Tokens[0].Value;
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            result.AddError($"{name} expects a finite number such as 0.01 or 1e-3; it was '{token}'.");
            return null;
        }
        bool tooSmall = minimumExcluded ? value <= minimum : value < minimum;
        if (tooSmall || value > maximum)
        {
            string low = minimumExcluded ? $"({Format(minimum)}" : $"[{Format(minimum)}";
            string high = maximum == double.MaxValue ? "inf)" : $"{Format(maximum)}]";
            result.AddError($"{name} must lie in {low}, {high}; it was {token}.");
            return null;
        }
        return value;
    }

    private static int[]? ParseIntegerList(ArgumentResult result, string name)
    {
        string token = result.Tokens[0].Value;
        string[] parts = token.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
            {
                result.AddError($"{name} expects positive whole numbers separated by commas, such as 100,100; it was '{token}'.");
                return null;
            }
        }
        return values;
    }

    private static string Format(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
