using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nnk;

/// <summary>
/// Max and average pooling in managed code, one source for <see cref="float"/> and <see cref="double"/>:
/// the fast path of the managed backend, which the speedup harness compares with the native library.
/// Arguments are validated by the caller.
/// </summary>
/// <remarks>
/// Work is split over the N*C planes and one worker processes a whole plane while it is
/// cache-resident, always in the same order, so results do not depend on the thread count.
/// <para>
/// In the forward passes the windows that matter in practice, 2x2 and 3x3 with stride 2, have
/// AVX2 code for the band of outputs whose windows lie wholly inside the input: the columns of
/// each window row are split out of the input row into the even and odd elements of two vectors,
/// one output per lane. Everything else (padded borders, bands narrower than a vector, other
/// windows, machines without AVX2) goes through scalar loops over the window clipped to the input.
/// The average backward pass is separable and works on whole rows (see Spread); the max backward
/// pass stores each element of a plane that 2x2 windows tile once (see ScatterTiles), and is
/// otherwise a scalar scatter into the cache-resident plane.
/// </para>
/// <para>
/// The maximum is a copy of the first maximal element in window order (row by row, left to
/// right), a NaN counting as larger than any number, so y and argmax match the native library bit
/// for bit: a later element replaces the best so far only if the best is not NaN and the element
/// is not &lt;= it. That picks the leftmost maximum under a total order, an associative choice,
/// so the vector code may reduce each window row first and then combine the rows in order.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Lanes => Vector256<T>.Count;

    /// <summary>y (N, C, OutH, OutW) = window maxima of x (N, C, H, W); argmax[o] = ih*W + iw of each maximum within its plane.</summary>
    public static void MaxForward(in PoolGeometry g, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax)
    {
        fixed (T* px = x, py = y)
        fixed (int* pa = argmax)
        {
            switch (VectorWindow(g))
            {
                case 2:
                    ForPlanes<Max2x2>(g, px, py, pa);
                    break;
                case 3:
                    ForPlanes<Max3x3>(g, px, py, pa);
                    break;
                default:
                    ForPlanes<MaxAny>(g, px, py, pa);
                    break;
            }
        }
    }

    /// <summary>dx (N, C, H, W) = 0, then dy[o] added at the input element argmax[o] of its plane.</summary>
    /// <exception cref="ArgumentException">An argmax entry lies outside [0, H*W); dx is then partly written.</exception>
    public static void MaxBackward(in PoolGeometry g, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx)
    {
        int planeLength = g.H * g.W;
        bool tiles = VectorWindow(g) == 2 && g.PadH == 0 && g.PadW == 0 && g.H == 2 * g.OutH && g.W == 2 * g.OutW &&
                     g.OutW >= Lanes;
        // The smallest position of a bad index: each worker stops at its first, and chunks are contiguous.
        int firstBad = int.MaxValue;
        fixed (T* pdy = dy, pdx = dx)
        fixed (int* pa = argmax)
        {
            var state = ((nint)pdy, (nint)pdx, (nint)pa, (nint)(&firstBad), (g.OutH, g.OutW, g.W, planeLength), tiles);
            WorkerPool.ForChunks(g.N * g.C, NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
            {
                var (ady, adx, aa, afirstBad, (outH, outW, w, planeLength), tiles) = args;
                int outPlane = outH * outW;
                ref int firstBad = ref *(int*)afirstBad;
                for (int plane = start; plane < end; plane++)
                {
                    int* at = (int*)aa + (long)plane * outPlane;
                    T* planeDy = (T*)ady + (long)plane * outPlane;
                    if (tiles && ScatterTiles(at, planeDy, outH, outW, (T*)adx + (long)plane * planeLength, w))
                        continue;
                    int bad = Scatter(at, planeDy, outPlane, (T*)adx + (long)plane * planeLength, planeLength);
                    if (bad >= 0)
                    {
                        int position = plane * outPlane + bad, seen;
                        while (position < (seen = Volatile.Read(ref firstBad)) &&
                               Interlocked.CompareExchange(ref firstBad, position, seen) != seen)
                        {
                        }
                        return;
                    }
                }
            });
        }
        if (firstBad != int.MaxValue)
            throw new ArgumentException(
                $"argmax[{firstBad}] = {argmax[firstBad]} lies outside its input plane of {planeLength} elements.",
                nameof(argmax));
    }

    /// <summary>y (N, C, OutH, OutW) = window means of x (N, C, H, W), padding counted as zeros.</summary>
    public static void AvgForward(in PoolGeometry g, ReadOnlySpan<T> x, Span<T> y)
    {
        fixed (T* px = x, py = y)
        {
            switch (VectorWindow(g))
            {
                case 2:
                    ForPlanes<Avg2x2>(g, px, py, null);
                    break;
                case 3:
                    ForPlanes<Avg3x3>(g, px, py, null);
                    break;
                default:
                    ForPlanes<AvgAny>(g, px, py, null);
                    break;
            }
        }
    }

    /// <summary>dx (N, C, H, W) = 0, then dy[o] / (PoolH*PoolW) added to every input element of window o.</summary>
    public static void AvgBackward(in PoolGeometry g, ReadOnlySpan<T> dy, Span<T> dx)
    {
        var shape = new PlaneShape(g);
        var layout = new SpreadLayout(shape);
        fixed (T* pdy = dy, pdx = dx)
        {
            var state = (shape, layout, (nint)pdy, (nint)pdx);
            WorkerPool.ForChunks(g.N * g.C, NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
            {
                var (shape, layout, ady, adx) = args;
                long inPlane = (long)shape.H * shape.W, outPlane = (long)shape.OutH * shape.OutW;
                T* scratch = Scratch(layout.ScratchLength);
                for (int plane = start; plane < end; plane++)
                    Spread(shape, layout, (T*)ady + plane * outPlane, (T*)adx + plane * inPlane, scratch);
            });
        }
    }

    // The side of the square stride-2 window that has vector code, or 0.
    private static int VectorWindow(in PoolGeometry g) =>
        Avx2.IsSupported && g.StrideH == 2 && g.StrideW == 2 && g.PoolH == g.PoolW && g.PoolH is 2 or 3 ? g.PoolH : 0;

    private static void ForPlanes<TKernel>(in PoolGeometry g, T* x, T* y, int* argmax) where TKernel : IWindowKernel
    {
        var shape = new PlaneShape(g);
        var state = (shape, (nint)x, (nint)y, (nint)argmax);
        WorkerPool.ForChunks(g.N * g.C, NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
        {
            var (shape, ax, ay, aa) = args;
            long inPlane = (long)shape.H * shape.W, outPlane = (long)shape.OutH * shape.OutW;
            for (int plane = start; plane < end; plane++)
                RunPlane<TKernel>(new Plane(shape, (T*)ax + plane * inPlane, (T*)ay + plane * outPlane,
                    aa == 0 ? null : (int*)aa + plane * outPlane));
        });
    }

    // The inside band goes to the kernel whole when it is at least a vector wide; the rest row by row, clipped.
    private static void RunPlane<TKernel>(in Plane p) where TKernel : IWindowKernel
    {
        ref readonly PlaneShape s = ref p.Shape;
        bool band = s.InsideRowEnd > s.InsideRowStart && s.InsideColEnd - s.InsideColStart >= Lanes;
        for (int oh = 0; oh < s.OutH; oh++)
        {
            if (band && oh >= s.InsideRowStart && oh < s.InsideRowEnd)
            {
                TKernel.Clipped(p, oh, 0, s.InsideColStart);
                TKernel.Clipped(p, oh, s.InsideColEnd, s.OutW);
            }
            else
            {
                TKernel.Clipped(p, oh, 0, s.OutW);
            }
        }
        if (band)
            TKernel.Inside(p);
    }

    /// <summary>Computes part of one output plane.</summary>
    private interface IWindowKernel
    {
        /// <summary>The inside band: output rows [InsideRowStart, InsideRowEnd) by columns [InsideColStart,
        /// InsideColEnd), at least a vector wide; every window lies inside the input.</summary>
        static abstract void Inside(in Plane p);

        /// <summary>Outputs [owStart, owEnd) of output row oh, windows clipped to the input.</summary>
        static abstract void Clipped(in Plane p, int oh, int owStart, int owEnd);
    }

    /// <summary>The sizes of one plane and its inside band: the outputs whose windows lie wholly inside the input.</summary>
    private readonly struct PlaneShape
    {
        public readonly int H, W, OutH, OutW, PoolH, PoolW, StrideH, StrideW, PadH, PadW;
        public readonly int InsideRowStart, InsideRowEnd, InsideColStart, InsideColEnd;

        public PlaneShape(in PoolGeometry g)
        {
            (H, W, OutH, OutW) = (g.H, g.W, g.OutH, g.OutW);
            (PoolH, PoolW, StrideH, StrideW, PadH, PadW) = (g.PoolH, g.PoolW, g.StrideH, g.StrideW, g.PadH, g.PadW);
            (InsideRowStart, InsideRowEnd) = InsideRange(H, OutH, PoolH, StrideH, PadH);
            (InsideColStart, InsideColEnd) = InsideRange(W, OutW, PoolW, StrideW, PadW);
        }

        // Outputs o with o*stride - pad >= 0 and o*stride - pad + pool <= size; an empty range is (start, start).
        private static (int Start, int End) InsideRange(int size, int outSize, int pool, int stride, int pad)
        {
            int start = Math.Min((pad + stride - 1) / stride, outSize);
            int end = size + pad - pool < 0 ? 0 : Math.Min((size + pad - pool) / stride + 1, outSize);
            return (start, Math.Max(start, end));
        }
    }

    /// <summary>One plane: its shape, input x (H, W), output y (OutH, OutW) and, for max pooling, argmax (OutH, OutW).</summary>
    private readonly struct Plane(in PlaneShape shape, T* x, T* y, int* argmax)
    {
        public readonly PlaneShape Shape = shape;
        public readonly T* X = x;
        public readonly T* Y = y;
        public readonly int* Argmax = argmax;
    }

    /// <summary>
    /// dx of a plane that unpadded 2x2 stride-2 windows tile (H = 2*OutH, W = 2*OutW, OutW at least a vector), each
    /// element stored once: its window's dy where it is the window's argmax, 0 elsewhere, with no zeroing first and no
    /// read of dx (native's max_backward_tiles; the zeroing and the scatter's adds waiting on it took twice the time).
    /// Stores 0 + dy, what <see cref="Scatter"/> gives (+0 for -0), so the last vector may overlap the one before.
    /// False, having written only inside the plane, when an argmax lies outside its own window: the plane then takes
    /// <see cref="Scatter"/>.
    /// </summary>
    private static bool ScatterTiles(int* argmax, T* dy, int outH, int outW, T* dx, int w)
    {
        Vector256<T> missed = Vector256<T>.Zero;
        for (int oh = 0; oh < outH; oh++)
        {
            T* top = dx + 2L * oh * w, bottom = top + w;
            for (int i = 0; ; i += Lanes)
            {
                if (i > outW - Lanes)
                    i = outW - Lanes;
                int o = oh * outW + i;
                Vector256<T> value = Vector256<T>.Zero + Vector256.Load(dy + o);
                WindowMasks(argmax + o, 2 * oh * w + 2 * i, w, out var m00, out var m01, out var m10, out var m11);
                missed |= ~(m00 | m01 | m10 | m11);
                (Vector256<T> t0, Vector256<T> t1) = Zip(value & m00, value & m01);
                (Vector256<T> b0, Vector256<T> b1) = Zip(value & m10, value & m11);
                t0.Store(top + 2 * i);
                t1.Store(top + 2 * i + Lanes);
                b0.Store(bottom + 2 * i);
                b1.Store(bottom + 2 * i + Lanes);
                if (i == outW - Lanes)
                    break;
            }
        }
        return missed.AsUInt64() == Vector256<ulong>.Zero;
    }

    /// <summary>
    /// Masks (all ones where true, as <typeparamref name="T"/>) of where each of a vector of windows has its argmax,
    /// relative to its first element: at 0, 1, w or w + 1. Window k starts at plane index first + 2k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WindowMasks(int* argmax, int first, int w,
        out Vector256<T> m00, out Vector256<T> m01, out Vector256<T> m10, out Vector256<T> m11)
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<int> rel = Avx.LoadVector256(argmax) - (Vector256.Create(first) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14));
            m00 = Vector256.Equals(rel, Vector256<int>.Zero).As<int, T>();
            m01 = Vector256.Equals(rel, Vector256.Create(1)).As<int, T>();
            m10 = Vector256.Equals(rel, Vector256.Create(w)).As<int, T>();
            m11 = Vector256.Equals(rel, Vector256.Create(w + 1)).As<int, T>();
        }
        else
        {
            Vector256<long> rel = Avx2.ConvertToVector256Int64(Sse2.LoadVector128(argmax)) -
                                  (Vector256.Create((long)first) + Vector256.Create(0L, 2, 4, 6));
            m00 = Vector256.Equals(rel, Vector256<long>.Zero).As<long, T>();
            m01 = Vector256.Equals(rel, Vector256.Create(1L)).As<long, T>();
            m10 = Vector256.Equals(rel, Vector256.Create((long)w)).As<long, T>();
            m11 = Vector256.Equals(rel, Vector256.Create((long)w + 1)).As<long, T>();
        }
    }

    /// <summary>The lanes of <paramref name="even"/> and <paramref name="odd"/> interleaved: the low halves, then the high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<T> Low, Vector256<T> High) Zip(Vector256<T> even, Vector256<T> odd)
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<float> lo = Avx.UnpackLow(even.AsSingle(), odd.AsSingle()), hi = Avx.UnpackHigh(even.AsSingle(), odd.AsSingle());
            return (Avx.Permute2x128(lo, hi, 0x20).As<float, T>(), Avx.Permute2x128(lo, hi, 0x31).As<float, T>());
        }
        Vector256<double> dlo = Avx.UnpackLow(even.AsDouble(), odd.AsDouble()), dhi = Avx.UnpackHigh(even.AsDouble(), odd.AsDouble());
        return (Avx.Permute2x128(dlo, dhi, 0x20).As<double, T>(), Avx.Permute2x128(dlo, dhi, 0x31).As<double, T>());
    }

    // dx plane = 0, then each dy added at its argmax; returns the first output whose argmax lies outside the plane, or -1.
    // Four outputs a step, as native unrolls its scatter (the same adds in the same order).
    private static int Scatter(int* argmax, T* dy, int outPlane, T* dx, int planeLength)
    {
        Zero(dx, planeLength);
        uint length = (uint)planeLength;
        int o = 0;
        for (; o + 4 <= outPlane; o += 4)
        {
            int i0 = argmax[o], i1 = argmax[o + 1], i2 = argmax[o + 2], i3 = argmax[o + 3];
            if ((uint)i0 >= length)
                return o;
            dx[i0] += dy[o];
            if ((uint)i1 >= length)
                return o + 1;
            dx[i1] += dy[o + 1];
            if ((uint)i2 >= length)
                return o + 2;
            dx[i2] += dy[o + 2];
            if ((uint)i3 >= length)
                return o + 3;
            dx[i3] += dy[o + 3];
        }
        for (; o < outPlane; o++)
        {
            int i = argmax[o];
            if ((uint)i >= length)
                return o;
            dx[i] += dy[o];
        }
        return -1;
    }

    // Span.Clear of a plane of a few KiB goes through memset, which measured ~20% slower here than inline vector stores.
    private static void Zero(T* destination, int length)
    {
        int i = 0;
        for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            Vector<T>.Zero.Store(destination + i);
        for (; i < length; i++)
            destination[i] = T.Zero;
    }

    private static T* Scratch(int length) => ThreadScratch<T>.GetPointer(length);

    /// <summary>Where the average-pooling backward pass keeps its spread rows and shares (see Spread).</summary>
    private readonly struct SpreadLayout
    {
        /// <summary>Elements of a spread row: the padded input row, with zeros past the last window.</summary>
        public readonly int Length;
        /// <summary>Distance between spread rows, at least Length.</summary>
        public readonly int Stride;
        /// <summary>Whether rows are spread by SpreadPairs (stride 2, AVX2).</summary>
        public readonly bool Pairs;
        /// <summary>Spread-row element pairs SpreadPairs computes: a whole number of vectors.</summary>
        public readonly int PairCount;
        /// <summary>Zeros before the shares of SpreadPairs.</summary>
        public readonly int Lead;
        /// <summary>Elements of scratch: OutH spread rows, then for SpreadPairs a zero-padded row of shares.</summary>
        public readonly int ScratchLength;

        public SpreadLayout(in PlaneShape s)
        {
            Length = Math.Max((s.OutW - 1) * s.StrideW + s.PoolW, s.PadW + s.W);
            Pairs = Avx2.IsSupported && s.StrideW == 2;
            PairCount = ((Length + 1) / 2 + Lanes - 1) / Lanes * Lanes;
            Lead = (s.PoolW + 1) / 2 - 1;
            Stride = Pairs ? 2 * PairCount : Length;
            ScratchLength = s.OutH * Stride + (Pairs ? Lead + PairCount : 0);
        }
    }

    // The average gradient is separable. Each output row's shares dy/area are spread along a
    // padded input row first (PoolW contributions per output), and then each input row is the sum
    // of the one or few spread rows of the windows over it, written once as whole vectors: far
    // fewer operations than PoolH*PoolW scalar read-modify-writes per output.
    private static void Spread(in PlaneShape s, in SpreadLayout layout, T* dy, T* dx, T* scratch)
    {
        // Locals, not fields of s: stores through the pointers could alias s and force a reload per use.
        int h = s.H, w = s.W, outH = s.OutH, outW = s.OutW, poolH = s.PoolH, poolW = s.PoolW;
        int strideH = s.StrideH, strideW = s.StrideW, padH = s.PadH, padW = s.PadW, stride = layout.Stride;
        T area = T.CreateTruncating(poolH * poolW);
        T* shares = scratch + outH * stride + layout.Lead;
        if (layout.Pairs)
        {
            // The zeros around the shares, which each row then overwrites in between.
            Zero(shares - layout.Lead, layout.Lead);
            Zero(shares + outW, layout.PairCount - outW);
        }
        for (int oh = 0; oh < outH; oh++, dy += outW)
        {
            T* row = scratch + oh * stride;
            if (layout.Pairs)
            {
                SpreadPairs(dy, outW, poolW, area, shares, row, layout.PairCount);
                continue;
            }
            Zero(row, layout.Length);
            for (int ow = 0; ow < outW; ow++)
            {
                T share = dy[ow] / area;
                for (int kw = 0; kw < poolW; kw++)
                    row[ow * strideW + kw] += share;
            }
        }
        for (int ih = 0; ih < h; ih++)
        {
            // The windows over input row ih: oh*StrideH - PadH <= ih < oh*StrideH - PadH + PoolH.
            int first = Math.Max(0, (ih + padH - poolH + strideH) / strideH), last = Math.Min(outH - 1, (ih + padH) / strideH);
            if (first <= last)
                SumRows(dx + ih * w, scratch + first * stride + padW, stride, last - first + 1, w);
            else
                Zero(dx + ih * w, w);
        }
    }

    // For stride 2, spread-row element 2j collects the shares of outputs j, j-1, ... (ceil(PoolW/2) of
    // them) and element 2j+1 those of j, j-1, ... (floor(PoolW/2)): vector sums of shifted share rows,
    // interleaved. The shares sit between zeros so the shifted loads need no bounds tests.
    private static void SpreadPairs(T* dy, int outW, int poolW, T area, T* shares, T* row, int pairCount)
    {
        Vector256<T> divisor = Vector256.Create(area);
        int i = 0;
        for (; i <= outW - Lanes; i += Lanes)
            (Vector256.Load(dy + i) / divisor).Store(shares + i);
        for (; i < outW; i++)
            shares[i] = dy[i] / area;
        int evenTerms = (poolW + 1) / 2, oddTerms = poolW / 2;
        for (int j = 0; j < pairCount; j += Lanes)
        {
            Vector256<T> even = Vector256.Load(shares + j), odd = oddTerms > 0 ? even : Vector256<T>.Zero;
            for (int m = 1; m < evenTerms; m++)
                even += Vector256.Load(shares + j - m);
            for (int m = 1; m < oddTerms; m++)
                odd += Vector256.Load(shares + j - m);
            Vector256<double> low, high;
            if (typeof(T) == typeof(float))
            {
                low = Avx.UnpackLow(even.AsSingle(), odd.AsSingle()).AsDouble();
                high = Avx.UnpackHigh(even.AsSingle(), odd.AsSingle()).AsDouble();
            }
            else
            {
                low = Avx.UnpackLow(even.AsDouble(), odd.AsDouble());
                high = Avx.UnpackHigh(even.AsDouble(), odd.AsDouble());
            }
            // The unpacks interleave within 128-bit halves; pairing the halves restores element order.
            Avx.Permute2x128(low, high, 0x20).As<double, T>().Store(row + 2 * j);
            Avx.Permute2x128(low, high, 0x31).As<double, T>().Store(row + 2 * j + Lanes);
        }
    }

    // destination[i] = rows[i] + rows[stride + i] + ... (count rows), for i < length.
    private static void SumRows(T* destination, T* rows, int stride, int count, int length)
    {
        if (length < Vector<T>.Count)
        {
            for (int i = 0; i < length; i++)
            {
                T sum = rows[i];
                for (int k = 1; k < count; k++)
                    sum += rows[k * stride + i];
                destination[i] = sum;
            }
            return;
        }
        for (int i = 0; ; i += Vector<T>.Count)
        {
            // The last vector overlaps the one before rather than leaving a scalar tail; both store the same sums.
            i = Math.Min(i, length - Vector<T>.Count);
            Vector<T> sum = Vector.Load(rows + i);
            for (int k = 1; k < count; k++)
                sum += Vector.Load(rows + k * stride + i);
            sum.Store(destination + i);
            if (i == length - Vector<T>.Count)
                break;
        }
    }

    // A later element replaces the best so far unless the best is NaN or the element is <= it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Replaces(T best, T later) => !(later <= best) && !T.IsNaN(best);

    private static void MaxClipped(in Plane p, int oh, int owStart, int owEnd)
    {
        ref readonly PlaneShape s = ref p.Shape;
        int w = s.W, poolW = s.PoolW, strideW = s.StrideW, padW = s.PadW, top = oh * s.StrideH - s.PadH;
        int rowStart = Math.Max(top, 0), rowEnd = Math.Min(top + s.PoolH, s.H);
        T* x = p.X, y = p.Y + (long)oh * s.OutW;
        int* at = p.Argmax + (long)oh * s.OutW;
        for (int ow = owStart; ow < owEnd; ow++)
        {
            int left = ow * strideW - padW;
            int colStart = Math.Max(left, 0), colEnd = Math.Min(left + poolW, w);
            int best = rowStart * w + colStart;
            T bestValue = x[best];
            for (int ih = rowStart; ih < rowEnd; ih++)
            {
                for (int iw = colStart; iw < colEnd; iw++)
                {
                    if (Replaces(bestValue, x[ih * w + iw]))
                    {
                        best = ih * w + iw;
                        bestValue = x[best];
                    }
                }
            }
            y[ow] = bestValue;
            at[ow] = best;
        }
    }

    private static void AvgClipped(in Plane p, int oh, int owStart, int owEnd)
    {
        ref readonly PlaneShape s = ref p.Shape;
        T area = T.CreateTruncating(s.PoolH * s.PoolW);
        int w = s.W, poolW = s.PoolW, strideW = s.StrideW, padW = s.PadW, top = oh * s.StrideH - s.PadH;
        int rowStart = Math.Max(top, 0), rowEnd = Math.Min(top + s.PoolH, s.H);
        T* x = p.X, y = p.Y + (long)oh * s.OutW;
        for (int ow = owStart; ow < owEnd; ow++)
        {
            int left = ow * strideW - padW;
            int colStart = Math.Max(left, 0), colEnd = Math.Min(left + poolW, w);
            T sum = T.Zero;
            for (int ih = rowStart; ih < rowEnd; ih++)
                for (int iw = colStart; iw < colEnd; iw++)
                    sum += x[ih * w + iw];
            y[ow] = sum / area;
        }
    }

    // Replaces(T, T), lane by lane: all-ones where the later element replaces the best so far.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Replaces(Vector256<T> best, Vector256<T> later) =>
        Vector256.AndNot(Vector256.Equals(best, best), Vector256.LessThanOrEqual(later, best));

    // Lets a later candidate replace the best so far, lane by lane. Positions (offsets within the plane)
    // travel as the bits of 32-bit (float) or 64-bit (double) integers in T lanes, so one mask moves both.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Offer(ref Vector256<T> best, ref Vector256<T> bestAt, Vector256<T> later, Vector256<T> laterAt)
    {
        Vector256<T> replace = Replaces(best, later);
        best = Blend(best, later, replace);
        bestAt = Blend(bestAt, laterAt, replace);
    }

    // vblendvps/pd: Vector256.ConditionalSelect costs three bitwise operations when its mask is not a bare comparison.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Blend(Vector256<T> kept, Vector256<T> replacing, Vector256<T> mask) =>
        typeof(T) == typeof(float)
            ? Avx.BlendVariable(kept.AsSingle(), replacing.AsSingle(), mask.AsSingle()).As<float, T>()
            : Avx.BlendVariable(kept.AsDouble(), replacing.AsDouble(), mask.AsDouble()).As<double, T>();

    // An offset within the plane as a position vector (see Offer).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Position(int offset) =>
        typeof(T) == typeof(float) ? Vector256.Create(offset).As<int, T>() : Vector256.Create((long)offset).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> AddPositions(Vector256<T> left, Vector256<T> right) =>
        typeof(T) == typeof(float)
            ? (left.AsInt32() + right.AsInt32()).As<int, T>()
            : (left.AsInt64() + right.AsInt64()).As<long, T>();

    // The even- and odd-numbered elements of the 2*Lanes elements from source, each in "split order":
    // elements 0 1 4 5 2 3 6 7 (float) or 0 2 1 3 (double), which one in-lane shuffle produces and
    // Unsplit undoes. Window arithmetic is lane-wise, so it runs in split order and only results are reordered.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<T> Even, Vector256<T> Odd) Split(T* source)
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<float> first = Avx.LoadVector256((float*)source), second = Avx.LoadVector256((float*)source + 8);
            return (Avx.Shuffle(first, second, 0b10_00_10_00).As<float, T>(),
                Avx.Shuffle(first, second, 0b11_01_11_01).As<float, T>());
        }
        else
        {
            Vector256<double> first = Avx.LoadVector256((double*)source), second = Avx.LoadVector256((double*)source + 4);
            return (Avx.UnpackLow(first, second).As<double, T>(), Avx.UnpackHigh(first, second).As<double, T>());
        }
    }

    // Both split orders hold the 64-bit quarters in order 0 2 1 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Unsplit(Vector256<T> split) =>
        Avx2.Permute4x64(split.AsDouble(), 0b11_01_10_00).As<double, T>();

    // argmax of the Lanes outputs whose windows start at first, first + 2, ...: start + offset, offsets in split order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePositions(Vector256<T> splitOffsets, int first, int* destination)
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<int> offsets = Unsplit(splitOffsets).AsInt32();
            (offsets + Vector256.Create(first) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14)).Store(destination);
        }
        else
        {
            // Unsplit and narrow in one permutation: the low halves of the 64-bit offsets, in natural order.
            Vector128<int> offsets = Avx2.PermuteVar8x32(splitOffsets.AsInt32(), Vector256.Create(0, 4, 2, 6, 0, 0, 0, 0)).GetLower();
            (offsets + Vector128.Create(first) + Vector128.Create(0, 2, 4, 6)).Store(destination);
        }
    }

    private readonly struct MaxAny : IWindowKernel
    {
        public static void Inside(in Plane p)
        {
            for (int oh = p.Shape.InsideRowStart; oh < p.Shape.InsideRowEnd; oh++)
                MaxClipped(p, oh, p.Shape.InsideColStart, p.Shape.InsideColEnd);
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => MaxClipped(p, oh, owStart, owEnd);
    }

    private readonly struct AvgAny : IWindowKernel
    {
        public static void Inside(in Plane p)
        {
            for (int oh = p.Shape.InsideRowStart; oh < p.Shape.InsideRowEnd; oh++)
                AvgClipped(p, oh, p.Shape.InsideColStart, p.Shape.InsideColEnd);
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => AvgClipped(p, oh, owStart, owEnd);
    }

    private readonly struct Max2x2 : IWindowKernel
    {
        public static void Inside(in Plane p)
        {
            ref readonly PlaneShape s = ref p.Shape;
            T* x = p.X;
            int w = s.W, outW = s.OutW, owStart = s.InsideColStart, owEnd = s.InsideColEnd;
            Vector256<T> right = Position(1), below = Position(w), belowRight = Position(w + 1);
            for (int oh = s.InsideRowStart; oh < s.InsideRowEnd; oh++)
            {
                int corner = (2 * oh - s.PadH) * w - s.PadW;
                T* y = p.Y + (long)oh * outW;
                int* at = p.Argmax + (long)oh * outW;
                for (int ow = owStart; ; ow += Lanes)
                {
                    // The last vector overlaps the one before rather than leaving a scalar tail; both store the same values.
                    ow = Math.Min(ow, owEnd - Lanes);
                    int first = corner + 2 * ow;
                    (Vector256<T> upper, Vector256<T> upperRight) = Split(x + first);
                    (Vector256<T> lower, Vector256<T> lowerRight) = Split(x + first + w);
                    Vector256<T> upperAt = Vector256<T>.Zero, lowerAt = below;
                    Offer(ref upper, ref upperAt, upperRight, right);
                    Offer(ref lower, ref lowerAt, lowerRight, belowRight);
                    Offer(ref upper, ref upperAt, lower, lowerAt);
                    Unsplit(upper).Store(y + ow);
                    StorePositions(upperAt, first, at + ow);
                    if (ow == owEnd - Lanes)
                        break;
                }
            }
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => MaxClipped(p, oh, owStart, owEnd);
    }

    private readonly struct Max3x3 : IWindowKernel
    {
        // Column by column of vectors, down the rows: the bottom window row of one output is the top
        // window row of the next, so each input row is reduced once rather than twice.
        public static void Inside(in Plane p)
        {
            ref readonly PlaneShape s = ref p.Shape;
            T* x = p.X, y = p.Y;
            int* at = p.Argmax;
            int w = s.W, outW = s.OutW, owStart = s.InsideColStart, owEnd = s.InsideColEnd;
            int ohStart = s.InsideRowStart, ohEnd = s.InsideRowEnd;
            int topCorner = (2 * ohStart - s.PadH) * w - s.PadW;
            Vector256<T> below = Position(w), twoBelow = Position(2 * w);
            for (int ow = owStart; ; ow += Lanes)
            {
                ow = Math.Min(ow, owEnd - Lanes);
                int first = topCorner + 2 * ow;
                (Vector256<T> top, Vector256<T> topAt) = Row(x + first);
                for (int oh = ohStart; oh < ohEnd; oh++, first += 2 * w)
                {
                    (Vector256<T> middle, Vector256<T> middleAt) = Row(x + first + w);
                    (Vector256<T> bottom, Vector256<T> bottomAt) = Row(x + first + 2 * w);
                    Vector256<T> best = top, bestAt = topAt;
                    Offer(ref best, ref bestAt, middle, AddPositions(middleAt, below));
                    Offer(ref best, ref bestAt, bottom, AddPositions(bottomAt, twoBelow));
                    Unsplit(best).Store(y + (long)oh * outW + ow);
                    StorePositions(bestAt, first, at + (long)oh * outW + ow);
                    (top, topAt) = (bottom, bottomAt);
                }
                if (ow == owEnd - Lanes)
                    break;
            }
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => MaxClipped(p, oh, owStart, owEnd);

        // The best of the three columns of one window row, with its column (0, 1 or 2) as position;
        // the third column is the odd elements one on.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<T>, Vector256<T>) Row(T* source)
        {
            (Vector256<T> best, Vector256<T> middle) = Split(source);
            Vector256<T> bestAt = Vector256<T>.Zero;
            Offer(ref best, ref bestAt, middle, Position(1));
            Offer(ref best, ref bestAt, Split(source + 1).Odd, Position(2));
            return (best, bestAt);
        }
    }

    private readonly struct Avg2x2 : IWindowKernel
    {
        public static void Inside(in Plane p)
        {
            ref readonly PlaneShape s = ref p.Shape;
            T* x = p.X;
            int w = s.W, outW = s.OutW, owStart = s.InsideColStart, owEnd = s.InsideColEnd;
            Vector256<T> area = Vector256.Create(T.CreateTruncating(4));
            for (int oh = s.InsideRowStart; oh < s.InsideRowEnd; oh++)
            {
                T* corner = x + (2 * oh - s.PadH) * w - s.PadW;
                T* y = p.Y + (long)oh * outW;
                for (int ow = owStart; ; ow += Lanes)
                {
                    ow = Math.Min(ow, owEnd - Lanes);
                    (Vector256<T> upperLeft, Vector256<T> upperRight) = Split(corner + 2 * ow);
                    (Vector256<T> lowerLeft, Vector256<T> lowerRight) = Split(corner + 2 * ow + w);
                    // Summed from zero in window order, as the scalar path does, so both give the same bits.
                    Vector256<T> sum = Vector256<T>.Zero + upperLeft + upperRight + lowerLeft + lowerRight;
                    (Unsplit(sum) / area).Store(y + ow);
                    if (ow == owEnd - Lanes)
                        break;
                }
            }
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => AvgClipped(p, oh, owStart, owEnd);
    }

    private readonly struct Avg3x3 : IWindowKernel
    {
        public static void Inside(in Plane p)
        {
            ref readonly PlaneShape s = ref p.Shape;
            T* x = p.X;
            int w = s.W, outW = s.OutW, owStart = s.InsideColStart, owEnd = s.InsideColEnd;
            Vector256<T> area = Vector256.Create(T.CreateTruncating(9));
            for (int oh = s.InsideRowStart; oh < s.InsideRowEnd; oh++)
            {
                T* corner = x + (2 * oh - s.PadH) * w - s.PadW;
                T* y = p.Y + (long)oh * outW;
                for (int ow = owStart; ; ow += Lanes)
                {
                    ow = Math.Min(ow, owEnd - Lanes);
                    // Summed from zero in window order, as the scalar path does, so both give the same bits.
                    Vector256<T> sum = Vector256<T>.Zero;
                    for (T* row = corner + 2 * ow; row < corner + 2 * ow + 3 * w; row += w)
                    {
                        (Vector256<T> left, Vector256<T> middle) = Split(row);
                        sum = sum + left + middle + Split(row + 1).Odd;
                    }
                    (Unsplit(sum) / area).Store(y + ow);
                    if (ow == owEnd - Lanes)
                        break;
                }
            }
        }

        public static void Clipped(in Plane p, int oh, int owStart, int owEnd) => AvgClipped(p, oh, owStart, owEnd);
    }
}
