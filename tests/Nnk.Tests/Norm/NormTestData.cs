using System.Numerics;
using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>Statistics and data helpers for the normalisation tests.</summary>
internal static class NormTestData
{
    /// <summary>scale * randn + shift: data whose statistics are far from (0, 1).</summary>
    public static Tensor<T> Shifted<T>(int[] shape, int seed, double scale, double shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Tensor<T>.RandN(shape, seed);
        for (int i = 0; i < t.Length; i++)
            t.Span[i] = T.CreateChecked(scale) * t.Span[i] + T.CreateChecked(shift);
        return t;
    }

    /// <summary>Mean and (biased) standard deviation of each channel of x seen as (N, C, Spatial).</summary>
    public static (double[] Mean, double[] Std) ChannelStats<T>(Tensor<T> x, int n, int c, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Stats(x, c, (i, ch, s) => ch, n, c, spatial);

    /// <summary>Mean and standard deviation of each (sample, group) of x seen as (N, C, Spatial).</summary>
    public static (double[] Mean, double[] Std) GroupStats<T>(Tensor<T> x, int n, int c, int spatial, int groups)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Stats(x, n * groups, (i, ch, s) => i * groups + ch / (c / groups), n, c, spatial);

    private static (double[] Mean, double[] Std) Stats<T>(Tensor<T> x, int buckets, Func<int, int, int, int> bucket,
        int n, int c, int spatial) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = new double[buckets];
        var sumSq = new double[buckets];
        var count = new double[buckets];
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
        for (int s = 0; s < spatial; s++)
        {
            double v = double.CreateChecked(x.Span[(i * c + ch) * spatial + s]);
            int b = bucket(i, ch, s);
            sum[b] += v;
            count[b]++;
        }
        var mean = sum.Select((v, b) => v / count[b]).ToArray();
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
        for (int s = 0; s < spatial; s++)
        {
            int b = bucket(i, ch, s);
            double d = double.CreateChecked(x.Span[(i * c + ch) * spatial + s]) - mean[b];
            sumSq[b] += d * d;
        }
        return (mean, sumSq.Select((v, b) => Math.Sqrt(v / count[b])).ToArray());
    }
}
