using BenchmarkDotNet.Attributes;
using Nnk.Bench.Speedup;

namespace Nnk.Bench.Suites;

/// <summary>One whole training step of the standard networks; MemoryDiagnoser shows what a step allocates.</summary>
[MemoryDiagnoser]
public class TrainBenchmarks
{
    private BenchCase<float> _case = null!;

    [Params("train_3l", "train_mnist")]
    public string Shape { get; set; } = "";

    [Params(Backend.Native, Backend.Managed)]
    public Backend Backend { get; set; }

    [GlobalSetup]
    public void Setup() => _case = StandardShapes.ByName(Shape).CreateCase(Kernels.For<float>(Backend));

    /// <summary>Forward, loss, backward and the update of every parameter.</summary>
    [Benchmark]
    public void Step() => _case.Forward();
}
