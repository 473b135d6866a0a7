
namespace Nnk;

public sealed partial class ManagedKernels<T>
{
    /// <inheritdoc/>
    public void MaxPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax)
    {
        KernelArguments.Pool2d<T>(geometry, x, y, "x", "y");
        KernelArguments.PoolIndices(geometry, argmax);
        if (_fast)
            ManagedPooling<T>.MaxForward(geometry, x, y, argmax);
        else
            MaxPool2dForwardNaive(geometry, x, y, argmax);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx)
    {
        KernelArguments.Pool2d<T>(geometry, dx, dy, "dx", "dy");
        KernelArguments.PoolIndices(geometry, argmax);
        if (_fast)
            ManagedPooling<T>.MaxBackward(geometry, dy, argmax, dx);
        else
            MaxPool2dBackwardNaive(geometry, dy, argmax, dx);
    }

    /// <inheritdoc/>
    public void AvgPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y)
    {
        KernelArguments.Pool2d<T>(geometry, x, y, "x", "y");
        if (_fast)
            ManagedPooling<T>.AvgForward(geometry, x, y);
        else
            AvgPool2dForwardNaive(geometry, x, y);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, Span<T> dx)
    {
        KernelArguments.Pool2d<T>(geometry, dx, dy, "dx", "dy");
        if (_fast)
            ManagedPooling<T>.AvgBackward(geometry, dy, dx);
        else
            AvgPool2dBackwardNaive(geometry, dy, dx);
    }

    // The seed's max_pool_forward_naive, recording where each maximum came from: the first
    // maximum in window order wins ties, and a NaN beats any number.
    private static void MaxPool2dForwardNaive(in PoolGeometry g, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax)
    {
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            ReadOnlySpan<T> input = x.Slice(plane * g.H * g.W, g.H * g.W);
            for (int oh = 0; oh < g.OutH; oh++)
            for (int ow = 0; ow < g.OutW; ow++, o++)
            {
                int best = -1;
                for (int ih = oh * g.StrideH - g.PadH; ih < oh * g.StrideH - g.PadH + g.PoolH; ih++)
                for (int iw = ow * g.StrideW - g.PadW; iw < ow * g.StrideW - g.PadW + g.PoolW; iw++)
                {
                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
                        continue;
                    T v = input[ih * g.W + iw];
                    if (best < 0 || v > input[best] || (T.IsNaN(v) && !T.IsNaN(input[best])))
                        best = ih * g.W + iw;
                }
                y[o] = input[best];
                argmax[o] = best;
            }
        }
    }

    private static void MaxPool2dBackwardNaive(in PoolGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx)
    {
        int planeLength = g.H * g.W, outPlane = g.OutH * g.OutW;
        dx.Clear();
        for (int o = 0; o < dy.Length; o++)
        {
            if ((uint)argmax[o] >= (uint)planeLength)
                throw new ArgumentException(
                    $"argmax[{o}] = {argmax[o]} lies outside its input plane of {planeLength} elements.", nameof(argmax));
            dx[o / outPlane * planeLength + argmax[o]] += dy[o];
        }
    }

    private static void AvgPool2dForwardNaive(in PoolGeometry g, ReadOnlySpan<T> x, Span<T> y)
    {
        T area = T.CreateChecked(g.PoolH * g.PoolW);
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            ReadOnlySpan<T> input = x.Slice(plane * g.H * g.W, g.H * g.W);
            for (int oh = 0; oh < g.OutH; oh++)
            for (int ow = 0; ow < g.OutW; ow++, o++)
            {
                T sum = T.Zero;
                for (int ih = Math.Max(0, oh * g.StrideH - g.PadH); ih < Math.Min(g.H, oh * g.StrideH - g.PadH + g.PoolH); ih++)
                for (int iw = Math.Max(0, ow * g.StrideW - g.PadW); iw < Math.Min(g.W, ow * g.StrideW - g.PadW + g.PoolW); iw++)
                    sum += input[ih * g.W + iw];
                y[o] = sum / area;
            }
        }
    }

    private static void AvgPool2dBackwardNaive(in PoolGeometry g, ReadOnlySpan<T> dy, Span<T> dx)
    {
        T area = T.CreateChecked(g.PoolH * g.PoolW);
        dx.Clear();
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            Span<T> grad = dx.Slice(plane * g.H * g.W, g.H * g.W);
            for (int oh = 0; oh < g.OutH; oh++)
            for (int ow = 0; ow < g.OutW; ow++, o++)
            {
                T share = dy[o] / area;
                for (int ih = Math.Max(0, oh * g.StrideH - g.PadH); ih < Math.Min(g.H, oh * g.StrideH - g.PadH + g.PoolH); ih++)
                for (int iw = Math.Max(0, ow * g.StrideW - g.PadW); iw < Math.Min(g.W, ow * g.StrideW - g.PadW + g.PoolW); iw++)
                    grad[ih * g.W + iw] += share;
            }
        }
    }
}
