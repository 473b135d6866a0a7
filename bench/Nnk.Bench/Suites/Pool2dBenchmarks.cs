using BenchmarkDotNet.Attributes;

namespace Nnk.Bench.Suites;

/// <summary>Max pooling on the standard shapes.</summary>
public class Pool2dBenchmarks : ShapeBenchmarks
{
    [Params("pool_seed", "pool_3l", "pool_overlap")]
    public override string Shape { get; set; } = "";
}
