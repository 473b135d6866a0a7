using System.Numerics;
using System.Runtime.InteropServices;
using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>Tests that change <see cref="NnkRuntime.NumThreads"/> run alone, after every parallel test.</summary>
[CollectionDefinition("NumThreads", DisableParallelization = true)]
public class NumThreadsCollection
{
}

/// <summary>
/// The fast managed pooling kernels against direct loops over the windows: max and argmax bit for
/// bit (ties, NaN, -inf, signed zeros), average within tolerance, on random geometries and on the
/// geometries with vector code.
/// </summary>
public class ManagedPoolingTests
{
    public static TheoryData<int> Seeds
    {
        get
        {
            var data = new TheoryData<int>();
            for (int seed = 0; seed < 60; seed++)
                data.Add(seed);
            return data;
        }
    }

    // 2x2 and 3x3 windows with stride 2 (the vector code), on planes narrower than a vector, odd and
    // even, and wide enough for several vectors with an overlapping last one.
    public static TheoryData<int, int, int, int> VectorGeometries
    {
        get
        {
            var data = new TheoryData<int, int, int, int>();
            foreach ((int window, int pad) in new[] { (2, 0), (2, 1), (3, 0), (3, 1), (3, 2) })
                foreach ((int h, int w) in new[] { (5, 6), (16, 16), (17, 33), (34, 35), (9, 70) })
                    data.Add(window, pad, h, w);
            return data;
        }
    }

    // Window 1-5, stride 1-3, pad 0..min(2, window-1), each per axis; N 1-4, C 1-5; H and W up to 20,
    // at least the window less the padding.
    internal static PoolGeometry RandomGeometry(int seed)
    {
        var random = new Random(seed);
        int poolH = random.Next(1, 6), poolW = random.Next(1, 6);
        int padH = random.Next(0, Math.Min(2, poolH - 1) + 1), padW = random.Next(0, Math.Min(2, poolW - 1) + 1);
        var g = new PoolGeometry
        {
            N = random.Next(1, 5), C = random.Next(1, 6),
            H = random.Next(Math.Max(1, poolH - 2 * padH), 21), W = random.Next(Math.Max(1, poolW - 2 * padW), 21),
            PoolH = poolH, PoolW = poolW, StrideH = random.Next(1, 4), StrideW = random.Next(1, 4), PadH = padH, PadW = padW,
        };
        g.Validate();
        return g;
    }

    internal static PoolGeometry SquareGeometry(int n, int c, int h, int w, int window, int stride, int pad) =>
        new() { N = n, C = c, H = h, W = w, PoolH = window, PoolW = window, StrideH = stride, StrideW = stride, PadH = pad, PadW = pad };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MaxPool_MatchesReferenceBitForBit_RandomGeometry_Float32(int seed) =>
        AssertMaxMatchesReference<float>(RandomGeometry(seed), seed);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MaxPool_MatchesReferenceBitForBit_RandomGeometry_Float64(int seed) =>
        AssertMaxMatchesReference<double>(RandomGeometry(seed), seed);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AvgPool_MatchesReference_RandomGeometry_Float32(int seed) =>
        AssertAvgMatchesReference<float>(RandomGeometry(seed), seed, 1e-5);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AvgPool_MatchesReference_RandomGeometry_Float64(int seed) =>
        AssertAvgMatchesReference<double>(RandomGeometry(seed), seed, 1e-12);

    [Theory]
    [MemberData(nameof(VectorGeometries))]
    public void MaxPool_VectorWindows_MatchReferenceBitForBit_Float32(int window, int pad, int h, int w) =>
        AssertMaxMatchesReference<float>(SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w);

    [Theory]
    [MemberData(nameof(VectorGeometries))]
    public void MaxPool_VectorWindows_MatchReferenceBitForBit_Float64(int window, int pad, int h, int w) =>
        AssertMaxMatchesReference<double>(SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w);

    [Theory]
    [MemberData(nameof(VectorGeometries))]
    public void AvgPool_VectorWindows_MatchReference_Float32(int window, int pad, int h, int w) =>
        AssertAvgMatchesReference<float>(SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w, 1e-5);

    [Theory]
    [MemberData(nameof(VectorGeometries))]
    public void AvgPool_VectorWindows_MatchReference_Float64(int window, int pad, int h, int w) =>
        AssertAvgMatchesReference<double>(SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w, 1e-12);

    [Fact]
    public void MaxForward_TiesAndNaN_FirstInWindowOrderWins()
    {
        // One 3x3 window per plane (stride 3). Plane 0: the 5s tie, the first one (index 1) wins.
        // Plane 1: a NaN beats 9, and the first NaN (index 4) stays against the later one.
        // Plane 2: -0 and +0 tie, so the first (-0, index 0) wins over later zeros and -inf.
        float nan = float.NaN;
        float[] x =
        [
            1, 5, 2, 5, 0, 5, 3, 4, 5,
            9, 1, 2, 3, nan, 4, 5, -nan, 9,
            -0f, 0f, float.NegativeInfinity, 0f, -0f, float.NegativeInfinity, -1, -2, -3,
        ];
        PoolGeometry g = SquareGeometry(1, 3, 3, 3, 3, 3, 0);
        var y = new float[3];
        var argmax = new int[3];
        ManagedPooling<float>.MaxForward(g, x, y, argmax);
        Assert.Equal([1, 4, 0], argmax);
        Assert.Equal(BitConverter.SingleToInt32Bits(x[9 + 4]), BitConverter.SingleToInt32Bits(y[1]));
        Assert.True(float.IsNegative(y[2]), "the first of the tied zeros, -0, must win");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(36)]
    [InlineData(int.MaxValue)]
    public void MaxBackward_IndexOutsideItsPlane_ThrowsNamingPositionAndValue(int badIndex)
    {
        PoolGeometry g = SquareGeometry(2, 3, 6, 6, 2, 2, 0);
        var argmax = new int[g.OutputLength];
        argmax[7] = badIndex;
        argmax[40] = -5;
        // dx is the middle of a larger buffer whose edges must stay untouched.
        var buffer = new double[g.InputLength + 64];
        buffer.AsSpan().Fill(double.NaN);
        var ex = Assert.Throws<ArgumentException>(() =>
            ManagedPooling<double>.MaxBackward(g, new double[g.OutputLength], argmax, buffer.AsSpan(32, g.InputLength)));
        Assert.Equal("argmax", ex.ParamName);
        Assert.Contains($"argmax[7] = {badIndex}", ex.Message);
        Assert.All(buffer[..32], value => Assert.True(double.IsNaN(value)));
        Assert.All(buffer[^32..], value => Assert.True(double.IsNaN(value)));
    }

    // Planes that 2x2 windows tile take ScatterTiles, which stores every element once: dx starts as NaN here, an
    // argmax moved outside its own window sends its plane back to the scatter, and a dy of -0 lands as +0.
    [Fact]
    public void MaxBackward_TiledPlanes_AnyIndexAndSignedZerosAsTheScatter_Float32() => AssertTiledBackward<float>();

    [Fact]
    public void MaxBackward_TiledPlanes_AnyIndexAndSignedZerosAsTheScatter_Float64() => AssertTiledBackward<double>();

    private static void AssertTiledBackward<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        PoolGeometry g = SquareGeometry(1, 3, 16, 20, 2, 2, 0);
        int outPlane = g.OutputLength / 3;
        T[] x = PoolingReference.RandomValues<T>(g.InputLength, 18000);
        var y = new T[g.OutputLength];
        var argmax = new int[g.OutputLength];
        ManagedPooling<T>.MaxForward(g, x, y, argmax);
        var dy = new T[g.OutputLength];
        for (int o = 0; o < dy.Length; o++)
            dy[o] = T.CreateChecked(o % 7 - 3); // small integers: every sum is exact
        dy[3] = T.NegativeZero;
        dy[4] = T.NaN;
        argmax[outPlane + 5] = 0;
        argmax[outPlane + 17] = argmax[outPlane + 40];
        argmax[3 * outPlane - 1] = 1;
        var dx = new T[g.InputLength];
        dx.AsSpan().Fill(T.NaN);
        ManagedPooling<T>.MaxBackward(g, dy, argmax, dx);
        PoolingReference.AssertBitwiseEqual<T>(PoolingReference.MaxBackward(g, dy, argmax), dx, $"max dx on {g}");
    }

    private static void AssertMaxMatchesReference<T>(PoolGeometry g, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] x = PoolingReference.TiedValues<T>(g.InputLength, seed, withSpecials: true);
        T[] dy = PoolingReference.TiedValues<T>(g.OutputLength, seed + 1, withSpecials: false);
        var (yExpected, argmaxExpected) = PoolingReference.MaxForward(g, x);
        var y = new T[g.OutputLength];
        var argmax = new int[g.OutputLength];
        ManagedPooling<T>.MaxForward(g, x, y, argmax);
        Assert.True(argmaxExpected.AsSpan().SequenceEqual(argmax), $"argmax differs on {g}");
        PoolingReference.AssertBitwiseEqual<T>(yExpected, y, $"max y on {g}");

        var dx = new T[g.InputLength];
        ManagedPooling<T>.MaxBackward(g, dy, argmax, dx);
        // Each plane adds the gradients in output order, as the reference does.
        PoolingReference.AssertBitwiseEqual<T>(PoolingReference.MaxBackward(g, dy, argmax), dx, $"max dx on {g}");
    }

    private static void AssertAvgMatchesReference<T>(PoolGeometry g, int seed, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] x = PoolingReference.TiedValues<T>(g.InputLength, seed, withSpecials: false);
        T[] dy = PoolingReference.RandomValues<T>(g.OutputLength, seed + 1);
        var y = new T[g.OutputLength];
        ManagedPooling<T>.AvgForward(g, x, y);
        PoolingReference.AssertClose<T>(PoolingReference.AvgForward(g, x), y, tolerance, $"avg y on {g}");
        var dx = new T[g.InputLength];
        dx.AsSpan().Fill(T.NaN);
        ManagedPooling<T>.AvgBackward(g, dy, dx);
        PoolingReference.AssertClose<T>(PoolingReference.AvgBackward(g, dy), dx, tolerance, $"avg dx on {g}");
    }
}

/// <summary>The fast managed pooling kernels give identical bits with 1 and 2 threads.</summary>
[Collection("NumThreads")]
public class ManagedPoolingThreadingTests
{
    [Theory]
    [InlineData(2, 2, 0)]
    [InlineData(3, 2, 1)]
    [InlineData(3, 1, 1)]
    [InlineData(4, 3, 2)]
    public void Pooling_OneAndTwoThreads_GiveIdenticalResults(int window, int stride, int pad)
    {
        PoolGeometry g = ManagedPoolingTests.SquareGeometry(3, 5, 19, 36, window, stride, pad);
        float[] x = PoolingReference.RandomValues<float>(g.InputLength, seed: 11);
        float[] dy = PoolingReference.RandomValues<float>(g.OutputLength, seed: 12);
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 1;
            float[][] one = RunAll(g, x, dy);
            NnkRuntime.NumThreads = 2;
            float[][] two = RunAll(g, x, dy);
            for (int i = 0; i < one.Length; i++)
                PoolingReference.AssertBitwiseEqual<float>(one[i], two[i], $"output {i} with 1 and 2 threads on {g}");
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    [Fact]
    public void MaxBackward_BadIndicesOnSeveralThreads_ReportsTheFirst()
    {
        PoolGeometry g = ManagedPoolingTests.SquareGeometry(4, 4, 8, 8, 2, 2, 0);
        var argmax = new int[g.OutputLength];
        argmax[g.OutputLength - 3] = 64;
        argmax[21] = -1;
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 2;
            var ex = Assert.Throws<ArgumentException>(() =>
                ManagedPooling<float>.MaxBackward(g, new float[g.OutputLength], argmax, new float[g.InputLength]));
            Assert.Contains("argmax[21] = -1", ex.Message);
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    private static float[][] RunAll(PoolGeometry g, float[] x, float[] dy)
    {
        var y = new float[g.OutputLength];
        var argmax = new int[g.OutputLength];
        var avg = new float[g.OutputLength];
        var maxDx = new float[g.InputLength];
        var avgDx = new float[g.InputLength];
        ManagedPooling<float>.MaxForward(g, x, y, argmax);
        ManagedPooling<float>.MaxBackward(g, dy, argmax, maxDx);
        ManagedPooling<float>.AvgForward(g, x, avg);
        ManagedPooling<float>.AvgBackward(g, dy, avgDx);
        return [y, argmax.Select(i => (float)i).ToArray(), avg, maxDx, avgDx];
    }
}

/// <summary>Pooling as direct loops over each window, in window order, and the test data and checks.</summary>
internal static class PoolingReference
{
    public static (T[] Y, int[] Argmax) MaxForward<T>(PoolGeometry g, T[] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new T[g.OutputLength];
        var argmax = new int[g.OutputLength];
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    int best = -1;
                    foreach (int i in Window(g, oh, ow))
                    {
                        T v = x[plane * g.H * g.W + i];
                        if (best < 0)
                        {
                            best = i;
                            continue;
                        }
                        // Strict: an equal later element does not win; NaN beats numbers, the first NaN stays.
                        T current = x[plane * g.H * g.W + best];
                        if (!T.IsNaN(current) && (T.IsNaN(v) || v > current))
                            best = i;
                    }
                    y[o] = x[plane * g.H * g.W + best];
                    argmax[o] = best;
                }
        return (y, argmax);
    }

    public static T[] MaxBackward<T>(PoolGeometry g, T[] dy, int[] argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dx = new T[g.InputLength];
        for (int o = 0; o < dy.Length; o++)
            dx[o / (g.OutH * g.OutW) * g.H * g.W + argmax[o]] += dy[o];
        return dx;
    }

    public static T[] AvgForward<T>(PoolGeometry g, T[] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new T[g.OutputLength];
        T area = T.CreateChecked(g.PoolH * g.PoolW);
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    T sum = T.Zero;
                    foreach (int i in Window(g, oh, ow))
                        sum += x[plane * g.H * g.W + i];
                    y[o] = sum / area;
                }
        return y;
    }

    public static T[] AvgBackward<T>(PoolGeometry g, T[] dy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dx = new T[g.InputLength];
        T area = T.CreateChecked(g.PoolH * g.PoolW);
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++, o++)
                    foreach (int i in Window(g, oh, ow))
                        dx[plane * g.H * g.W + i] += dy[o] / area;
        return dx;
    }

    // Indices ih*W + iw of the real inputs of window (oh, ow), in window order: row by row, left to right.
    private static IEnumerable<int> Window(PoolGeometry g, int oh, int ow)
    {
        for (int ih = oh * g.StrideH - g.PadH; ih < oh * g.StrideH - g.PadH + g.PoolH; ih++)
            for (int iw = ow * g.StrideW - g.PadW; iw < ow * g.StrideW - g.PadW + g.PoolW; iw++)
                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                    yield return ih * g.W + iw;
    }

    // Integers in [-3, 3], so windows are full of ties; with specials, also -0, -inf and NaNs of
    // both signs (distinct bits, so a wrong NaN is caught).
    public static T[] TiedValues<T>(int count, int seed, bool withSpecials) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[count];
        for (int i = 0; i < count; i++)
        {
            int pick = withSpecials ? random.Next(16) : 15;
            values[i] = pick switch
            {
                0 => T.NaN,
                1 => -T.NaN,
                2 => T.NegativeInfinity,
                3 or 4 => T.NegativeZero,
                _ => T.CreateChecked(random.Next(-3, 4)),
            };
        }
        return values;
    }

    public static T[] RandomValues<T>(int count, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[count];
        for (int i = 0; i < count; i++)
            values[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        return values;
    }

    public static void AssertBitwiseEqual<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : unmanaged
    {
        Assert.Equal(expected.Length, actual.Length);
        ReadOnlySpan<byte> e = MemoryMarshal.AsBytes(expected), a = MemoryMarshal.AsBytes(actual);
        int size = e.Length / Math.Max(expected.Length, 1);
        for (int i = 0; i < expected.Length; i++)
            if (!e.Slice(i * size, size).SequenceEqual(a.Slice(i * size, size)))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (bit for bit)");
    }

    // |actual - expected| <= tolerance * (1 + |expected|) for every element.
    public static void AssertClose<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double tolerance, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            if (!(Math.Abs(a - e) <= tolerance * (1 + Math.Abs(e))))
                Assert.Fail($"{what}: element {i} is {a:R}, expected {e:R} (tolerance {tolerance:E0})");
        }
    }
}
