using System.Numerics;
using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>Native and fast managed convolution agree with the naive reference on random geometries.</summary>
public class Conv2dAgreementTests
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

    // Kernel 1-7, stride 1-3, pad 0-3, non-square inputs and kernels, batch 1-8; the input is at
    // least as large as the kernel minus the padding, so every geometry is valid.
    internal static (TensorShape X, TensorShape W, ConvParam Param) RandomGeometry(int seed)
    {
        var random = new Random(seed);
        int kh = random.Next(1, 8), kw = random.Next(1, 8);
        int padH = random.Next(0, 4), padW = random.Next(0, 4);
        int h = Math.Max(1, kh - 2 * padH) + random.Next(0, 9);
        int w = Math.Max(1, kw - 2 * padW) + random.Next(0, 9);
        var param = new ConvParam(random.Next(1, 4), random.Next(1, 4), padH, padW);
        int channels = random.Next(1, 5);
        return (new TensorShape([random.Next(1, 9), channels, h, w]),
                new TensorShape([random.Next(1, 7), channels, kh, kw]), param);
    }

    // Deep geometries, which native runs on its direct kernels (c*kh*kw from 100 to 1024 with most
    // of a vector of output channels used) or on Winograd (3x3, stride 1, 16+ channels each way):
    // kernel 3-5, 6-40 channels in, 13-40 out, stride 1-2, pad 0-2, images of 5-12.
    internal static (TensorShape X, TensorShape W, ConvParam Param) RandomDeepGeometry(int seed)
    {
        var random = new Random(seed);
        int k = random.Next(3, 6), pad = random.Next(0, 3), stride = random.Next(1, 3);
        int channels = random.Next(6, 41), filters = random.Next(13, 41);
        int h = Math.Max(k, random.Next(5, 13)), w = Math.Max(k, random.Next(5, 13));
        return (new TensorShape([random.Next(1, 5), channels, h, w]),
                new TensorShape([filters, channels, k, k]), new ConvParam(stride, stride, pad, pad));
    }

    public static TheoryData<int> DeepGeometries
    {
        get
        {
            var data = new TheoryData<int>();
            for (int i = 0; i < 24; i++)
                data.Add(1000 + i);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_NativeAndManagedMatchNaive_Float64(int seed) => AssertAgreement<double>(seed, 1e-12);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_NativeAndManagedMatchNaive_Float32(int seed) => AssertAgreement<float>(seed, 2e-5);

    [Theory]
    [MemberData(nameof(DeepGeometries))]
    public void Conv2d_Deep_NativeAndManagedMatchNaive_Float64(int seed) => AssertAgreement<double>(seed, 1e-12, deep: true);

    [Theory]
    [MemberData(nameof(DeepGeometries))]
    public void Conv2d_Deep_NativeAndManagedMatchNaive_Float32(int seed) => AssertAgreement<float>(seed, 2e-5, deep: true);

    private static void AssertAgreement<T>(int seed, double tolerance, bool deep = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (xShape, wShape, param) = deep ? RandomDeepGeometry(seed) : RandomGeometry(seed);
        var x = Tensor<T>.RandN(xShape, seed: seed * 4 + 1);
        var w = Tensor<T>.RandN(wShape, seed: seed * 4 + 2);
        var b = Tensor<T>.RandN([wShape[0]], seed: seed * 4 + 3);

        var (expected, expectedCache) = Conv2d.Forward(x, w, b, param, Kernels.For<T>(Backend.ManagedNaive));
        var dout = Tensor<T>.RandN(expected.Shape, seed: seed * 4 + 4);
        var (dxExpected, dwExpected, dbExpected) = Conv2d.Backward(dout, expectedCache);

        foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
        {
            var (output, cache) = Conv2d.Forward(x, w, b, param, Kernels.For<T>(backend));
            var (dx, dw, db) = Conv2d.Backward(dout, cache);
            string where = $"{backend}, {typeof(T).Name}, {expectedCache.Geometry}";
            AssertClose(output, expected, tolerance, "y", where);
            AssertClose(dx, dxExpected, tolerance, "dx", where);
            AssertClose(dw, dwExpected, tolerance, "dw", where);
            AssertClose(db, dbExpected, tolerance, "db", where);
        }
    }

    private static void AssertClose<T>(Tensor<T> actual, Tensor<T> expected, double tolerance, string name, string where)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double error = BackendData.MaxAbsErrorRelativeToScale<T>(actual.Span, expected.Span);
        Assert.True(error < tolerance, $"{name} differs by {error:E3} (tolerance {tolerance:E1}) on {where}");
    }
}
