namespace Nnk.Bench.Speedup;

/// <summary>Command line of <c>speedup [--shape NAME]... [--threads N[,N...]] [--blas openblas|mkl] [--json FILE] [--peers FILE] [--limits FILE] [--native-only] [--small-pages]</c>.</summary>
public sealed record SpeedupOptions(IReadOnlyList<string> Shapes, IReadOnlyList<int> Threads, string? Blas, string? JsonPath,
    string? PeersPath, bool NativeOnly, string? LimitsPath, bool SmallPages = false)
{
    public const string Usage =
        "usage: Nnk.Bench speedup [--shape NAME]... [--threads N[,N...]] [--blas openblas|mkl|PATH] [--json FILE] [--peers FILE] [--limits FILE] [--native-only] [--small-pages]\n" +
        "  Times naive managed, fast managed and native kernels on the standard shapes (forward and backward)\n" +
        "  and prints the speedups and the rel_error between their outputs.\n" +
        "  --shape NAME   a standard shape (repeatable; default: all): " + "{0}\n" +
        "  --threads N    threads for every backend, or a comma list to sweep (default: 1 and all cores)\n" +
        "  --blas NAME    BLAS for the native kernels (default: NNK_BLAS, else openblas)\n" +
        "  --json FILE    also write the rows as a JSON array\n" +
        "  --peers FILE   a peer's table (../shared/peers/torchsharp/run.sh > FILE): adds its median and native/peer\n" +
        "  --limits FILE  the machine's ceilings (../shared/peers/limits/run.sh > FILE): adds % of sgemm (conv) or of copy bandwidth (pool, norm)\n" +
        "  --native-only  time only the native kernels (no naive or managed timings, no rel_error): quick peer comparisons\n" +
        "  --small-pages  keep the buffers on 4 KiB pages (AlignedMemory.HugePages = false): what the huge pages buy";

    public static SpeedupOptions Parse(IReadOnlyList<string> args, IEnumerable<string> knownShapes)
    {
        var shapes = new List<string>();
        var threads = new List<int>();
        string? blas = null, json = null, peers = null, limits = null;
        bool nativeOnly = false, smallPages = false;
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--shape":
                    string shape = Value();
                    if (!knownShapes.Contains(shape))
                        throw new ArgumentException($"Unknown shape '{shape}'. Known: {string.Join(", ", knownShapes)}.");
                    shapes.Add(shape);
                    break;
                case "--threads":
                    foreach (string part in Value().Split(','))
                        threads.Add(int.TryParse(part, out int n) && n >= 1
                            ? n : throw new ArgumentException($"--threads takes positive integers, got '{part}'."));
                    break;
                case "--blas":
                    blas = Value();
                    break;
                case "--json":
                    json = Value();
                    break;
                case "--peers":
                    peers = Value();
                    break;
                case "--limits":
                    limits = Value();
                    break;
                case "--native-only":
                    nativeOnly = true;
                    break;
                case "--small-pages":
                    smallPages = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        if (shapes.Count == 0)
            shapes.AddRange(knownShapes);
        if (threads.Count == 0)
            threads.AddRange(new[] { 1, Environment.ProcessorCount }.Distinct());
        return new SpeedupOptions(shapes, threads, blas, json, peers, nativeOnly, limits, smallPages);
    }
}
