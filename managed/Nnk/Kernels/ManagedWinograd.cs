using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>The convolution a Winograd pass computes.</summary>
internal enum WinogradPass
{
    /// <summary>y from x and w.</summary>
    Forward,
    /// <summary>dx from dy: a 3x3 stride-1 convolution of dy by the flipped filters, pad 2 - pad.</summary>
    InputGradient,
    /// <summary>dw from x and dy, over the forward pass's tiles.</summary>
    WeightGradient,
}

/// <summary>
/// Winograd F(2x2, 3x3) in managed code, the twin of native's <c>winograd.c</c> and
/// <c>winograd_impl.h</c>, for 3x3 stride-1 convolutions with 16 or more channels each way.
/// </summary>
/// <remarks>
/// Every 2x2 block of outputs (a tile) is y = A^T [ sum over ci of (G g G^T) .* (B^T d B) ] A, with
/// d the tile's 4x4 input patch and g a 3x3 filter: 16 multiplications where the direct sum makes
/// 36. As matrices, for each of the 16 positions xi of a transformed tile, M[xi] (cout x tiles) =
/// U[xi] (cout x cin) * V[xi] (cin x tiles): one <see cref="ManagedGemm{T}"/> call per position,
/// U the transformed filters, V the transformed patches. The weight gradient follows from y being
/// linear in U: dU[xi] (cout x cin) = dM[xi] (cout x tiles) * V[xi]^T, dM the transformed tiles of
/// dy, and dw = G^T dU G. The transforms only add, subtract and halve, so results differ from the
/// direct sum by rounding alone.
/// <para>
/// Tiles run in blocks (counting across images, row-major within an image) sized as native's: V and
/// M of one block within 2^17 elements, so they stay in the worker's L2, and a multiple of the
/// worker count of blocks. A worker transforms its blocks' patches into V, runs the 16 gemms into M
/// and transforms M back into the outputs. The transforms run over a strip of tiles (a run within
/// one tile row) a vector of tiles at a time: the patch rows are split into even and odd columns,
/// since tile j starts at input column 2j, so that a vector of tiles reads contiguous elements.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedWinograd<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Native's budget for one block's V and M, 2^17 elements (512 KiB of float), its A/B-tested best.
    private const long BlockElements = 1L << 17;

    // Below this many input or output channels the transforms cost more than the gemms save.
    private const int MinChannels = 16;

    // Tiles per strip at most: the strip buffers live on the stack.
    private const int Chunk = 64;

    private static int Lanes => Vector<T>.Count;

    // 0, 2, 4, ...: the first columns of a vector of tiles, relative to the first tile's.
    private static readonly Vector<T> s_evenColumns = EvenColumns();

    // A strip buffer: whole vectors of tiles plus the patch's last column pair, rounded up to a vector.
    private static int StripLength => Chunk + Lanes;

    /// <summary>
    /// Whether Winograd suits <paramref name="g"/> for <paramref name="pass"/>, native's
    /// <c>nnki_winograd_applies</c>: a 3x3 stride-1 kernel, 16 or more channels in and out, and for
    /// the input gradient a padding of at most 2 (its own padding is 2 - pad).
    /// </summary>
    public static bool Applies(in ConvGeometry g, WinogradPass pass) =>
        g.KH == 3 && g.KW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.C >= MinChannels && g.F >= MinChannels &&
        (pass != WinogradPass.InputGradient || (g.PadH <= 2 && g.PadW <= 2));

    /// <summary>
    /// Workspace elements <paramref name="pass"/> needs at <see cref="NnkRuntime.NumThreads"/> threads:
    /// the transformed filters, shared, then each worker's V and M (for the weight gradient, each
    /// worker's own sum of dU instead of the shared filters).
    /// </summary>
    public static long WorkspaceLength(in ConvGeometry g, WinogradPass pass)
    {
        var plan = new Plan(g, pass, 0);
        return plan.Fixed + plan.WorkersWanted * plan.PerWorker;
    }

    /// <summary>
    /// The blocking of <paramref name="pass"/> on <paramref name="g"/> at <see cref="NnkRuntime.NumThreads"/>
    /// threads and the workers it can run with in a workspace of <paramref name="workspaceLength"/>
    /// elements, none when Winograd does not suit <paramref name="g"/> or one worker does not fit:
    /// then the caller takes another path, as native does. The run takes the plan rather than
    /// planning again, so that a thread count changed meanwhile cannot change its blocking.
    /// </summary>
    public static Plan PlanFor(in ConvGeometry g, WinogradPass pass, int workspaceLength) =>
        Applies(g, pass) ? new Plan(g, pass, workspaceLength) : default;

    /// <summary>The workers of <see cref="PlanFor"/>: 0 where Winograd does not run.</summary>
    public static int Workers(in ConvGeometry g, WinogradPass pass, int workspaceLength) =>
        PlanFor(g, pass, workspaceLength).Workers;

    /// <summary>
    /// y (N, F, OutH, OutW) = the convolution of x by w, plus b unless null, by a forward plan with workers.
    /// </summary>
    public static void Forward(in Plan plan, T* x, T* w, T* b, T* y, T* workspace)
    {
        Require(plan, WinogradPass.Forward);
        TransformFilters(plan, w, flipped: false, workspace);
        Run(plan, x, b, y, workspace);
    }

    /// <summary>dx (N, C, H, W) from dy by the flipped filters, by an input-gradient plan with workers.</summary>
    public static void InputGradient(in Plan plan, T* w, T* dy, T* dx, T* workspace)
    {
        Require(plan, WinogradPass.InputGradient);
        TransformFilters(plan, w, flipped: true, workspace);
        Run(plan, dy, null, dx, workspace);
    }

    /// <summary>
    /// dw (F, C, 3, 3), overwritten, from x and dy, by a weight-gradient plan with workers. Worker t sums
    /// its blocks' dU in its own slice of the workspace; the slices are added in worker order, so the
    /// result is the same for a given worker count.
    /// </summary>
    public static void WeightGradient(in Plan plan, T* x, T* dy, T* dw, T* workspace)
    {
        Require(plan, WinogradPass.WeightGradient);
        var state = (plan, (nint)x, (nint)dy, (nint)workspace);
        WorkerPool.ForChunks(plan.Blocks, plan.Workers, state, static (in args, worker, start, end) =>
        {
            var (plan, x, dy, workspace) = args;
            T* du = (T*)workspace + worker * plan.PerWorker, v = du + plan.Filters;
            T* dm = v + plan.InputLength;
            new Span<T>(du, (int)plan.Filters).Clear();
            for (int block = start; block < end; block++)
            {
                int t0 = block * plan.Block, count = Math.Min(plan.Block, plan.Tiles - t0);
                TransformInput(plan, (T*)x, t0, count, v);
                TransformGradient(plan, (T*)dy, t0, count, dm);
                int filterPlane = plan.Cout * plan.Cin;
                for (int xi = 0; xi < 16; xi++)
                    ManagedGemm<T>.Multiply(false, true, plan.Cout, plan.Cin, count, T.One,
                        plan.OutputPlane(dm, xi), plan.Stride, plan.InputPlane(v, xi), plan.Stride,
                        T.One, new Span<T>(du + (long)xi * filterPlane, filterPlane), plan.Cin);
            }
        });
        var sum = new Span<T>(workspace, (int)plan.Filters);
        for (int worker = 1; worker < plan.Workers; worker++)
            TensorPrimitives.Add(sum, new ReadOnlySpan<T>(workspace + worker * plan.PerWorker, sum.Length), sum);
        TransformFilterGradient(plan, workspace, dw);
    }

    private static void Require(in Plan plan, WinogradPass pass)
    {
        if (plan.Workers < 1 || plan.Pass != pass)
            throw new InvalidOperationException($"A Winograd {pass} pass needs a {pass} plan with workers.");
    }

    // The output of input's convolution by the filters transformed at workspace[0, Filters), plus bias
    // unless null; each worker's V and M follow the filters.
    private static void Run(in Plan plan, T* input, T* bias, T* output, T* workspace)
    {
        var state = (plan, (nint)input, (nint)bias, (nint)output, (nint)workspace);
        WorkerPool.ForChunks(plan.Blocks, plan.Workers, state, static (in args, worker, start, end) =>
        {
            var (plan, input, bias, output, workspace) = args;
            T* u = (T*)workspace, packed = u + plan.Filters, v = u + plan.Fixed + worker * plan.PerWorker;
            T* m = v + plan.InputLength;
            int filterPlane = plan.Cout * plan.Cin;
            for (int block = start; block < end; block++)
            {
                int t0 = block * plan.Block, count = Math.Min(plan.Block, plan.Tiles - t0);
                TransformInput(plan, (T*)input, t0, count, v);
                for (int xi = 0; xi < 16; xi++)
                    if (plan.Packed)
                        ManagedGemm<T>.MultiplyPacked(plan.Cout, count, plan.Cin, T.One,
                            packed + (long)xi * plan.PackedPlane, plan.InputPlane(v, xi), plan.Stride, T.Zero,
                            plan.OutputPlane(m, xi), plan.Stride);
                    else
                        ManagedGemm<T>.Multiply(false, false, plan.Cout, count, plan.Cin, T.One,
                            new ReadOnlySpan<T>(u + (long)xi * filterPlane, filterPlane), plan.Cin,
                            plan.InputPlane(v, xi), plan.Stride, T.Zero, plan.OutputPlane(m, xi), plan.Stride);
                TransformOutput(plan, m, t0, count, (T*)bias, (T*)output);
            }
        });
    }

    // U[xi][co][ci] = G g G^T, g the 3x3 filter from input channel ci to output channel co: w[co][ci]
    // forward, and for the input gradient w[ci][co] rotated by 180 degrees (w is cin x cout x 3 x 3).
    private static void TransformFilters(in Plan plan, T* w, bool flipped, T* u)
    {
        T half = T.CreateChecked(0.5);
        long plane = (long)plan.Cout * plan.Cin;
        T* g = stackalloc T[9];
        T* t = stackalloc T[12];
        for (int co = 0; co < plan.Cout; co++)
            for (int ci = 0; ci < plan.Cin; ci++)
            {
                for (int r = 0; r < 3; r++)
                    for (int s = 0; s < 3; s++)
                        g[r * 3 + s] = flipped
                            ? w[((long)ci * plan.Cout + co) * 9 + (2 - r) * 3 + (2 - s)]
                            : w[((long)co * plan.Cin + ci) * 9 + r * 3 + s];
                // G g: rows g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2; then the same on the columns.
                for (int s = 0; s < 3; s++)
                {
                    t[s] = g[s];
                    t[3 + s] = half * (g[s] + g[3 + s] + g[6 + s]);
                    t[6 + s] = half * (g[s] - g[3 + s] + g[6 + s]);
                    t[9 + s] = g[6 + s];
                }
                T* to = u + (long)co * plan.Cin + ci;
                for (int r = 0; r < 4; r++)
                {
                    T t0 = t[r * 3], t1 = t[r * 3 + 1], t2 = t[r * 3 + 2];
                    to[(r * 4 + 0) * plane] = t0;
                    to[(r * 4 + 1) * plane] = half * (t0 + t1 + t2);
                    to[(r * 4 + 2) * plane] = half * (t0 - t1 + t2);
                    to[(r * 4 + 3) * plane] = t2;
                }
            }
        // Packed once here for the gemms of every block (after U, see Plan.Fixed).
        if (plan.Packed)
            for (int xi = 0; xi < 16; xi++)
                ManagedGemm<T>.PackWhole(new ReadOnlySpan<T>(u + xi * plane, (int)plane), plan.Cin, plan.Cout,
                    plan.Cin, u + plan.Filters + (long)xi * plan.PackedPlane);
    }

    // dw[co][ci] = G^T dU G, dU[xi][co][ci] the summed transformed gradient.
    private static void TransformFilterGradient(in Plan plan, T* du, T* dw)
    {
        T half = T.CreateChecked(0.5);
        long plane = (long)plan.Cout * plan.Cin;
        T* u = stackalloc T[16];
        T* t = stackalloc T[12];
        for (int co = 0; co < plan.Cout; co++)
            for (int ci = 0; ci < plan.Cin; ci++)
            {
                T* from = du + (long)co * plan.Cin + ci;
                for (int xi = 0; xi < 16; xi++)
                    u[xi] = from[xi * plane];
                // G^T on the rows (4 -> 3), then on the columns.
                for (int s = 0; s < 4; s++)
                {
                    T sum = half * (u[4 + s] + u[8 + s]);
                    t[s] = u[s] + sum;
                    t[4 + s] = half * (u[4 + s] - u[8 + s]);
                    t[8 + s] = sum + u[12 + s];
                }
                T* to = dw + ((long)co * plan.Cin + ci) * 9;
                for (int r = 0; r < 3; r++)
                {
                    T t0 = t[r * 4], t1 = t[r * 4 + 1], t2 = t[r * 4 + 2], t3 = t[r * 4 + 3];
                    T sum = half * (t1 + t2);
                    to[r * 3 + 0] = t0 + sum;
                    to[r * 3 + 1] = half * (t1 - t2);
                    to[r * 3 + 2] = sum + t3;
                }
            }
    }

    // V[xi][ci][k] = B^T d B for the tiles [t0, t0 + count) and every input channel, d the tile's 4x4
    // patch of the input with zeros outside the image.
    private static void TransformInput(in Plan plan, T* input, int t0, int count, T* v)
    {
        int length = StripLength, lanes = Lanes;
        T* even = stackalloc T[8 * length];
        T* odd = even + 4 * length;
        long inPlane = (long)plan.InH * plan.InW, plane = plan.InputLength / 16;
        T* end = input + (long)plan.N * plan.Cin * inPlane;
        // Channel by channel, so that the block's rows of an input plane are read in order (the
        // strips outer made each strip hop across every plane, waiting on memory at each).
        for (int ci = 0; ci < plan.Cin; ci++)
            for (int k = 0; k < count;)
            {
                Strip strip = plan.StripAt(t0 + k, count - k);
                T* image = input + ((long)strip.Image * plan.Cin + ci) * inPlane, to = v + (long)ci * plan.Stride + k;
                int x0 = 2 * strip.FirstColumn - plan.PadW;
                if (!InputStripFromRows(plan, image, strip.TileRow, x0, strip.Count, to, plane, input, end))
                {
                    // One column pair past the last whole vector of tiles: the last tile's right half.
                    int pairs = RoundUp(strip.Count, lanes) + 1;
                    SplitPatchRows(plan, image, strip.TileRow, x0, pairs, even, odd);
                    InputStrip(even, odd, pairs, strip.Count, to, plane);
                }
                k += strip.Count;
            }
    }

    // V for a strip of count tiles of one channel straight from the input rows, for float: per
    // vector of tiles, each of the 4 patch rows is split into even and odd columns in registers (see
    // Deinterleave), once from the tiles' first column and once from their third, and columns
    // outside the image are masked to zero. No buffer is stored and read back at an offset, where a
    // load spanning two recent stores waits for both to reach the cache. False, with nothing done,
    // for double or where a row's loads would reach outside the input tensor [first, end).
    private static bool InputStripFromRows(in Plan plan, T* plane, int ty, int x0, int count, T* v, long vPlane,
        T* first, T* end)
    {
        if (typeof(T) != typeof(float) || !Vector.IsHardwareAccelerated)
            return false;
        int lanes = Lanes, width = 2 * RoundUp(count, lanes) + 2;
        T* r0 = PatchRow(plan, plane, ty, 0, x0), r1 = PatchRow(plan, plane, ty, 1, x0);
        T* r2 = PatchRow(plan, plane, ty, 2, x0), r3 = PatchRow(plan, plane, ty, 3, x0);
        if (!Readable(r0, width, first, end) || !Readable(r1, width, first, end) ||
            !Readable(r2, width, first, end) || !Readable(r3, width, first, end))
            return false;
        // Column x0 + c is inside the image for c in [lo, hi).
        var lo = new Vector<T>(T.CreateChecked(-x0));
        var hi = new Vector<T>(T.CreateChecked(plan.InW - x0));
        var one = Vector<T>.One;
        for (int j = 0; j < count; j += lanes)
        {
            Vector<T> column = s_evenColumns + new Vector<T>(T.CreateChecked(2 * j));
            Vector<T> evenMask = Inside(column, lo, hi), oddMask = Inside(column + one, lo, hi);
            Vector<T> nextEvenMask = Inside(column + one + one, lo, hi);
            Vector<T> nextOddMask = Inside(column + one + one + one, lo, hi);
            // Row r's even and odd columns of the tiles (e, o), and of the tiles one further (n, p).
            SplitRow(r0, j, evenMask, oddMask, nextEvenMask, nextOddMask,
                out Vector<T> e0, out Vector<T> o0, out Vector<T> n0, out Vector<T> p0);
            SplitRow(r1, j, evenMask, oddMask, nextEvenMask, nextOddMask,
                out Vector<T> e1, out Vector<T> o1, out Vector<T> n1, out Vector<T> p1);
            SplitRow(r2, j, evenMask, oddMask, nextEvenMask, nextOddMask,
                out Vector<T> e2, out Vector<T> o2, out Vector<T> n2, out Vector<T> p2);
            SplitRow(r3, j, evenMask, oddMask, nextEvenMask, nextOddMask,
                out Vector<T> e3, out Vector<T> o3, out Vector<T> n3, out Vector<T> p3);
            // B^T d's rows d0 - d2, d1 + d2, d2 - d1, d1 - d3, each then combined across columns.
            T* at = v + j;
            TileRow(at, vPlane, e0 - e2, o0 - o2, n0 - n2, p0 - p2);
            TileRow(at + 4 * vPlane, vPlane, e1 + e2, o1 + o2, n1 + n2, p1 + p2);
            TileRow(at + 8 * vPlane, vPlane, e2 - e1, o2 - o1, n2 - n1, p2 - p1);
            TileRow(at + 12 * vPlane, vPlane, e1 - e3, o1 - o3, n1 - n3, p1 - p3);
        }
        return true;
    }

    // Input row r of the patches under tile row ty, at column x0, or null where it lies outside the
    // image (a zero row).
    private static T* PatchRow(in Plan plan, T* plane, int ty, int r, int x0)
    {
        int iy = 2 * ty - plan.PadH + r;
        return (uint)iy < (uint)plan.InH ? plane + (long)iy * plan.InW + x0 : null;
    }

    private static bool Readable(T* row, int width, T* first, T* end) =>
        row == null || (row >= first && row + width <= end);

    // All bits set in the lanes whose column lies in [lo, hi), clear elsewhere.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Inside(Vector<T> column, Vector<T> lo, Vector<T> hi) =>
        Vector.GreaterThanOrEqual(column, lo) & Vector.LessThan(column, hi);

    // A patch row's even and odd columns of tiles [j, j + Lanes), and of the tiles one further (their
    // third and fourth columns), masked; all zero for a null row. Float only (see Deinterleave).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SplitRow(T* row, int j, Vector<T> evenMask, Vector<T> oddMask, Vector<T> nextEvenMask,
        Vector<T> nextOddMask, out Vector<T> even, out Vector<T> odd, out Vector<T> nextEven, out Vector<T> nextOdd)
    {
        if (row == null)
        {
            even = odd = nextEven = nextOdd = Vector<T>.Zero;
            return;
        }
        T* at = row + 2 * j;
        int lanes = Lanes;
        Vector<ulong> low = Vector.Load((ulong*)at), high = Vector.Load((ulong*)(at + lanes));
        even = Vector.Narrow(low, high).As<uint, T>() & evenMask;
        odd = Vector.Narrow(low >> 32, high >> 32).As<uint, T>() & oddMask;
        low = Vector.Load((ulong*)(at + 2));
        high = Vector.Load((ulong*)(at + 2 + lanes));
        nextEven = Vector.Narrow(low, high).As<uint, T>() & nextEvenMask;
        nextOdd = Vector.Narrow(low >> 32, high >> 32).As<uint, T>() & nextOddMask;
    }

    // One row of B^T d B for a vector of tiles from that row of B^T d: the tiles' columns are even,
    // odd, nextEven and nextOdd; the row's four entries are e - ne, o + ne, ne - o, o - no.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileRow(T* at, long plane, Vector<T> even, Vector<T> odd, Vector<T> nextEven, Vector<T> nextOdd)
    {
        Vector.Store(even - nextEven, at);
        Vector.Store(odd + nextEven, at + plane);
        Vector.Store(nextEven - odd, at + 2 * plane);
        Vector.Store(odd - nextOdd, at + 3 * plane);
    }

    // The 4 input rows under tile row ty of one image plane, columns x0 + [0, 2*pairs), zero outside
    // the image, split into even and odd columns: even[r][j] = p[iy][x0 + 2j], odd[r][j] =
    // p[iy][x0 + 2j + 1], iy = 2*ty - pad_h + r, each row StripLength apart.
    private static void SplitPatchRows(in Plan plan, T* plane, int ty, int x0, int pairs, T* even, T* odd)
    {
        int length = StripLength, width = 2 * pairs;
        // Columns x0 + [lo, hi) are inside the image: even j for 2j in [lo, hi), odd j for 2j + 1.
        int lo = Math.Min(width, Math.Max(0, -x0));
        int hi = Math.Max(lo, Math.Min(width, plan.InW - x0));
        int evenLo = (lo + 1) / 2, evenHi = (hi + 1) / 2, oddLo = lo / 2, oddHi = hi / 2;
        for (int r = 0; r < 4; r++)
        {
            T* e = even + r * length, o = odd + r * length;
            new Span<T>(e, pairs).Clear();
            new Span<T>(o, pairs).Clear();
            T* row = PatchRow(plan, plane, ty, r, x0);
            if (row == null || lo == hi)
                continue;
            // Pairs [evenLo, oddHi) lie wholly inside; at an odd lo or hi, one column of the pair
            // at the edge does.
            Deinterleave(row + 2 * evenLo, oddHi - evenLo, e + evenLo, o + evenLo);
            if (oddLo < evenLo)
                o[oddLo] = row[2 * oddLo + 1];
            if (oddHi < evenHi)
                e[oddHi] = row[2 * oddHi];
        }
    }

    // even[j] = from[2j], odd[j] = from[2j + 1] for j < pairs. For float a vector of pairs at a time
    // (the last vector overlapping the one before): a pair is one 64-bit lane whose low half
    // (little-endian) is the even element, so narrowing the lanes keeps the even elements, and
    // narrowing them shifted right by 32 the odd ones.
    private static void Deinterleave(T* from, int pairs, T* even, T* odd)
    {
        int lanes = Lanes;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated && pairs >= lanes)
        {
            for (int j = 0; j < pairs; j += lanes)
            {
                int at = Math.Min(j, pairs - lanes);
                Vector<ulong> low = Vector.Load((ulong*)(from + 2 * at));
                Vector<ulong> high = Vector.Load((ulong*)(from + 2 * at + lanes));
                Vector.Store(Vector.Narrow(low, high).As<uint, T>(), even + at);
                Vector.Store(Vector.Narrow(low >> 32, high >> 32).As<uint, T>(), odd + at);
            }
            return;
        }
        for (int j = 0; j < pairs; j++)
        {
            even[j] = from[2 * j];
            odd[j] = from[2 * j + 1];
        }
    }

    // to[2j] = even[j], to[2j + 1] = odd[j] for j < pairs; for float by widening, Deinterleave undone.
    private static void Interleave(T* even, T* odd, int pairs, T* to)
    {
        int lanes = Lanes;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated && pairs >= lanes)
        {
            for (int j = 0; j < pairs; j += lanes)
            {
                int at = Math.Min(j, pairs - lanes);
                Vector.Widen(Vector.Load((uint*)(even + at)), out Vector<ulong> evenLow, out Vector<ulong> evenHigh);
                Vector.Widen(Vector.Load((uint*)(odd + at)), out Vector<ulong> oddLow, out Vector<ulong> oddHigh);
                Vector.Store(evenLow | (oddLow << 32), (ulong*)(to + 2 * at));
                Vector.Store(evenHigh | (oddHigh << 32), (ulong*)(to + 2 * at + lanes));
            }
            return;
        }
        for (int j = 0; j < pairs; j++)
        {
            to[2 * j] = even[j];
            to[2 * j + 1] = odd[j];
        }
    }

    // B^T d B for a strip of count tiles of one channel, from its patch rows split into even and odd
    // columns (pairs of them), into v[xi * plane + j]: the row combinations B^T d in place, then the
    // column ones. Tile j's columns are even[j], odd[j], even[j + 1], odd[j + 1].
    private static void InputStrip(T* even, T* odd, int pairs, int count, T* v, long plane)
    {
        int length = StripLength, lanes = Lanes;
        for (int j = 0; j < pairs; j += lanes)
        {
            RowCombinations(even + j, length);
            RowCombinations(odd + j, length);
        }
        for (int r = 0; r < 4; r++)
        {
            T* e = even + r * length, o = odd + r * length, row = v + 4 * r * plane;
            for (int j = 0; j < count; j += lanes)
                TileRow(row + j, plane, Vector.Load(e + j), Vector.Load(o + j), Vector.Load(e + j + 1),
                    Vector.Load(o + j + 1));
        }
    }

    // B^T d at one vector of columns, in place over the four rows (length apart): d0 - d2, d1 + d2,
    // d2 - d1, d1 - d3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowCombinations(T* column, int length)
    {
        Vector<T> d0 = Vector.Load(column), d1 = Vector.Load(column + length);
        Vector<T> d2 = Vector.Load(column + 2 * length), d3 = Vector.Load(column + 3 * length);
        Vector.Store(d0 - d2, column);
        Vector.Store(d1 + d2, column + length);
        Vector.Store(d2 - d1, column + 2 * length);
        Vector.Store(d1 - d3, column + 3 * length);
    }

    // The output's tiles [t0, t0 + count) = A^T M A (+ bias), cropped where the output's height or
    // width is odd: per strip and output channel, the 16 rows of M combine in registers into the
    // tiles' two rows of even and odd output columns, which are then interleaved into the output.
    private static void TransformOutput(in Plan plan, T* m, int t0, int count, T* bias, T* output)
    {
        int lanes = Lanes, length = StripLength;
        T* evenTop = stackalloc T[4 * length];
        T* oddTop = evenTop + length, evenBottom = oddTop + length, oddBottom = evenBottom + length;
        long plane = plan.OutputLength / 16, outPlane = (long)plan.OutH * plan.OutW;
        // Channel by channel, so that the block's rows of an output plane are written in order.
        for (int co = 0; co < plan.Cout; co++)
        {
            var b = new Vector<T>(bias == null ? T.Zero : bias[co]);
            for (int k = 0; k < count;)
            {
                Strip strip = plan.StripAt(t0 + k, count - k);
                int oy = 2 * strip.TileRow, ox = 2 * strip.FirstColumn;
                int rows = Math.Min(2, plan.OutH - oy), columns = Math.Min(2 * strip.Count, plan.OutW - ox);
                T* e = m + (long)co * plan.Stride + k;
                for (int j = 0; j < strip.Count; j += lanes)
                {
                    // A^T M: per column s of the transformed tile, top = m0 + m1 + m2, bottom = m1 - m2 - m3.
                    T* at = e + j;
                    ColumnOfAtM(at, plane, out Vector<T> top0, out Vector<T> bottom0);
                    ColumnOfAtM(at + plane, plane, out Vector<T> top1, out Vector<T> bottom1);
                    ColumnOfAtM(at + 2 * plane, plane, out Vector<T> top2, out Vector<T> bottom2);
                    ColumnOfAtM(at + 3 * plane, plane, out Vector<T> top3, out Vector<T> bottom3);
                    // Then A: even output column c0 + c1 + c2, odd c1 - c2 - c3.
                    Vector.Store(top0 + top1 + top2 + b, evenTop + j);
                    Vector.Store(top1 - top2 - top3 + b, oddTop + j);
                    Vector.Store(bottom0 + bottom1 + bottom2 + b, evenBottom + j);
                    Vector.Store(bottom1 - bottom2 - bottom3 + b, oddBottom + j);
                }
                T* to = output + ((long)strip.Image * plan.Cout + co) * outPlane + (long)oy * plan.OutW + ox;
                OutputRow(evenTop, oddTop, columns, to);
                if (rows == 2)
                    OutputRow(evenBottom, oddBottom, columns, to + plan.OutW);
                k += strip.Count;
            }
        }
    }

    // One column of A^T M from M's rows xi = s, 4 + s, 8 + s, 12 + s (at, plane apart).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ColumnOfAtM(T* at, long plane, out Vector<T> top, out Vector<T> bottom)
    {
        Vector<T> m1 = Vector.Load(at + 4 * plane), m2 = Vector.Load(at + 8 * plane);
        top = Vector.Load(at) + m1 + m2;
        bottom = m1 - m2 - Vector.Load(at + 12 * plane);
    }

    // An output row of columns outputs from its even and odd columns; an odd count leaves the last
    // tile's odd column out.
    private static void OutputRow(T* even, T* odd, int columns, T* row)
    {
        int pairs = columns / 2;
        Interleave(even, odd, pairs, row);
        if (columns % 2 != 0)
            row[columns - 1] = even[pairs];
    }

    // dM[xi][co][k] = A dY A^T for the tiles [t0, t0 + count) of dy (shaped as the forward output) and
    // every output channel, dY the tile's 2x2 gradient, zero where the tile overhangs an odd height or
    // width. Per strip: the tiles' even and odd columns, then the row combinations (dY0, dY0 + dY1,
    // dY0 - dY1, -dY1) and the column ones, a vector of tiles at a time.
    private static void TransformGradient(in Plan plan, T* dy, int t0, int count, T* dm)
    {
        int lanes = Lanes, length = StripLength;
        T* evenTop = stackalloc T[4 * length];
        T* oddTop = evenTop + length, evenBottom = oddTop + length, oddBottom = evenBottom + length;
        long plane = plan.OutputLength / 16, outPlane = (long)plan.OutH * plan.OutW;
        // Channel by channel, so that the block's rows of a dy plane are read in order.
        for (int co = 0; co < plan.Cout; co++)
            for (int k = 0; k < count;)
            {
                Strip strip = plan.StripAt(t0 + k, count - k);
                int oy = 2 * strip.TileRow, ox = 2 * strip.FirstColumn, filled = RoundUp(strip.Count, lanes);
                int rows = Math.Min(2, plan.OutH - oy), columns = Math.Min(2 * strip.Count, plan.OutW - ox);
                T* from = dy + ((long)strip.Image * plan.Cout + co) * outPlane + (long)oy * plan.OutW + ox;
                Split(from, columns, filled, evenTop, oddTop);
                if (rows == 2)
                    Split(from + plan.OutW, columns, filled, evenBottom, oddBottom);
                else
                {
                    new Span<T>(evenBottom, filled).Clear();
                    new Span<T>(oddBottom, filled).Clear();
                }
                T* to = dm + (long)co * plan.Stride + k;
                for (int j = 0; j < strip.Count; j += lanes)
                {
                    Vector<T> e0 = Vector.Load(evenTop + j), o0 = Vector.Load(oddTop + j);
                    Vector<T> e1 = Vector.Load(evenBottom + j), o1 = Vector.Load(oddBottom + j);
                    T* at = to + j;
                    GradientRow(at, plane, e0, o0);
                    GradientRow(at + 4 * plane, plane, e0 + e1, o0 + o1);
                    GradientRow(at + 8 * plane, plane, e0 - e1, o0 - o1);
                    GradientRow(at + 12 * plane, plane, -e1, -o1);
                }
                k += strip.Count;
            }
    }

    // One row of a gradient tile, columns outputs long, split into its even and odd columns up to
    // filled of each, zero past the row's end.
    private static void Split(T* row, int columns, int filled, T* even, T* odd)
    {
        int pairs = columns / 2, j = pairs;
        Deinterleave(row, pairs, even, odd);
        if (columns % 2 != 0)
        {
            even[j] = row[columns - 1];
            odd[j++] = T.Zero;
        }
        new Span<T>(even + j, filled - j).Clear();
        new Span<T>(odd + j, filled - j).Clear();
    }

    // A row of A dY A^T from one row of A dY in even and odd columns: e, e + o, e - o, -o.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRow(T* at, long plane, Vector<T> even, Vector<T> odd)
    {
        Vector.Store(even, at);
        Vector.Store(even + odd, at + plane);
        Vector.Store(even - odd, at + 2 * plane);
        Vector.Store(-odd, at + 3 * plane);
    }

    private static Vector<T> EvenColumns()
    {
        Span<T> columns = stackalloc T[Vector<T>.Count];
        for (int j = 0; j < columns.Length; j++)
            columns[j] = T.CreateChecked(2 * j);
        return new Vector<T>(columns);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    // A run of tiles in one tile row of one image: (image, tile row, first tile column .. + count - 1).
    internal readonly record struct Strip(int Image, int TileRow, int FirstColumn, int Count);

    /// <summary>
    /// One direction of the algorithm, blocked for a thread count, and the workers a workspace holds:
    /// the forward pass and the weight gradient map x (cin = C) to y's tiles (cout = F); the input
    /// gradient maps dy (cin = F) to dx (cout = C) with padding 2 - pad.
    /// </summary>
    internal readonly struct Plan
    {
        public readonly WinogradPass Pass;
        public readonly int Threads, Workers;
        public readonly int N, Cin, Cout, InH, InW, OutH, OutW, PadH, PadW;
        public readonly int TilesW, TilesImage, Tiles; // tiles per row, per image, in all
        public readonly int Block;                     // tiles per gemm
        // Row stride of V and M: a block and a vector of slack, so that the transforms run whole
        // vectors; a strip's last vector spills into tiles a later strip writes, or into the slack.
        public readonly int Stride;
        public readonly long Filters;                  // 16*cout*cin: the transformed filters

        public Plan(in ConvGeometry g, WinogradPass pass, long workspaceLength)
        {
            bool backward = pass == WinogradPass.InputGradient;
            Pass = pass;
            N = g.N;
            Cin = backward ? g.F : g.C;
            Cout = backward ? g.C : g.F;
            InH = backward ? g.OutH : g.H;
            InW = backward ? g.OutW : g.W;
            OutH = backward ? g.H : g.OutH;
            OutW = backward ? g.W : g.OutW;
            PadH = backward ? 2 - g.PadH : g.PadH;
            PadW = backward ? 2 - g.PadW : g.PadW;
            TilesW = (OutW + 1) / 2;
            TilesImage = (OutH + 1) / 2 * TilesW;
            Tiles = g.N * TilesImage;
            // Blocks within the budget, a multiple of the thread count, of equal size.
            int threads = Threads = NnkRuntime.NumThreads;
            long block = Math.Min(Tiles, Math.Max(1, BlockElements / (16L * (Cin + Cout))));
            long blocks = (Tiles + block - 1) / block;
            blocks = (blocks + threads - 1) / threads * threads;
            Block = (int)((Tiles + blocks - 1) / blocks);
            Stride = RoundUp(Block, Lanes) + Lanes;
            Filters = 16L * Cout * Cin;
            Workers = workspaceLength < Fixed + PerWorker
                ? 0
                : (int)Math.Min(WorkersWanted, (workspaceLength - Fixed) / PerWorker);
        }

        public int Blocks => (Tiles + Block - 1) / Block;

        public int WorkersWanted => Math.Min(Threads, Blocks);

        // V and M (dM for the weight gradient) of one worker.
        public long InputLength => 16L * Cin * Stride;

        public long OutputLength => 16L * Cout * Stride;

        // Whether the gemms take their filter matrices packed once per pass (ManagedGemm.PackWhole).
        public bool Packed => Pass != WinogradPass.WeightGradient && ManagedGemm<T>.PacksWhole(Cout, Cin);

        // One packed filter matrix, 16 of them after the transformed filters.
        public int PackedPlane => Packed ? ManagedGemm<T>.PackedLength(Cout, Cin) : 0;

        // The shared transformed filters, and packed; the weight gradient has none, each worker sums
        // its own dU.
        public long Fixed => Pass == WinogradPass.WeightGradient ? 0 : Filters + 16L * PackedPlane;

        public long PerWorker => InputLength + OutputLength + (Pass == WinogradPass.WeightGradient ? Filters : 0);

        public ReadOnlySpan<T> InputPlane(T* v, int xi) =>
            new(v + xi * (InputLength / 16), (int)(InputLength / 16));

        public Span<T> OutputPlane(T* m, int xi) => new(m + xi * (OutputLength / 16), (int)(OutputLength / 16));

        // The strip starting at tile t, at most left tiles and Chunk long.
        public Strip StripAt(int t, int left)
        {
            int tile = t % TilesImage, first = tile % TilesW;
            return new Strip(t / TilesImage, tile / TilesW, first, Math.Min(Math.Min(Chunk, TilesW - first), left));
        }
    }
}
