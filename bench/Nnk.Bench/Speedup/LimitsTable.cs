using System.Globalization;
using System.Text.RegularExpressions;

namespace Nnk.Bench.Speedup;

/// <summary>
/// The machine's ceilings read from the limits tool's output (<c>../shared/peers/limits/run.sh</c>):
/// sgemm GFLOP/s of the convolution-shaped GEMMs per thread count, from the first BLAS it measured,
/// and STREAM copy GB/s of the large (DRAM-sized) arrays per thread count.
/// </summary>
public sealed partial class LimitsTable
{
    private readonly Dictionary<(string Name, int Threads), double> _gflops = new();
    private readonly Dictionary<int, double> _copy = new();

    private LimitsTable(string path) => Path = path;

    /// <summary>The file the table was read from.</summary>
    public string Path { get; }

    /// <summary>The BLAS whose sgemm rates were read (the first one the tool measured).</summary>
    public string Blas { get; private set; } = "";

    [GeneratedRegex(@"^## (\S+) threads=(\d+)\s*$")]
    private static partial Regex SectionLine();

    [GeneratedRegex(@"^\| 64 MiB x3 \| (\d+) threads \| copy ([0-9.]+) GB/s \|")]
    private static partial Regex StreamLine();

    /// <summary>Reads the sections <c>## LIB threads=N</c> with rows <c>| name | M x N x K | GFLOP/s |</c>, and the rows <c>| 64 MiB x3 | N threads | copy X GB/s | ...</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file holds no sgemm rate or no copy bandwidth.</exception>
    public static LimitsTable Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"limits file {path} does not exist; produce it with ../shared/peers/limits/run.sh > FILE.", path);
        var table = new LimitsTable(path);
        int threads = 0;
        bool firstBlas = false;
        foreach (string line in File.ReadLines(path))
        {
            if (SectionLine().Match(line) is { Success: true } section)
            {
                if (table.Blas.Length == 0)
                    table.Blas = section.Groups[1].Value;
                firstBlas = section.Groups[1].Value == table.Blas;
                threads = int.Parse(section.Groups[2].Value, CultureInfo.InvariantCulture);
                continue;
            }
            if (StreamLine().Match(line) is { Success: true } stream)
            {
                table._copy[int.Parse(stream.Groups[1].Value, CultureInfo.InvariantCulture)] =
                    double.Parse(stream.Groups[2].Value, CultureInfo.InvariantCulture);
                firstBlas = false;
                continue;
            }
            string[] cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (firstBlas && cells.Length == 5 && cells[2].Contains(" x ") &&
                double.TryParse(cells[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double gflops))
                table._gflops[(cells[1], threads)] = gflops;
        }
        if (table._gflops.Count == 0 || table._copy.Count == 0)
            throw new InvalidDataException($"{path} holds no sgemm rate (| name | M x N x K | GFLOP/s | under ## LIB threads=N) " +
                "or no copy bandwidth (| 64 MiB x3 | N threads | copy X GB/s |).");
        return table;
    }

    /// <summary>sgemm GFLOP/s of a named shape (for example "conv_3l image") at a thread count, or null.</summary>
    public double? Sgemm(string name, int threads) => _gflops.TryGetValue((name, threads), out double v) ? v : null;

    /// <summary>STREAM copy GB/s of DRAM-sized arrays at a thread count, or null.</summary>
    public double? StreamCopy(int threads) => _copy.TryGetValue(threads, out double v) ? v : null;

    /// <summary>
    /// The ceiling of a harness row, in its rate's unit: for a convolution (GFLOP/s) the better of
    /// the sgemm rates of its per-image and whole-batch GEMM shapes; for pooling and normalisation
    /// (GB/s) the copy bandwidth; null for anything else or a shape the tool does not measure.
    /// </summary>
    public double? Ceiling(string shape, string unit, int threads) => unit switch
    {
        "GFLOP/s" => (Sgemm($"{shape} image", threads), Sgemm($"{shape} batch", threads)) switch
        {
            (double image, double batch) => Math.Max(image, batch),
            (double image, null) => image,
            (null, double batch) => batch,
            _ => null,
        },
        "GB/s" => StreamCopy(threads),
        _ => null,
    };
}
