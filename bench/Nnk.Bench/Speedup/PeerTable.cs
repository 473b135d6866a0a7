using System.Globalization;

namespace Nnk.Bench.Speedup;

/// <summary>
/// A peer's medians read from its markdown table (the TorchSharp tool's output:
/// <c>| shape | pass | threads | median ms |</c>), so the harness can print nnk's ratio to it.
/// Lines that are not such rows (headings, the header, separators) are skipped.
/// </summary>
public sealed class PeerTable
{
    private readonly Dictionary<(string Shape, string Pass, int Threads), double> _ms = new();

    private PeerTable(string path) => Path = path;

    /// <summary>The file the table was read from.</summary>
    public string Path { get; }

    /// <summary>Rows read.</summary>
    public int Count => _ms.Count;

    /// <summary>Reads every row of the form | shape | pass | threads | ms | in <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file holds no such row, or a shape/pass/threads row twice.</exception>
    public static PeerTable Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"peer table {path} does not exist; produce it with ../shared/peers/torchsharp/run.sh > FILE.", path);
        var table = new PeerTable(path);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string[] cells = line.Split('|', StringSplitOptions.TrimEntries);
            // "| a | b | c | d |" splits into 6 cells, the first and last empty.
            if (cells.Length != 6 || cells[0].Length != 0 || cells[5].Length != 0)
                continue;
            if (!int.TryParse(cells[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out int threads) ||
                !double.TryParse(cells[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double ms))
                continue;
            if (!table._ms.TryAdd((cells[1], cells[2], threads), ms))
                throw new InvalidDataException(
                    $"{path}:{lineNumber}: {cells[1]} {cells[2]} at {threads} thread(s) appears twice.");
        }
        if (table.Count == 0)
            throw new InvalidDataException($"{path} holds no row of the form | shape | pass | threads | median ms |.");
        return table;
    }

    /// <summary>The peer's median for a row, or null when the table does not have it.</summary>
    public double? Milliseconds(string shape, string pass, int threads) =>
        _ms.TryGetValue((shape, pass, threads), out double ms) ? ms : null;
}
