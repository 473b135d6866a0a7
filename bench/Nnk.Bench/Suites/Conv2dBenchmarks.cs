using BenchmarkDotNet.Attributes;
using Nnk.Bench.Speedup;

namespace Nnk.Bench.Suites;

/// <summary>Convolution forward and backward on the standard shapes, native vs fast managed, float32.</summary>
[MemoryDiagnoser]
public class Conv2dBenchmarks
{
    private ConvCase<float> _case = null!;

    [Params("conv_seed", "conv_3l", "conv_mnist1", "conv_mnist2", "conv_wide")]
    public string Shape { get; set; } = "";

    [Params(Backend.Native, Backend.Managed)]
    public Backend Backend { get; set; }

    [GlobalSetup]
    public void Setup() => _case = new ConvCase<float>(StandardShapes.ConvByName(Shape), Kernels.For<float>(Backend));

    [Benchmark]
    public void Forward() => _case.Forward();

    [Benchmark]
    public void Backward() => _case.Backward();
}
