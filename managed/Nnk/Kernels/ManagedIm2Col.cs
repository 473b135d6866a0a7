using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// im2col and its adjoint col2im for one image, in C#. The column matrix of an image is
/// (C*KH*KW, OutH*OutW) row-major, row index (c*KH + ki)*KW + kj, the layout of the native
/// library, so a GEMM with the weights viewed as (F, C*KH*KW) gives the output directly.
/// </summary>
/// <remarks>
/// As native's <c>im2col_impl.h</c>: the output columns of a tap whose input column lies inside the
/// image are worked out once per tap (<see cref="ValidColumns"/>), so the row loops test nothing;
/// stride-1 rows are span copies and vector adds.
/// </remarks>
internal static unsafe class ManagedIm2Col<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Loop order c, ki, kj, oh, ow: each column row is written contiguously, and for stride 1 the
    // inner loop reads the input contiguously too.
    public static void Im2Col(in ConvGeometry g, ReadOnlySpan<T> image, Span<T> cols)
    {
        int outH = g.OutH, outW = g.OutW, s = g.StrideW;
        int row = 0;
        for (int c = 0; c < g.C; c++)
        {
            ReadOnlySpan<T> plane = image.Slice(c * g.H * g.W, g.H * g.W);
            for (int ki = 0; ki < g.KH; ki++)
            {
                for (int kj = 0; kj < g.KW; kj++, row++)
                {
                    var (lo, hi) = ValidColumns(g, kj);
                    int first = kj - g.PadW;
                    Span<T> dst = cols.Slice(row * outH * outW, outH * outW);
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadH + ki;
                        Span<T> dstRow = dst.Slice(oh * outW, outW);
                        if ((uint)ih >= (uint)g.H)
                        {
                            dstRow.Clear();
                            continue;
                        }
                        ReadOnlySpan<T> srcRow = plane.Slice(ih * g.W, g.W);
                        dstRow[..lo].Clear();
                        if (s == 1)
                            srcRow.Slice(lo + first, hi - lo).CopyTo(dstRow[lo..hi]);
                        else if (s == 2 && hi > lo)
                            EvenElements(srcRow.Slice(lo * 2 + first, 2 * (hi - lo) - 1), dstRow[lo..hi]);
                        else
                            for (int ow = lo; ow < hi; ow++)
                                dstRow[ow] = srcRow[ow * s + first];
                        dstRow[hi..].Clear();
                    }
                }
            }
        }
    }

    // The adjoint of Im2Col: every column entry is added back to the input pixel it was read from.
    // Taps outermost and channels inside them, as native's col2im: each pixel takes its taps in
    // (ki, kj) order either way, and the loop does not re-read what the tap before just stored.
    public static void Col2Im(in ConvGeometry g, ReadOnlySpan<T> cols, Span<T> image)
    {
        int outH = g.OutH, outW = g.OutW, s = g.StrideW, planeLength = g.H * g.W;
        image.Clear();
        for (int ki = 0; ki < g.KH; ki++)
        {
            for (int kj = 0; kj < g.KW; kj++)
            {
                var (lo, hi) = ValidColumns(g, kj);
                int first = kj - g.PadW;
                for (int c = 0; c < g.C; c++)
                {
                    int row = (c * g.KH + ki) * g.KW + kj;
                    ReadOnlySpan<T> src = cols.Slice(row * outH * outW, outH * outW);
                    Span<T> plane = image.Slice(c * planeLength, planeLength);
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadH + ki;
                        if ((uint)ih >= (uint)g.H)
                            continue;
                        ReadOnlySpan<T> srcRow = src.Slice(oh * outW, outW);
                        Span<T> dstRow = plane.Slice(ih * g.W, g.W);
                        if (s == 1)
                        {
                            Span<T> to = dstRow.Slice(lo + first, hi - lo);
                            TensorPrimitives.Add(to, srcRow[lo..hi], to);
                        }
                        else
                        {
                            for (int ow = lo; ow < hi; ow++)
                                dstRow[ow * s + first] += srcRow[ow];
                        }
                    }
                }
            }
        }
    }

    // to[j] = from[2j] for every j of to (from holds 2*to.Length - 1 elements: a stride-2 run). For
    // float, a vector at a time when the run is longer than one: each vector the even elements of two
    // loaded ones (a pair of floats is one 64-bit lane whose low half is the even one, so narrowing
    // keeps it), the last vector ending on the run's last element, so that its load starts one
    // element early and keeps the odd halves; no load leaves the run.
    private static void EvenElements(ReadOnlySpan<T> from, Span<T> to)
    {
        int n = to.Length, lanes = Vector<T>.Count;
        if (typeof(T) != typeof(float) || !Vector.IsHardwareAccelerated || n <= lanes)
        {
            for (int j = 0; j < n; j++)
                to[j] = from[2 * j];
            return;
        }
        fixed (T* source = from, target = to)
        {
            for (int j = 0; j + lanes < n; j += lanes)
            {
                Vector<ulong> low = Vector.Load((ulong*)(source + 2 * j));
                Vector<ulong> high = Vector.Load((ulong*)(source + 2 * j + lanes));
                Vector.Store(Vector.Narrow(low, high).As<uint, T>(), target + j);
            }
            T* last = source + 2 * (n - lanes) - 1;
            Vector<ulong> lastLow = Vector.Load((ulong*)last), lastHigh = Vector.Load((ulong*)(last + lanes));
            Vector.Store(Vector.Narrow(lastLow >> 32, lastHigh >> 32).As<uint, T>(), target + n - lanes);
        }
    }

    // Output columns [lo, hi) whose input column ow*StrideW - PadW + kj lies inside the image.
    private static (int Lo, int Hi) ValidColumns(in ConvGeometry g, int kj)
    {
        int first = kj - g.PadW, s = g.StrideW, outW = g.OutW;
        int lo = first >= 0 ? 0 : (-first + s - 1) / s;
        int hi = first >= g.W ? 0 : (g.W - first + s - 1) / s;
        lo = Math.Min(lo, outW);
        return (lo, Math.Max(lo, Math.Min(hi, outW)));
    }
}
