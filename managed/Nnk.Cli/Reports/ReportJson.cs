using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nnk.Cli.Reports;

/// <summary>
/// Writes and reads the JSON reports. Every report carries a <c>kind</c> (<c>train</c> or
/// <c>weight-scale</c>) so that <c>nnk plot</c> knows which figures it can redraw. A loss that became
/// NaN or infinite is written as the string "NaN" or "Infinity".
/// </summary>
internal static class ReportJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/>, creating its directory.</summary>
    public static void Write<TReport>(string path, TReport report)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
            Directory.CreateDirectory(directory);
        File.WriteAllText(path, JsonSerializer.Serialize(report, Options) + Environment.NewLine);
    }

    /// <summary>Reads a report: a <see cref="TrainReport"/> or a <see cref="WeightScaleReport"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not JSON, has no known <c>kind</c>, or lacks a field;
    /// the message names the file.</exception>
    public static object Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The report '{path}' does not exist.", path);
        try
        {
            string text = File.ReadAllText(path);
            using JsonDocument document = JsonDocument.Parse(text);
            string? kind = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("kind", out JsonElement k) && k.ValueKind == JsonValueKind.String
                ? k.GetString()
                : null;
            return kind switch
            {
                TrainReport.KindName => JsonSerializer.Deserialize<TrainReport>(text, Options)!,
                WeightScaleReport.KindName => JsonSerializer.Deserialize<WeightScaleReport>(text, Options)!,
                _ => throw new InvalidDataException(
                    $"'{path}' is not an nnk report: its \"kind\" is {(kind is null ? "missing" : $"\"{kind}\"")}, " +
                    $"expected \"{TrainReport.KindName}\" (from nnk train --json) or \"{WeightScaleReport.KindName}\" " +
                    "(from nnk experiment weight-scale --json)."),
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid nnk report: {e.Message}", e);
        }
    }
}
