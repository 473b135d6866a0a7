using BenchmarkDotNet.Attributes;

namespace Nnk.Bench.Suites;

/// <summary>Convolution on the standard shapes.</summary>
public class Conv2dBenchmarks : ShapeBenchmarks
{
    [Params("conv_seed", "conv_3l", "conv_mnist1", "conv_mnist2", "conv_wide")]
    public override string Shape { get; set; } = "";
}
