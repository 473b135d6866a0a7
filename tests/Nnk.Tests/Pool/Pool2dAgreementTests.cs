using System.Numerics;
using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>Native and fast managed pooling agree with the naive reference on random geometries.</summary>
public class Pool2dAgreementTests
{
    public static TheoryData<int> Geometries
    {
        get
        {
            var data = new TheoryData<int>();
            for (int i = 0; i < 60; i++)
                data.Add(i);
            return data;
        }
    }

    // Window 1-5, stride 1-3, pad 0-2 (below the window), non-square; inputs large enough for the window.
    private static (TensorShape X, PoolParam Param) RandomGeometry(int seed)
    {
        var random = new Random(seed);
        int poolH = random.Next(1, 6), poolW = random.Next(1, 6);
        int padH = random.Next(0, Math.Min(3, poolH)), padW = random.Next(0, Math.Min(3, poolW));
        int h = Math.Max(1, poolH - 2 * padH) + random.Next(0, 12);
        int w = Math.Max(1, poolW - 2 * padW) + random.Next(0, 12);
        return (new TensorShape([random.Next(1, 5), random.Next(1, 6), h, w]),
            new PoolParam(poolH, poolW, random.Next(1, 4), random.Next(1, 4), padH, padW));
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Pool2d_NativeAndManagedMatchNaive_Float64(int seed) => AssertAgreement<double>(seed, 1e-12);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Pool2d_NativeAndManagedMatchNaive_Float32(int seed) => AssertAgreement<float>(seed, 1e-5);

    private static void AssertAgreement<T>(int seed, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (xShape, param) = RandomGeometry(seed);
        var x = Tensor<T>.RandN(xShape, seed: seed * 3 + 1);
        IKernels<T> naive = Kernels.For<T>(Backend.ManagedNaive);
        var (maxExpected, maxCacheExpected) = MaxPool2d.Forward(x, param, naive);
        var (avgExpected, avgCacheExpected) = AvgPool2d.Forward(x, param, naive);
        var dout = Tensor<T>.RandN(maxExpected.Shape, seed: seed * 3 + 2);
        var maxDxExpected = MaxPool2d.Backward(dout, maxCacheExpected);
        var avgDxExpected = AvgPool2d.Backward(dout, avgCacheExpected);

        foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
        {
            string where = $"{backend}, {typeof(T).Name}, {maxCacheExpected.Geometry}";
            IKernels<T> kernels = Kernels.For<T>(backend);
            var (max, maxCache) = MaxPool2d.Forward(x, param, kernels);
            var (avg, avgCache) = AvgPool2d.Forward(x, param, kernels);
            // A maximum is a copy, not a computation: it must match exactly, and so must its index.
            Assert.True(maxExpected.Span.SequenceEqual(max.Span), $"max y differs on {where}");
            Assert.True(maxCacheExpected.Argmax.AsSpan().SequenceEqual(maxCache.Argmax), $"argmax differs on {where}");
            AssertClose(MaxPool2d.Backward(dout, maxCache), maxDxExpected, tolerance, "max dx", where);
            AssertClose(avg, avgExpected, tolerance, "avg y", where);
            AssertClose(AvgPool2d.Backward(dout, avgCache), avgDxExpected, tolerance, "avg dx", where);
        }
    }

    private static void AssertClose<T>(Tensor<T> actual, Tensor<T> expected, double tolerance, string name, string where)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double error = BackendData.MaxAbsErrorRelativeToScale<T>(actual.Span, expected.Span);
        Assert.True(error < tolerance, $"{name} differs by {error:E3} (tolerance {tolerance:E1}) on {where}");
    }
}
