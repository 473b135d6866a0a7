using System.Numerics;

namespace Nnk;

/// <summary>
/// im2col and its adjoint col2im for one image, in C#. The column matrix of an image is
/// (C*KH*KW, OutH*OutW) row-major, row index (c*KH + ki)*KW + kj, the layout of the native
/// library, so a GEMM with the weights viewed as (F, C*KH*KW) gives the output directly.
/// </summary>
internal static class ManagedIm2Col<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Loop order c, ki, kj, oh, ow: each column row is written contiguously, and for stride 1 the
    // inner loop reads the input contiguously too.
    public static void Im2Col(in ConvGeometry g, ReadOnlySpan<T> image, Span<T> cols)
    {
        int outH = g.OutH, outW = g.OutW;
        int row = 0;
        for (int c = 0; c < g.C; c++)
        {
            ReadOnlySpan<T> plane = image.Slice(c * g.H * g.W, g.H * g.W);
            for (int ki = 0; ki < g.KH; ki++)
            {
                for (int kj = 0; kj < g.KW; kj++, row++)
                {
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
                        for (int ow = 0; ow < outW; ow++)
                        {
                            int iw = ow * g.StrideW - g.PadW + kj;
                            dstRow[ow] = (uint)iw < (uint)g.W ? srcRow[iw] : T.Zero;
                        }
                    }
                }
            }
        }
    }

    // The adjoint of Im2Col: every column entry is added back to the input pixel it was read from.
    public static void Col2Im(in ConvGeometry g, ReadOnlySpan<T> cols, Span<T> image)
    {
        int outH = g.OutH, outW = g.OutW;
        image.Clear();
        int row = 0;
        for (int c = 0; c < g.C; c++)
        {
            Span<T> plane = image.Slice(c * g.H * g.W, g.H * g.W);
            for (int ki = 0; ki < g.KH; ki++)
            {
                for (int kj = 0; kj < g.KW; kj++, row++)
                {
                    ReadOnlySpan<T> src = cols.Slice(row * outH * outW, outH * outW);
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadH + ki;
                        if ((uint)ih >= (uint)g.H)
                            continue;
                        ReadOnlySpan<T> srcRow = src.Slice(oh * outW, outW);
                        Span<T> dstRow = plane.Slice(ih * g.W, g.W);
                        for (int ow = 0; ow < outW; ow++)
                        {
                            int iw = ow * g.StrideW - g.PadW + kj;
                            if ((uint)iw < (uint)g.W)
                                dstRow[iw] += srcRow[ow];
                        }
                    }
                }
            }
        }
    }
}
