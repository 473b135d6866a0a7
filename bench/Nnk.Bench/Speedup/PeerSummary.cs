using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nnk.Bench.Speedup;

/// <summary>
/// <c>summarize FILE...</c>: the median over several rounds of the harness's JSON rows (each round
/// run with <c>--peers</c> and <c>--limits</c>, alternating with the peer tool), as one markdown table
/// per thread count with the issue's targets: nnk at most 0.8x the peer's time (0.67x for a training
/// step), convolutions at 75 % of sgemm, pooling and normalisation at 60 % of copy bandwidth. The
/// % of ceiling is the median of each round's rate over that round's ceiling. The ratio to the peer
/// is judged as the median of nnk's times over the median of the peer's; beside it, the range of the
/// rounds' own ratios shows how far the shared machine moved them.
/// </summary>
public static class PeerSummary
{
    public const string Usage =
        "usage: Nnk.Bench summarize FILE...\n" +
        "  FILE  a JSON file from `speedup --native-only --peers P --limits L --json FILE`; give one per round\n" +
        "  Prints, per thread count, the median over the rounds of nnk's and the peer's times, their ratio\n" +
        "  (and the range of the rounds' own ratios), nnk's rate and its % of the machine's ceiling (the\n" +
        "  median of each round's % of its own ceiling), each against its target.";

    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args.Contains("--help") || args.Contains("-h"))
        {
            (args.Count == 0 ? Console.Error : Console.Out).WriteLine(Usage);
            return args.Count == 0 ? 2 : 0;
        }
        List<SpeedupRow> rows;
        try
        {
            rows = args.SelectMany(Read).ToList();
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        Console.Write(Format(rows, args.Count));
        return 0;
    }

    private static IEnumerable<SpeedupRow> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} does not exist.", path);
        return JsonSerializer.Deserialize<List<SpeedupRow>>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"{path} holds no rows.");
    }

    /// <summary>The summary tables of rows from <paramref name="rounds"/> rounds.</summary>
    public static string Format(IEnumerable<SpeedupRow> rows, int rounds)
    {
        var text = new StringBuilder();
        foreach (var byThreads in rows.GroupBy(r => r.Threads).OrderBy(g => g.Key))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"### {byThreads.Key} thread(s), medians of {rounds} round(s)");
            text.AppendLine();
            text.AppendLine("| shape | pass | nnk ms | TorchSharp ms | nnk/TorchSharp | rounds' ratios | target | nnk rate | ceiling | % of ceiling | target |");
            text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |");
            foreach (var row in byThreads.GroupBy(r => (r.Shape, r.Pass)))
            {
                SpeedupRow first = row.First();
                double nativeMs = Median(row.Select(r => r.NativeMs));
                double? peerMs = MedianOrNull(row.Select(r => r.PeerMs));
                double? ceiling = MedianOrNull(row.Select(r => r.CeilingRate));
                var shape = StandardShapes.ByName(first.Shape);
                bool forward = first.Pass == "forward";
                var (rate, unit) = shape.Rate(forward, nativeMs);
                bool train = first.Pass == "step";
                double ratioTarget = train ? 0.67 : 0.8;
                double? ratio = nativeMs / peerMs;
                double[] roundRatios = row.Where(r => r.PeerMs is not null).Select(r => r.NativeMs / r.PeerMs!.Value).ToArray();
                // Each round's rate against its own round's ceiling (the limits tool runs every round: a
                // ceiling read while the host took the other vCPU would skew every row), then the median.
                double? percent = MedianOrNull(row.Select(r =>
                    r.CeilingRate is double c ? 100 * shape.Rate(forward, r.NativeMs).Value / c : (double?)null));
                double percentTarget = unit == "GFLOP/s" ? 75 : 60;
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {first.Shape} | {first.Pass} | {nativeMs:F2} | {Cell(peerMs, "F2")} | {Cell(ratio, "F2")} | {Range(roundRatios)} | " +
                    $"{Mark(ratio, r => r <= ratioTarget, $"<= {ratioTarget}")} | {rate:F1} {unit} | {Cell(ceiling, "F1")} | " +
                    $"{Cell(percent, "F0")} | {(ceiling is null ? "-" : Mark(percent, p => p >= percentTarget, $">= {percentTarget}"))} |");
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    private static string Mark(double? value, Func<double, bool> meets, string target) =>
        value is double v ? (meets(v) ? $"{target} met" : $"{target} **missed**") : "-";

    // The smallest and largest of the rounds' ratios, one number when they agree, "-" without a peer.
    private static string Range(double[] values)
    {
        if (values.Length == 0)
            return "-";
        string low = values.Min().ToString("F2", CultureInfo.InvariantCulture);
        string high = values.Max().ToString("F2", CultureInfo.InvariantCulture);
        return low == high ? low : $"{low}-{high}";
    }

    private static string Cell(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static double? MedianOrNull(IEnumerable<double?> values)
    {
        double[] present = values.OfType<double>().ToArray();
        return present.Length == 0 ? null : Median(present);
    }

    /// <summary>The median; the mean of the middle two for an even count.</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            throw new InvalidDataException("no values to take the median of.");
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
