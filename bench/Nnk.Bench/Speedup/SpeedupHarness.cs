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
        try
        {
            if (args.Contains("--help") || args.Contains("-h"))
            {
                Console.WriteLine(SpeedupOptions.Usage, string.Join(", ", StandardShapes.Names));
                return 0;
            }
            options = SpeedupOptions.Parse(args, StandardShapes.Names);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(SpeedupOptions.Usage, string.Join(", ", StandardShapes.Names));
            return 2;
        }

        if (options.Blas is not null)
            NnkRuntime.SelectBlas(options.Blas);
        string blas = NnkRuntime.Blas;
        Console.WriteLine($"nnk {NnkRuntime.NativeVersion}, BLAS {blas}, {Environment.ProcessorCount} cores; float32 medians in ms, rel_error in float64 against naive");
        Console.WriteLine();
        Console.WriteLine("| shape | pass | threads | naive ms | managed ms | native ms | managed/naive | native/naive | native/managed | native GFLOP/s | rel_error native | rel_error managed |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

        var rows = new List<SpeedupRow>();
        foreach (int threads in options.Threads)
        {
            NnkRuntime.NumThreads = threads;
            foreach (string name in options.Shapes)
            {
                ConvShape shape = StandardShapes.ConvByName(name);
                foreach (string pass in new[] { "forward", "backward" })
                {
                    if (!Console.IsErrorRedirected)
                        Console.Error.Write($"  measuring {name} {pass} at {threads} thread(s)...\r");
                    SpeedupRow row = MeasureConv(shape, pass, threads, blas);
                    rows.Add(row);
                    if (!Console.IsErrorRedirected)
                        Console.Error.Write(new string(' ', 60) + "\r");
                    Console.WriteLine(
                        $"| {row.Shape} | {row.Pass} | {row.Threads} | {row.NaiveMs:F1} | {row.ManagedMs:F2} | {row.NativeMs:F2} | " +
                        $"{row.ManagedSpeedup:F1}x | {row.NativeSpeedup:F1}x | {row.NativeVsManaged:F1}x | {row.NativeGflops:F1} | " +
                        $"{row.RelError:E1} | {row.ManagedRelError:E1} |");
                }
            }
        }

        if (options.JsonPath is not null)
        {
            File.WriteAllText(options.JsonPath, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"\nwrote {rows.Count} rows to {Path.GetFullPath(options.JsonPath)}");
        }
        return 0;
    }

    // Naive code is single-threaded, so its time and its float64 reference outputs are computed
    // once per shape and pass and reused for every thread count.
    private static readonly Dictionary<(string, string), double> s_naiveMs = new();
    private static readonly Dictionary<(string, string), ConvCase<double>> s_naiveReference = new();

    private static SpeedupRow MeasureConv(ConvShape shape, string pass, int threads, string blas)
    {
        bool forward = pass == "forward";
        Action Call<T>(ConvCase<T> c) where T : unmanaged, IFloatingPointIeee754<T> => forward ? c.Forward : c.Backward;

        if (!s_naiveMs.TryGetValue((shape.Name, pass), out double naiveMs))
        {
            var naive = new ConvCase<float>(shape, Kernels.For<float>(Backend.ManagedNaive));
            naiveMs = MedianTimer.MedianMilliseconds(Call(naive), warmup: 0, minSamples: 1, maxSamples: 5, NaiveBudget);
            s_naiveMs[(shape.Name, pass)] = naiveMs;
        }
        var managed = new ConvCase<float>(shape, Kernels.For<float>(Backend.Managed));
        var native = new ConvCase<float>(shape, Kernels.For<float>(Backend.Native));
        double managedMs = MedianTimer.MedianMilliseconds(Call(managed), warmup: 2, minSamples: 5, maxSamples: 100, FastBudget);
        double nativeMs = MedianTimer.MedianMilliseconds(Call(native), warmup: 2, minSamples: 5, maxSamples: 200, FastBudget);

        // Timings are float32, as the standard shapes say; the errors are measured in float64,
        // as the seeds' cells do, because the seeds' elementwise rel_error is meaningless at
        // float32 precision wherever an output is close to zero.
        if (!s_naiveReference.TryGetValue((shape.Name, pass), out ConvCase<double>? naive64))
        {
            naive64 = new ConvCase<double>(shape, Kernels.For<double>(Backend.ManagedNaive));
            Call(naive64)();
            s_naiveReference[(shape.Name, pass)] = naive64;
        }
        double RelError(Backend backend)
        {
            var other = new ConvCase<double>(shape, Kernels.For<double>(backend));
            Call(other)();
            return forward
                ? GradientCheck.RelError<double>(other.Y, naive64.Y)
                : Math.Max(GradientCheck.RelError<double>(other.Dx, naive64.Dx),
                    Math.Max(GradientCheck.RelError<double>(other.Dw, naive64.Dw), GradientCheck.RelError<double>(other.Db, naive64.Db)));
        }

        // Backward is two GEMM-sized products (dx and dw), forward one.
        double flops = shape.ForwardFlops * (forward ? 1 : 2);
        return new SpeedupRow(shape.Name, pass, threads, blas, naiveMs, managedMs, nativeMs,
            RelError(Backend.Native), RelError(Backend.Managed), flops / (nativeMs * 1e6));
    }
}
