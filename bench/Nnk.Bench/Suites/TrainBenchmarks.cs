using BenchmarkDotNet.Attributes;

namespace Nnk.Bench.Suites;

/// <summary>One whole training step of the standard networks; MemoryDiagnoser shows what a step allocates.</summary>
public class TrainBenchmarks : ShapeBenchmarks
{
    [Params("train_3l", "train_mnist")]
    public override string Shape { get; set; } = "";
}
