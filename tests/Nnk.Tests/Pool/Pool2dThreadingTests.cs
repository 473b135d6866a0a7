using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>Pooling gives bit-identical results with 1 and 2 threads, on both fast backends.</summary>
[Collection("NumThreads")]
public class Pool2dThreadingTests
{
    [Theory]
    [InlineData(Backend.Native, 2, 2)]
    [InlineData(Backend.Native, 3, 2)]
    [InlineData(Backend.Native, 3, 1)]
    [InlineData(Backend.Managed, 2, 2)]
    [InlineData(Backend.Managed, 3, 2)]
    [InlineData(Backend.Managed, 3, 1)]
    public void Pool2d_OneAndTwoThreads_GiveIdenticalResults(Backend backend, int window, int stride)
    {
        var x = Tensor<float>.RandN([6, 5, 17, 15], seed: 9);
        var param = new PoolParam(window, window, stride, pad: 1);
        IKernels<float> kernels = Kernels.For<float>(backend);
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 1;
            var one = RunAll(x, param, kernels);
            NnkRuntime.NumThreads = 2;
            var two = RunAll(x, param, kernels);
            for (int i = 0; i < one.Length; i++)
                Assert.True(one[i].AsSpan().SequenceEqual(two[i]), $"output {i} differs between 1 and 2 threads");
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    private static float[][] RunAll(Tensor<float> x, PoolParam param, IKernels<float> kernels)
    {
        var (max, maxCache) = MaxPool2d.Forward(x, param, kernels);
        var (avg, avgCache) = AvgPool2d.Forward(x, param, kernels);
        var dout = Tensor<float>.RandN(max.Shape, seed: 10);
        return
        [
            max.Span.ToArray(), maxCache.Argmax.Select(i => (float)i).ToArray(), avg.Span.ToArray(),
            MaxPool2d.Backward(dout, maxCache).Span.ToArray(), AvgPool2d.Backward(dout, avgCache).Span.ToArray(),
        ];
    }
}
