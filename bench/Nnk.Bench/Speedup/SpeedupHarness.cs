using System.Numerics;
using System.Text.Json;
using Nnk;

namespace Nnk.Bench.Speedup;

/// <summary>
/// The seeds' naive-vs-fast cells for C#: for each standard shape and pass, the median times of
/// the naive managed, fast managed and native kernels, their speedups, and the rel_error of the
/// fast outputs against the naive ones.
/// </summary>
public static class SpeedupHarness
{
    private static readonly TimeSpan FastBudget = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan NaiveBudget = TimeSpan.FromSeconds(2);

    public static int Run(IReadOnlyList<string> args)
    {
        SpeedupOptions options;
        PeerTable? peers;
        LimitsTable? limits;
        try
        {
            if (args.Contains("--help") || args.Contains("-h"))
            {
                Console.WriteLine(SpeedupOptions.Usage, string.Join(", ", StandardShapes.Names));
                return 0;
            }
            options = SpeedupOptions.Parse(args, StandardShapes.Names);
            peers = options.PeersPath is null ? null : PeerTable.Read(options.PeersPath);
            limits = options.LimitsPath is null ? null : LimitsTable.Read(options.LimitsPath);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(SpeedupOptions.Usage, string.Join(", ", StandardShapes.Names));
            return 2;
        }

        if (options.Blas is not null)
            NnkRuntime.SelectBlas(options.Blas);
        AlignedMemory.HugePages = !options.SmallPages;
        string blas = NnkRuntime.Blas, core = NnkRuntime.BlasCore;
        string kernels = core.Length == 0 ? "" : $" ({core} kernels)";
        string pages = options.SmallPages ? "; buffers on 4 KiB pages (--small-pages)" : "";
        Console.WriteLine($"nnk {NnkRuntime.NativeVersion}, BLAS {blas}{kernels}, {Environment.ProcessorCount} cores; float32 medians in ms, rel_error in float64 against naive{pages}");
        if (peers is not null)
            Console.WriteLine($"peer: {peers.Path} ({peers.Count} rows); native/peer below 1 means nnk is faster");
        if (limits is not null)
            Console.WriteLine($"limits: {limits.Path} (sgemm of {limits.Blas}; conv rows against the better of its per-image and batch GEMM shapes, pool and norm rows against DRAM copy)");
        Console.WriteLine();
        string limitsHeader = limits is null ? "" : " ceiling | % of ceiling |";
        string limitsAlign = limits is null ? "" : " ---: | ---: |";
        string peerHeader = peers is null ? "" : " peer ms | native/peer |";
        string peerAlign = peers is null ? "" : " ---: | ---: |";
        Console.WriteLine("| shape | pass | threads | naive ms | managed ms | native ms | managed/naive | native/naive | native/managed | native rate | rel_error native | rel_error managed |" + peerHeader + limitsHeader);
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + peerAlign + limitsAlign);

        var rows = new List<SpeedupRow>();
        foreach (int threads in options.Threads)
        {
            NnkRuntime.NumThreads = threads;
            foreach (string name in options.Shapes)
            {
                BenchShape shape = StandardShapes.ByName(name);
                foreach (string pass in shape.Passes)
                {
                    if (!Console.IsErrorRedirected)
                        Console.Error.Write($"  measuring {name} {pass} at {threads} thread(s)...\r");
                    SpeedupRow row = Measure(shape, pass, threads, blas, options.NativeOnly);
                    row = row with
                    {
                        PeerMs = peers?.Milliseconds(name, pass, threads),
                        CeilingRate = limits?.Ceiling(name, row.NativeRateUnit, threads),
                    };
                    rows.Add(row);
                    if (!Console.IsErrorRedirected)
                        Console.Error.Write(new string(' ', 60) + "\r");
                    Console.WriteLine(
                        $"| {row.Shape} | {row.Pass} | {row.Threads} | {Cell(row.NaiveMs, "F1")} | {Cell(row.ManagedMs, "F2")} | {row.NativeMs:F2} | " +
                        $"{Cell(row.ManagedSpeedup, "F1", "x")} | {Cell(row.NativeSpeedup, "F1", "x")} | {Cell(row.NativeVsManaged, "F1", "x")} | " +
                        $"{row.NativeRate:F1} {row.NativeRateUnit} | {Cell(row.RelError, "E1")} | {Cell(row.ManagedRelError, "E1")} |" +
                        PeerCells(row, peers) + LimitsCells(row, limits));
                }
            }
        }

        if (options.Shapes.Contains("bn_seed") && !options.NativeOnly)
            PrintGraphVersusAlt();

        if (options.JsonPath is not null)
        {
            File.WriteAllText(options.JsonPath, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"\nwrote {rows.Count} rows to {Path.GetFullPath(options.JsonPath)}");
        }
        return 0;
    }

    private static string Cell(double? value, string format, string suffix = "") =>
        value is double v ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) + suffix : "-";

    private static string LimitsCells(SpeedupRow row, LimitsTable? limits) =>
        limits is null ? "" : row.CeilingRate is double ceiling ? $" {ceiling:F1} {row.NativeRateUnit} | {row.PercentOfCeiling:F0} % |" : " - | - |";

    private static string PeerCells(SpeedupRow row, PeerTable? peers) =>
        peers is null ? "" : row.PeerMs is double peer ? $" {peer:F2} | {row.NativeVsPeer:F2} |" : " - | - |";

    // Naive code is single-threaded, so its time and its float64 reference outputs are computed
    // once per shape and pass and reused for every thread count.
    private static readonly Dictionary<(string, string), double> s_naiveMs = new();
    private static readonly Dictionary<(string, string), IReadOnlyList<Memory<double>>> s_naiveReference = new();

    private static SpeedupRow Measure(BenchShape shape, string pass, int threads, string blas, bool nativeOnly)
    {
        bool forward = pass == "forward";
        Action Call<T>(BenchCase<T> c) where T : unmanaged, IFloatingPointIeee754<T> => forward ? c.Forward : c.Backward;
        IReadOnlyList<Memory<T>> Outputs<T>(BenchCase<T> c) where T : unmanaged, IFloatingPointIeee754<T> =>
            forward ? c.ForwardOutputs : c.BackwardOutputs;

        var native = shape.CreateCase(Kernels.For<float>(Backend.Native));
        double nativeMs = MedianTimer.MedianMilliseconds(Call(native), warmup: 2, minSamples: 5, maxSamples: 500, FastBudget);
        var (rate, unit) = shape.Rate(forward, nativeMs);
        if (nativeOnly)
            return new SpeedupRow(shape.Name, pass, threads, blas, null, null, nativeMs, null, null, rate, unit, PeerMs: null);

        if (!s_naiveMs.TryGetValue((shape.Name, pass), out double naiveMs))
        {
            var naive = shape.CreateCase(Kernels.For<float>(Backend.ManagedNaive));
            naiveMs = MedianTimer.MedianMilliseconds(Call(naive), warmup: 0, minSamples: 1, maxSamples: 5, NaiveBudget);
            s_naiveMs[(shape.Name, pass)] = naiveMs;
        }
        var managed = shape.CreateCase(Kernels.For<float>(Backend.Managed));
        double managedMs = MedianTimer.MedianMilliseconds(Call(managed), warmup: 2, minSamples: 5, maxSamples: 200, FastBudget);

        // Timings are float32, as the standard shapes say; the errors are measured in float64,
        // as the seeds' cells do, because the seeds' elementwise rel_error is meaningless at
        // float32 precision wherever an output is close to zero.
        if (!s_naiveReference.TryGetValue((shape.Name, pass), out IReadOnlyList<Memory<double>>? reference))
        {
            var naive64 = shape.CreateCase(Kernels.For<double>(Backend.ManagedNaive));
            Call(naive64)();
            reference = Outputs(naive64);
            s_naiveReference[(shape.Name, pass)] = reference;
        }
        double RelError(Backend backend)
        {
            var other = shape.CreateCase(Kernels.For<double>(backend));
            Call(other)();
            return Outputs(other).Zip(reference, (a, b) => GradientCheck.RelError<double>(a.Span, b.Span)).Max();
        }

        return new SpeedupRow(shape.Name, pass, threads, blas, naiveMs, managedMs, nativeMs,
            RelError(Backend.Native), RelError(Backend.Managed), rate, unit, PeerMs: null);
    }

    // The seeds' cell comparing batchnorm_backward (computation graph) with batchnorm_backward_alt
    // (closed form) on (100, 500), both naive managed code, float64 as in the seeds.
    private static void PrintGraphVersusAlt()
    {
        var shape = (NormShape)StandardShapes.ByName("bn_seed");
        var naive = new NormCase<double>(shape, Kernels.For<double>(Backend.ManagedNaive));
        double graphMs = MedianTimer.MedianMilliseconds(naive.Backward, warmup: 2, minSamples: 5, maxSamples: 200, FastBudget);
        Memory<double>[] graph = naive.BackwardOutputs.Select(a => (Memory<double>)a.ToArray()).ToArray();
        double altMs = MedianTimer.MedianMilliseconds(naive.BackwardAlt, warmup: 2, minSamples: 5, maxSamples: 200, FastBudget);
        double error = naive.BackwardOutputs.Zip(graph, (a, b) => GradientCheck.RelError<double>(a.Span, b.Span)).Max();
        Console.WriteLine();
        Console.WriteLine($"batch norm backward on (100, 500), float64: graph {graphMs:F3} ms, alt {altMs:F3} ms, " +
            $"speedup {graphMs / altMs:F2}x, rel_error {error:E1}");
    }
}
