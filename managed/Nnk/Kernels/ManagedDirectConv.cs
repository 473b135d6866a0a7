using System.Numerics;
using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>
/// The direct convolution in managed code, the twin of native's <c>direct_impl.h</c>: the forward pass
/// and the weight gradient of deep convolutions without im2col. For a block of output channels and a
/// block of output pixels, the sums stay in registers over every k = (c, kh, kw), each input value
/// broadcast from a zero-padded copy of the image. The weight gradient is the same kernel with k and
/// the pixels swapped. Native uses up to four vectors of channels with AVX-512's 32 registers and
/// two with AVX2's 16; here a block is two vectors, so that its 12 sums, two weight vectors and one
/// broadcast fit the 16 AVX2 registers, as <see cref="ManagedGemm{T}"/>'s micro-kernel does. As in
/// native's AVX2 kernel, the forward pass's last block is one vector (12 pixels) when the channels
/// left fit one, and the rule for when the kernel applies pads f to whole vectors, as native's does.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedDirectConv<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Pixels = 6;

    private static int Lanes => Vector<T>.Count;

    // Output channels per block: two vectors.
    private static int BlockChannels => 2 * Vector<T>.Count;

    /// <summary>
    /// Whether the direct pass (the weight gradient with <paramref name="filter"/>) suits
    /// <paramref name="g"/>: the rules of native's <c>direct.c</c> (c*kh*kw from 100 to 1024, not
    /// 1x1, three quarters of the block lanes holding real channels, a padded image of at most 2^16
    /// elements, 2^18 for the weight gradient), with vector hardware.
    /// </summary>
    public static bool Applies(in ConvGeometry g, bool filter)
    {
        int depth = g.ColumnRows;
        if (!Vector.IsHardwareAccelerated || g.KH * g.KW == 1 || depth < 100 || depth > 1024)
            return false;
        // Each factor of the padded image within the limit first, so that their product cannot overflow.
        long limit = filter ? 1 << 18 : 1 << 16;
        if (g.C > limit || g.H + 2L * g.PadH > limit || g.W + 2L * g.PadW > limit || PaddedImage(g) > limit)
            return false;
        return 4L * g.F >= 3L * ((g.F + Lanes - 1) / Lanes * (long)Lanes);
    }

    /// <summary>Workspace elements one worker needs (the offsets live in a thread's own scratch).</summary>
    public static int WorkspacePerWorker(in ConvGeometry g, bool filter) =>
        checked((int)(PaddedChannels(g) * g.ColumnRows + PaddedImage(g)
                      + (filter ? (long)g.ColumnCols * BlockChannels : 0)));

    private static long PaddedChannels(in ConvGeometry g) => (g.F + BlockChannels - 1) / BlockChannels * (long)BlockChannels;

    private static long PaddedImage(in ConvGeometry g) => g.C * (g.H + 2L * g.PadH) * (g.W + 2L * g.PadW);

    /// <summary>
    /// y of images [start, end) into <paramref name="y"/>, with <paramref name="scratch"/> holding
    /// <see cref="WorkspacePerWorker"/> elements: the weights repacked by blocks of channels, then the
    /// padded image.
    /// </summary>
    public static void Forward(in ConvGeometry g, T* x, T* w, T* b, T* y, T* scratch, int start, int end)
    {
        int depth = g.ColumnRows, plane = g.ColumnCols, channels = BlockChannels;
        int paddedF = (int)PaddedChannels(g);
        T* panel = scratch, xp = scratch + (long)paddedF * depth;
        // panel[block][k][channel of the block], a block two vectors wide or, the last, one.
        for (int f0 = 0; f0 < g.F; f0 += channels)
        {
            int width = BlockWidth(g, f0);
            for (int k = 0; k < depth; k++)
                for (int j = 0; j < width; j++)
                    panel[(long)f0 * depth + k * width + j] = f0 + j < g.F ? w[(long)(f0 + j) * depth + k] : T.Zero;
        }
        int* koff = Offsets(g, out int* poff);
        new Span<T>(xp, (int)PaddedImage(g)).Clear();
        T* sums = stackalloc T[Pixels * channels];
        for (int n = start; n < end; n++)
        {
            Pad(g, x + (long)n * g.C * g.H * g.W, xp);
            for (int f0 = 0; f0 < g.F; f0 += channels)
            {
                int count = Math.Min(channels, g.F - f0), width = BlockWidth(g, f0);
                // Pixels per block: the sums of 12 vectors either way (Pixels x 2 or 2*Pixels x 1).
                int step = width == channels ? Pixels : 2 * Pixels;
                for (int q0 = 0; q0 < plane; q0 += step)
                {
                    // A last, partial block repeats its last pixel; only real ones are stored.
                    if (width == channels)
                        Block(depth, panel + (long)f0 * depth, koff, xp,
                            poff[Math.Min(q0, plane - 1)], poff[Math.Min(q0 + 1, plane - 1)], poff[Math.Min(q0 + 2, plane - 1)],
                            poff[Math.Min(q0 + 3, plane - 1)], poff[Math.Min(q0 + 4, plane - 1)], poff[Math.Min(q0 + 5, plane - 1)],
                            sums);
                    else
                        Block1(depth, panel + (long)f0 * depth, koff, xp, poff, q0, plane, sums);
                    int pixels = Math.Min(step, plane - q0);
                    for (int c = 0; c < count; c++)
                    {
                        T bias = b == null ? T.Zero : b[f0 + c];
                        T* row = y + ((long)n * g.F + f0 + c) * plane + q0;
                        for (int j = 0; j < pixels; j++)
                            row[j] = sums[j * width + c] + bias;
                    }
                }
            }
        }
    }

    // Channels in the forward block from f0: two vectors, or one when what is left fits one.
    private static int BlockWidth(in ConvGeometry g, int f0) => g.F - f0 <= Lanes ? Lanes : BlockChannels;

    /// <summary>
    /// dyt[q * channels + c] = plane c of <paramref name="dy"/> at q, 0 for c &gt;= count, by blocks
    /// transposed in registers (<see cref="BlockTranspose"/>) where the hardware has them. Element by
    /// element, a pixel's planes (a page or more apart) all fell in one set of L1 and each read waited
    /// on L2: native's copy, done that way, was half of conv_3l's weight gradient on Zen 4.
    /// </summary>
    private static void TransposeDy(T* dy, int plane, int count, int channels, T* dyt)
    {
        int size = BlockTranspose.Size<T>(), q0 = 0;
        if (size > 0)
        {
            for (; q0 + size <= plane; q0 += size)
                for (int c0 = 0; c0 < channels; c0 += size)
                {
                    if (c0 + size <= count)
                    {
                        BlockTranspose.Transpose(dy + (long)c0 * plane + q0, plane, dyt + (long)q0 * channels + c0, channels);
                        continue;
                    }
                    for (int q = q0; q < q0 + size; q++)
                        for (int c = c0; c < c0 + size; c++)
                            dyt[(long)q * channels + c] = c < count ? dy[(long)c * plane + q] : T.Zero;
                }
        }
        for (; q0 < plane; q0++)
            for (int c = 0; c < channels; c++)
                dyt[(long)q0 * channels + c] = c < count ? dy[(long)c * plane + q0] : T.Zero;
    }

    /// <summary>
    /// The weight gradient of images [start, end) added into <paramref name="partial"/> (f x c*kh*kw,
    /// as dw), with <paramref name="scratch"/> holding <see cref="WorkspacePerWorker"/> elements for
    /// the weight gradient: the worker's sums by blocks of channels, the padded image, one block's dy
    /// transposed.
    /// </summary>
    public static void WeightGradient(in ConvGeometry g, T* x, T* dy, T* partial, T* scratch, int start, int end)
    {
        int depth = g.ColumnRows, plane = g.ColumnCols, channels = BlockChannels;
        int paddedF = (int)PaddedChannels(g);
        T* blocks = scratch, xp = scratch + (long)paddedF * depth, dyt = xp + PaddedImage(g);
        new Span<T>(blocks, paddedF * depth).Clear();
        new Span<T>(xp, (int)PaddedImage(g)).Clear();
        int* koff = Offsets(g, out int* poff);
        T* sums = stackalloc T[Pixels * channels];
        for (int n = start; n < end; n++)
        {
            Pad(g, x + (long)n * g.C * g.H * g.W, xp);
            for (int f0 = 0; f0 < g.F; f0 += channels)
            {
                int count = Math.Min(channels, g.F - f0);
                TransposeDy(dy + ((long)n * g.F + f0) * plane, plane, count, channels, dyt);
                T* block = blocks + (long)f0 * depth;
                for (int k0 = 0; k0 < depth; k0 += Pixels)
                {
                    // A last, partial block repeats its last k; only real ones are added.
                    Block(plane, dyt, poff, xp,
                        koff[Math.Min(k0, depth - 1)], koff[Math.Min(k0 + 1, depth - 1)], koff[Math.Min(k0 + 2, depth - 1)],
                        koff[Math.Min(k0 + 3, depth - 1)], koff[Math.Min(k0 + 4, depth - 1)], koff[Math.Min(k0 + 5, depth - 1)],
                        sums);
                    int ks = Math.Min(Pixels, depth - k0);
                    for (int j = 0; j < ks; j++)
                    {
                        T* to = block + (long)(k0 + j) * channels;
                        Vector.Store(Vector.Load(to) + Vector.Load(sums + j * channels), to);
                        Vector.Store(Vector.Load(to + Lanes) + Vector.Load(sums + j * channels + Lanes), to + Lanes);
                    }
                }
            }
        }
        // Out of block order into dw's: partial[f][k] += blocks[f0][k][f - f0].
        for (int f = 0; f < g.F; f++)
        {
            int f0 = f / channels * channels;
            for (int k = 0; k < depth; k++)
                partial[(long)f * depth + k] += blocks[(long)f0 * depth + k * channels + (f - f0)];
        }
    }

    // The sums of one block of two channel vectors and six offsets (pixels forward, k for the weight
    // gradient) over depth steps: step s reads panel[s] (two vectors) and the inputs at
    // xp + offsets[s] + o0 ... o5, all 12 sums in registers; they end up in sums[j * 2 * Lanes + lane].
    private static void Block(int depth, T* panel, int* offsets, T* xp, int o0, int o1, int o2, int o3, int o4, int o5, T* sums)
    {
        Vector<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default;
        Vector<T> s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
        int lanes = Lanes;
        for (int s = 0; s < depth; s++)
        {
            Vector<T> w0 = Vector.Load(panel), w1 = Vector.Load(panel + lanes);
            T* at = xp + offsets[s];
            Vector<T> v = new(at[o0]);
            s00 = ManagedGemm<T>.MultiplyAdd(w0, v, s00);
            s01 = ManagedGemm<T>.MultiplyAdd(w1, v, s01);
            v = new(at[o1]);
            s10 = ManagedGemm<T>.MultiplyAdd(w0, v, s10);
            s11 = ManagedGemm<T>.MultiplyAdd(w1, v, s11);
            v = new(at[o2]);
            s20 = ManagedGemm<T>.MultiplyAdd(w0, v, s20);
            s21 = ManagedGemm<T>.MultiplyAdd(w1, v, s21);
            v = new(at[o3]);
            s30 = ManagedGemm<T>.MultiplyAdd(w0, v, s30);
            s31 = ManagedGemm<T>.MultiplyAdd(w1, v, s31);
            v = new(at[o4]);
            s40 = ManagedGemm<T>.MultiplyAdd(w0, v, s40);
            s41 = ManagedGemm<T>.MultiplyAdd(w1, v, s41);
            v = new(at[o5]);
            s50 = ManagedGemm<T>.MultiplyAdd(w0, v, s50);
            s51 = ManagedGemm<T>.MultiplyAdd(w1, v, s51);
            panel += 2 * lanes;
        }
        Vector.Store(s00, sums);
        Vector.Store(s01, sums + lanes);
        Vector.Store(s10, sums + 2 * lanes);
        Vector.Store(s11, sums + 3 * lanes);
        Vector.Store(s20, sums + 4 * lanes);
        Vector.Store(s21, sums + 5 * lanes);
        Vector.Store(s30, sums + 6 * lanes);
        Vector.Store(s31, sums + 7 * lanes);
        Vector.Store(s40, sums + 8 * lanes);
        Vector.Store(s41, sums + 9 * lanes);
        Vector.Store(s50, sums + 10 * lanes);
        Vector.Store(s51, sums + 11 * lanes);
    }

    // The sums of one block of one channel vector and 12 pixels (from output pixel q0, the last
    // repeated past the plane) over depth steps, into sums[j * Lanes + lane]: 12 sums, one weight
    // vector and one broadcast in registers.
    private static void Block1(int depth, T* panel, int* offsets, T* xp, int* poff, int q0, int plane, T* sums)
    {
        int o0 = poff[Math.Min(q0, plane - 1)], o1 = poff[Math.Min(q0 + 1, plane - 1)], o2 = poff[Math.Min(q0 + 2, plane - 1)];
        int o3 = poff[Math.Min(q0 + 3, plane - 1)], o4 = poff[Math.Min(q0 + 4, plane - 1)], o5 = poff[Math.Min(q0 + 5, plane - 1)];
        int o6 = poff[Math.Min(q0 + 6, plane - 1)], o7 = poff[Math.Min(q0 + 7, plane - 1)], o8 = poff[Math.Min(q0 + 8, plane - 1)];
        int o9 = poff[Math.Min(q0 + 9, plane - 1)], o10 = poff[Math.Min(q0 + 10, plane - 1)], o11 = poff[Math.Min(q0 + 11, plane - 1)];
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default;
        Vector<T> s6 = default, s7 = default, s8 = default, s9 = default, s10 = default, s11 = default;
        int lanes = Lanes;
        for (int s = 0; s < depth; s++)
        {
            Vector<T> w0 = Vector.Load(panel);
            T* at = xp + offsets[s];
            s0 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o0]), s0);
            s1 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o1]), s1);
            s2 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o2]), s2);
            s3 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o3]), s3);
            s4 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o4]), s4);
            s5 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o5]), s5);
            s6 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o6]), s6);
            s7 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o7]), s7);
            s8 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o8]), s8);
            s9 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o9]), s9);
            s10 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o10]), s10);
            s11 = ManagedGemm<T>.MultiplyAdd(w0, new Vector<T>(at[o11]), s11);
            panel += lanes;
        }
        Vector.Store(s0, sums);
        Vector.Store(s1, sums + lanes);
        Vector.Store(s2, sums + 2 * lanes);
        Vector.Store(s3, sums + 3 * lanes);
        Vector.Store(s4, sums + 4 * lanes);
        Vector.Store(s5, sums + 5 * lanes);
        Vector.Store(s6, sums + 6 * lanes);
        Vector.Store(s7, sums + 7 * lanes);
        Vector.Store(s8, sums + 8 * lanes);
        Vector.Store(s9, sums + 9 * lanes);
        Vector.Store(s10, sums + 10 * lanes);
        Vector.Store(s11, sums + 11 * lanes);
    }

    // koff[k] for k = (c, kh, kw) and poff[q] for every output pixel, in this thread's scratch.
    private static int* Offsets(in ConvGeometry g, out int* poff)
    {
        int depth = g.ColumnRows, plane = g.ColumnCols, paddedH = g.H + 2 * g.PadH, paddedW = g.W + 2 * g.PadW;
        int* koff = ThreadScratch<int>.GetPointer(depth + plane);
        for (int c = 0, k = 0; c < g.C; c++)
            for (int ki = 0; ki < g.KH; ki++)
                for (int kj = 0; kj < g.KW; kj++, k++)
                    koff[k] = (c * paddedH + ki) * paddedW + kj;
        poff = koff + depth;
        for (int q = 0; q < plane; q++)
            poff[q] = q / g.OutW * g.StrideH * paddedW + q % g.OutW * g.StrideW;
        return koff;
    }

    // One image into the interior of xp, whose padding stays zero.
    private static void Pad(in ConvGeometry g, T* image, T* xp)
    {
        int paddedH = g.H + 2 * g.PadH, paddedW = g.W + 2 * g.PadW;
        for (int c = 0; c < g.C; c++)
            for (int r = 0; r < g.H; r++)
                new ReadOnlySpan<T>(image + ((long)c * g.H + r) * g.W, g.W)
                    .CopyTo(new Span<T>(xp + ((long)c * paddedH + r + g.PadH) * paddedW + g.PadW, g.W));
    }
}
