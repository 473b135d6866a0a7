using System.Numerics;
using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>
/// The input gradient of shallow stride-1 convolutions in managed code, the twin of native's
/// <c>dx_image</c> in <c>direct_impl.h</c>: dx is the stride-1 convolution of dy, zero-padded by
/// kh-1-pad_h and kw-1-pad_w, with the flipped filters, vectorised along dx's rows, with no gemm and
/// no col2im. A block of three channels, two rows and two vectors of columns keeps its 12 sums in
/// registers over f and the window (native: four rows, 24 sums in AVX-512's 32 registers; here the
/// sums, two dy vectors and a broadcast fit the 16 AVX2 registers). It runs where native's rules run
/// native's, so that the harness compares the same algorithm.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedDirectInputGradient<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Channels = 3;
    private const int Rows = 2;

    private static int Lanes => Vector<T>.Count;

    private static int Width => 2 * Vector<T>.Count;

    /// <summary>
    /// Whether native's direct input gradient takes <paramref name="g"/> (its rules in
    /// <c>direct.c</c>, with its blocks of 4 rows and two 64-byte vectors of columns): stride 1,
    /// windows of 25 or more with pads smaller than them, 2 to 4 input channels, f*kh*kw >= 100, a
    /// padded dy of at most 2^18 elements that the blocks cover at least four fifths within dx; and
    /// vector hardware here.
    /// </summary>
    public static bool Applies(in ConvGeometry g)
    {
        const long limit = 1 << 18;
        if (!Vector.IsHardwareAccelerated || g.StrideH != 1 || g.StrideW != 1 || g.KH * (long)g.KW < 25
            || g.PadH >= g.KH || g.PadW >= g.KW || g.C < 2 || g.C > 4 || (long)g.F * g.KH * g.KW < 100)
            return false;
        if (g.F > limit || g.H > limit || g.W > limit || g.KH > limit || g.KW > limit)
            return false;
        long nativeWidth = 2 * 64 / Unsafe.SizeOf<T>();
        long rows = (g.H + 3L) / 4 * 4, cols = (g.W + nativeWidth - 1) / nativeWidth * nativeWidth;
        long image = g.F * (rows + g.KH - 1) * (cols + g.KW - 1);
        return image <= limit && 5L * g.H * g.W >= 4 * rows * cols;
    }

    /// <summary>Workspace elements one worker needs: its flipped filters and its padded dy.</summary>
    public static int WorkspacePerWorker(in ConvGeometry g) => checked((int)(PanelLength(g) + PaddedImage(g)));

    private static long PanelLength(in ConvGeometry g) => Groups(g) * Channels * (long)g.F * g.KH * g.KW;

    private static int Groups(in ConvGeometry g) => (g.C + Channels - 1) / Channels;

    private static int PaddedRows(in ConvGeometry g) => (g.H + Rows - 1) / Rows * Rows + g.KH - 1;

    private static int PaddedCols(in ConvGeometry g) => (g.W + Width - 1) / Width * Width + g.KW - 1;

    private static long PaddedImage(in ConvGeometry g) => (long)g.F * PaddedRows(g) * PaddedCols(g);

    /// <summary>
    /// dx of images [start, end), every element written, with <paramref name="scratch"/> holding
    /// <see cref="WorkspacePerWorker"/> elements.
    /// </summary>
    public static void InputGradient(in ConvGeometry g, T* w, T* dy, T* dx, T* scratch, int start, int end)
    {
        int window = g.KH * g.KW, rows = PaddedRows(g), cols = PaddedCols(g), plane = rows * cols;
        int top = g.KH - 1 - g.PadH, left = g.KW - 1 - g.PadW, width = Width;
        // panel[group][f][kh][kw][3 channels, zero past c] = w[f][c][kh-1-.][kw-1-.]
        T* panel = scratch, dyp = scratch + PanelLength(g);
        for (int group = 0, at = 0; group < Groups(g); group++)
            for (int f = 0; f < g.F; f++)
                for (int a = 0; a < g.KH; a++)
                    for (int b = 0; b < g.KW; b++)
                        for (int j = 0; j < Channels; j++, at++)
                        {
                            int c = group * Channels + j;
                            panel[at] = c < g.C ? w[((long)f * g.C + c) * window + (g.KH - 1 - a) * g.KW + g.KW - 1 - b] : T.Zero;
                        }
        // The padding stays zero: each image's copy only writes the interior.
        new Span<T>(dyp, (int)PaddedImage(g)).Clear();
        T* sums = stackalloc T[Channels * Rows * width];
        int outPlane = g.OutH * g.OutW;
        for (int n = start; n < end; n++)
        {
            for (int f = 0; f < g.F; f++)
                for (int r = 0; r < g.OutH; r++)
                    new ReadOnlySpan<T>(dy + ((long)n * g.F + f) * outPlane + r * g.OutW, g.OutW)
                        .CopyTo(new Span<T>(dyp + (long)f * plane + (r + top) * cols + left, g.OutW));
            for (int group = 0; group < Groups(g); group++)
            {
                T* groupPanel = panel + (long)group * Channels * g.F * window;
                int count = Math.Min(Channels, g.C - group * Channels);
                for (int y0 = 0; y0 < g.H; y0 += Rows)
                    for (int x0 = 0; x0 < g.W; x0 += width)
                    {
                        Block(g, cols, plane, dyp + (long)y0 * cols + x0, groupPanel, sums);
                        // Rows and columns past dx's edge are computed but not stored.
                        int rowCount = Math.Min(Rows, g.H - y0), columns = Math.Min(width, g.W - x0);
                        for (int j = 0; j < count; j++)
                            for (int i = 0; i < rowCount; i++)
                                new ReadOnlySpan<T>(sums + (j * Rows + i) * width, columns).CopyTo(new Span<T>(
                                    dx + (((long)n * g.C + group * Channels + j) * g.H + y0 + i) * g.W + x0, columns));
                    }
            }
        }
    }

    // The sums of one block (3 channels x 2 rows x 2 vectors) from at, the block's first element in
    // the padded dy of the first f: row r of the window-high strip reaches output row 0 through
    // filter row r and output row 1 through filter row r - 1. They end up in
    // sums[(channel * 2 + row) * Width + column].
    private static void Block(in ConvGeometry g, int cols, int plane, T* at, T* panel, T* sums)
    {
        Vector<T> s000 = default, s001 = default, s010 = default, s011 = default;
        Vector<T> s100 = default, s101 = default, s110 = default, s111 = default;
        Vector<T> s200 = default, s201 = default, s210 = default, s211 = default;
        int kh = g.KH, kw = g.KW, lanes = Lanes, step = kw * Channels;
        for (int f = 0; f < g.F; f++, at += plane, panel += kh * step)
            for (int r = 0; r <= kh; r++)
            {
                T* row = at + r * cols;
                T* upper = panel + r * step, lower = panel + (r - 1) * step;
                for (int s = 0; s < kw; s++, upper += Channels, lower += Channels)
                {
                    Vector<T> d0 = Vector.Load(row + s), d1 = Vector.Load(row + s + lanes);
                    if (r < kh)
                    {
                        Vector<T> v = new(upper[0]);
                        s000 = ManagedGemm<T>.MultiplyAdd(d0, v, s000);
                        s001 = ManagedGemm<T>.MultiplyAdd(d1, v, s001);
                        v = new(upper[1]);
                        s100 = ManagedGemm<T>.MultiplyAdd(d0, v, s100);
                        s101 = ManagedGemm<T>.MultiplyAdd(d1, v, s101);
                        v = new(upper[2]);
                        s200 = ManagedGemm<T>.MultiplyAdd(d0, v, s200);
                        s201 = ManagedGemm<T>.MultiplyAdd(d1, v, s201);
                    }
                    if (r > 0)
                    {
                        Vector<T> v = new(lower[0]);
                        s010 = ManagedGemm<T>.MultiplyAdd(d0, v, s010);
                        s011 = ManagedGemm<T>.MultiplyAdd(d1, v, s011);
                        v = new(lower[1]);
                        s110 = ManagedGemm<T>.MultiplyAdd(d0, v, s110);
                        s111 = ManagedGemm<T>.MultiplyAdd(d1, v, s111);
                        v = new(lower[2]);
                        s210 = ManagedGemm<T>.MultiplyAdd(d0, v, s210);
                        s211 = ManagedGemm<T>.MultiplyAdd(d1, v, s211);
                    }
                }
            }
        Vector.Store(s000, sums);
        Vector.Store(s001, sums + lanes);
        Vector.Store(s010, sums + 2 * lanes);
        Vector.Store(s011, sums + 3 * lanes);
        Vector.Store(s100, sums + 4 * lanes);
        Vector.Store(s101, sums + 5 * lanes);
        Vector.Store(s110, sums + 6 * lanes);
        Vector.Store(s111, sums + 7 * lanes);
        Vector.Store(s200, sums + 8 * lanes);
        Vector.Store(s201, sums + 9 * lanes);
        Vector.Store(s210, sums + 10 * lanes);
        Vector.Store(s211, sums + 11 * lanes);
    }
}
