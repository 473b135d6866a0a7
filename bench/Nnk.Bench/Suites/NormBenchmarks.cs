using BenchmarkDotNet.Attributes;

namespace Nnk.Bench.Suites;

/// <summary>Training-mode batch, spatial batch and group normalisation on the standard shapes.</summary>
public class NormBenchmarks : ShapeBenchmarks
{
    [Params("sbn_3l", "sbn_mnist", "bn_seed", "gn")]
    public override string Shape { get; set; } = "";
}
