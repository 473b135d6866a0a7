using BenchmarkDotNet.Attributes;
using Nnk.Bench.Speedup;

namespace Nnk.Bench.Suites;

/// <summary>
/// Forward and backward of one family of standard shapes, native vs fast managed, float32; each
/// family's class names its shapes by overriding <see cref="Shape"/> with its own [Params].
/// </summary>
[MemoryDiagnoser]
public abstract class ShapeBenchmarks
{
    private BenchCase<float> _case = null!;

    public abstract string Shape { get; set; }

    [Params(Backend.Native, Backend.Managed)]
    public Backend Backend { get; set; }

    [GlobalSetup]
    public void Setup() => _case = StandardShapes.ByName(Shape).CreateCase(Kernels.For<float>(Backend));

    [Benchmark]
    public void Forward() => _case.Forward();

    [Benchmark]
    public void Backward() => _case.Backward();
}
