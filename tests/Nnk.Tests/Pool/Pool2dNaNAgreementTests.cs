using System.Numerics;
using System.Runtime.CompilerServices;
using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>
/// Native, fast managed and naive pooling agree on inputs full of NaN (both signs), infinities,
/// signed zeros and ties: max pooling takes a NaN as the maximum (the first one in window order)
/// on every backend, so y and argmax are identical bit for bit, and a NaN gradient reaches the
/// same input; average pooling is NaN over the same windows.
/// </summary>
public class Pool2dNaNAgreementTests
{
    public static TheoryData<int> Seeds
    {
        get
        {
            var data = new TheoryData<int>();
            for (int seed = 0; seed < 30; seed++)
                data.Add(seed);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MaxPool2d_NaNIsTheMaximumOnEveryBackend_RandomGeometry_Float32(int seed) =>
        AssertAgreement<float>(ManagedPoolingTests.RandomGeometry(seed), seed);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MaxPool2d_NaNIsTheMaximumOnEveryBackend_RandomGeometry_Float64(int seed) =>
        AssertAgreement<double>(ManagedPoolingTests.RandomGeometry(seed), seed);

    [Theory]
    [MemberData(nameof(ManagedPoolingTests.VectorGeometries), MemberType = typeof(ManagedPoolingTests))]
    public void MaxPool2d_NaNIsTheMaximumOnEveryBackend_VectorWindows_Float32(int window, int pad, int h, int w) =>
        AssertAgreement<float>(ManagedPoolingTests.SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w);

    [Theory]
    [MemberData(nameof(ManagedPoolingTests.VectorGeometries), MemberType = typeof(ManagedPoolingTests))]
    public void MaxPool2d_NaNIsTheMaximumOnEveryBackend_VectorWindows_Float64(int window, int pad, int h, int w) =>
        AssertAgreement<double>(ManagedPoolingTests.SquareGeometry(2, 3, h, w, window, 2, pad), h * 100 + w);

    private static void AssertAgreement<T>(PoolGeometry g, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] x = Specials<T>(g.InputLength, seed);
        T[] dy = Specials<T>(g.OutputLength, seed + 1000);
        var expected = Run(g, x, dy, Kernels.For<T>(Backend.ManagedNaive));
        Assert.Contains(expected.Y, v => T.IsNaN(v));
        foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
        {
            string where = $"{backend}, {typeof(T).Name}, {g}";
            var actual = Run(g, x, dy, Kernels.For<T>(backend));
            // A maximum is a copy: the same element, so the same bits, NaN payload and sign included.
            for (int i = 0; i < expected.Y.Length; i++)
                Assert.True(Bits(expected.Y[i]) == Bits(actual.Y[i]),
                    $"max y[{i}] = {actual.Y[i]}, expected {expected.Y[i]} on {where}");
            Assert.True(expected.Argmax.AsSpan().SequenceEqual(actual.Argmax), $"argmax differs on {where}");
            for (int i = 0; i < expected.Dx.Length; i++)
                Assert.True(Same(expected.Dx[i], actual.Dx[i]),
                    $"max dx[{i}] = {actual.Dx[i]}, expected {expected.Dx[i]} on {where}");
            for (int i = 0; i < expected.Avg.Length; i++)
                Assert.True(T.IsNaN(expected.Avg[i]) == T.IsNaN(actual.Avg[i]),
                    $"avg y[{i}] = {actual.Avg[i]}, expected {expected.Avg[i]} on {where}");
        }
    }

    private static (T[] Y, int[] Argmax, T[] Dx, T[] Avg) Run<T>(PoolGeometry g, T[] x, T[] dy, IKernels<T> kernels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] y = new T[g.OutputLength], dx = new T[g.InputLength], avg = new T[g.OutputLength];
        var argmax = new int[g.OutputLength];
        kernels.MaxPool2dForward(g, x, y, argmax);
        kernels.MaxPool2dBackward(g, dy, argmax, dx);
        kernels.AvgPool2dForward(g, x, avg);
        return (y, argmax, dx, avg);
    }

    // Ties and specials (PoolingReference.TiedValues), with +inf added, which TiedValues lacks.
    private static T[] Specials<T>(int count, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] values = PoolingReference.TiedValues<T>(count, seed, withSpecials: true);
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
            if (random.Next(20) == 0)
                values[i] = T.PositiveInfinity;
        return values;
    }

    private static long Bits<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? Unsafe.BitCast<T, int>(v) : Unsafe.BitCast<T, long>(v);

    // Equal, or both NaN: sums of gradients may carry either NaN's payload.
    private static bool Same<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> =>
        (T.IsNaN(a) && T.IsNaN(b)) || Bits(a) == Bits(b);
}
