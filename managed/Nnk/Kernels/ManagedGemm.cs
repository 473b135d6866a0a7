using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nnk;

/// <summary>
/// Single-threaded general matrix multiply in managed code, one source for <see cref="float"/> and
/// <see cref="double"/>: the fast path the managed backend uses and the speedup harness compares
/// with a native BLAS.
/// </summary>
/// <remarks>
/// The structure follows Goto and van de Geijn, "Anatomy of high-performance matrix multiplication"
/// (2008), as BLIS does: k is cut into <see cref="KC"/>-deep slices, B into <see cref="NC"/>-wide and A
/// into <see cref="MC"/>-tall blocks, each block is packed into a contiguous per-thread buffer, and a
/// register-blocked micro-kernel computes one <see cref="MR"/> x <see cref="NR"/> tile of C at a time.
/// Callers parallelise over images, so this class never starts threads; it keeps no shared mutable
/// state, so concurrent calls from several threads are safe.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedGemm<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Rows of the register tile. Six rows of two vectors make 12 accumulators; with two B vectors and
    // one broadcast A value that is 15 of the 16 AVX2 registers, and each k step issues 12 FMAs for
    // 8 loads, enough to keep both FMA pipes of a Zen core busy.
    private const int MR = 6;

    // Depth of a k slice: a packed B sliver (KC x NR, 16 KiB in float) stays in the 32 KiB L1 while
    // the A slivers of one block stream past it, and KC is long enough to amortise the tile's
    // load and store of C.
    private const int KC = 256;

    private static int Lanes => Vector<T>.Count;

    // Columns of the register tile: two vectors, 16 floats or 8 doubles with AVX2.
    private static int NR => 2 * Vector<T>.Count;

    // Rows of an A block: MC x KC elements is 144 KiB, half of the 512 KiB L2, so the packed A block
    // stays in L2 while every B sliver of the slice sweeps over it. A multiple of MR for both types.
    private static int MC => 576 / sizeof(T);

    // Columns of a B block: KC x NC elements is 4 MiB, which lives in the shared L3 and is reused for
    // every A block; a multiple of NR for both types.
    private static int NC => 16384 / sizeof(T);

    // Packing buffers, one pair per thread and per element type, grown on demand and then reused so
    // that steady-state calls do not allocate. They are pinned so the kernels can use raw pointers.
    [ThreadStatic] private static T[]? s_packedA;
    [ThreadStatic] private static T[]? s_packedB;

    /// <summary>
    /// C (m x n, row stride <paramref name="ldc"/>) = alpha * op(A) * op(B) + beta * C, all row-major,
    /// where op(X) is X or its transpose.
    /// </summary>
    /// <param name="transposeA">Whether A is stored as k x m (so op(A) = A^T) rather than m x k.</param>
    /// <param name="transposeB">Whether B is stored as n x k (so op(B) = B^T) rather than k x n.</param>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A) and rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Matrix A as stored, with row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A in elements, at least its stored column count (and at least 1).</param>
    /// <param name="b">Matrix B as stored, with row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B in elements, at least its stored column count (and at least 1).</param>
    /// <param name="beta">Scale of the old C; when zero, C is overwritten without being read, so NaN in
    /// it does not propagate.</param>
    /// <param name="c">Matrix C, read (unless beta is zero) and written in place; elements between
    /// column n and the row stride are left untouched.</param>
    /// <param name="ldc">Row stride of C in elements, at least n (and at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or a leading dimension is too small.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its matrix needs.</exception>
    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckOperand(nameof(a), nameof(lda), "A", transposeA ? k : m, transposeA ? m : k, lda, a.Length);
        CheckOperand(nameof(b), nameof(ldb), "B", transposeB ? n : k, transposeB ? k : n, ldb, b.Length);
        CheckOperand(nameof(c), nameof(ldc), "C", m, n, ldc, c.Length);

        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (T* aPointer = a, bPointer = b, cPointer = c)
        {
            if (k == 0 || alpha == T.Zero)
            {
                // As in reference BLAS, A and B are not read when they cannot contribute.
                ScaleC(m, n, beta, cPointer, ldc);
                return;
            }

            if (!transposeA && transposeB && UsesDots(m, n, k))
            {
                Dots(m, n, k, alpha, aPointer, lda, bPointer, ldb, beta, cPointer, ldc);
                return;
            }
            Blocked(transposeA, transposeB, m, n, k, alpha, aPointer, lda, bPointer, ldb, beta, cPointer, ldc, null);
        }
    }

    // A few entries of C, each a long dot product of a row of A with a row of B (stored n x k): a
    // convolution's weight gradient with few input channels (conv_mnist1: 20 x 9 entries over 676
    // pixels per image). There the packing and the register tile's mostly empty edges cost more
    // than the products, and each entry as a vector dot product of two contiguous rows wins.
    private const int DotEntries = 1024;
    private const int DotMinDepth = 64;

    private static bool UsesDots(int m, int n, int k) => (long)m * n <= DotEntries && k >= DotMinDepth;

    private static void Dots(int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new ReadOnlySpan<T>(a + (long)i * lda, k);
            T* cRow = c + (long)i * ldc;
            for (int j = 0; j < n; j++)
            {
                T product = alpha * TensorPrimitives.Dot(row, new ReadOnlySpan<T>(b + (long)j * ldb, k));
                // Beta zero overwrites C without reading it, as the blocked path does.
                cRow[j] = beta == T.Zero ? product : product + beta * cRow[j];
            }
        }
    }

    /// <summary>
    /// Whether an m x k matrix A is one packed block, so that <see cref="PackWhole"/> can pack it once
    /// for many <see cref="MultiplyPacked"/> calls (Winograd's 16 transformed filter matrices, used by
    /// every block of tiles, whose packing took a third of each small gemm's time).
    /// </summary>
    public static bool PacksWhole(int m, int k) => m >= 1 && k >= 1 && m <= MC && k <= KC;

    private static void RequireWhole(int m, int k)
    {
        if (!PacksWhole(m, k))
            throw new ArgumentOutOfRangeException(nameof(m), $"A ({m} x {k}) is not one packed block.");
    }

    /// <summary>Elements <see cref="PackWhole"/> writes for an m x k A.</summary>
    public static int PackedLength(int m, int k) => RoundUp(m, MR) * k;

    /// <summary>Packs A (m x k, row stride <paramref name="lda"/>, <see cref="PacksWhole"/>) into
    /// <paramref name="packed"/>, <see cref="PackedLength"/> elements.</summary>
    public static void PackWhole(ReadOnlySpan<T> a, int lda, int m, int k, T* packed)
    {
        RequireWhole(m, k);
        CheckOperand(nameof(a), nameof(lda), "A", m, k, lda, a.Length);
        fixed (T* aPointer = a)
            PackA(false, aPointer, lda, 0, m, 0, k, packed);
    }

    /// <summary>
    /// C (m x n, row stride <paramref name="ldc"/>) = alpha * A * B + beta * C, as
    /// <see cref="Multiply"/> without transposes, with A (m x k) given packed by
    /// <see cref="PackWhole"/>.
    /// </summary>
    public static void MultiplyPacked(int m, int n, int k, T alpha, T* packedA, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
    {
        RequireWhole(m, k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        CheckOperand(nameof(b), nameof(ldb), "B", k, n, ldb, b.Length);
        CheckOperand(nameof(c), nameof(ldc), "C", m, n, ldc, c.Length);
        if (n == 0)
            return;
        fixed (T* bPointer = b, cPointer = c)
        {
            if (alpha == T.Zero)
            {
                ScaleC(m, n, beta, cPointer, ldc);
                return;
            }

            Blocked(false, false, m, n, k, alpha, null, k, bPointer, ldb, beta, cPointer, ldc, packedA);
        }
    }

    private static void CheckOperand(string spanName, string strideName, string matrix,
        int rows, int columns, int stride, int length)
    {
        if (stride < Math.Max(1, columns))
        {
            throw new ArgumentOutOfRangeException(strideName, stride,
                $"The row stride of {matrix} ({rows} x {columns} as stored) must be at least {Math.Max(1, columns)}.");
        }

        long needed = rows == 0 || columns == 0 ? 0 : (long)(rows - 1) * stride + columns;
        if (length < needed)
        {
            throw new ArgumentException(
                $"{matrix} ({rows} x {columns} as stored, row stride {stride}) needs {needed} elements but the span has {length}.",
                spanName);
        }
    }

    private static void ScaleC(int m, int n, T beta, T* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + (nint)i * ldc, n);
            if (beta == T.Zero)
            {
                row.Clear();
            }
            else if (beta != T.One)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    // With prepackedA (A one packed block, PacksWhole), A is neither read nor packed.
    private static void Blocked(bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc, T* prepackedA)
    {
        int kcMax = Math.Min(KC, k);
        T* packedA = prepackedA != null ? prepackedA : Buffer(ref s_packedA, kcMax * RoundUp(Math.Min(MC, m), MR));
        T* packedB = Buffer(ref s_packedB, kcMax * RoundUp(Math.Min(NC, n), NR));

        // Edge tiles are computed into this scratch tile by the same micro-kernel and then merged.
        T* edge = stackalloc T[MR * NR];

        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);

                // Later k slices add onto the partial sums the first slice left in C.
                T sliceBeta = pc == 0 ? beta : T.One;
                PackB(transposeB, b, ldb, pc, kc, jc, nc, packedB);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    if (prepackedA == null)
                    {
                        PackA(transposeA, a, lda, ic, mc, pc, kc, packedA);
                    }

                    // jr outside ir: one B sliver stays in L1 while the A slivers stream from L2.
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        T* bSliver = packedB + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            T* aSliver = packedA + (nint)ir * kc;
                            T* tile = c + (nint)(ic + ir) * ldc + jc + jr;
                            if (mr == MR && nr == NR)
                            {
                                MicroKernel(kc, aSliver, bSliver, tile, ldc, alpha, sliceBeta);
                            }
                            else
                            {
                                MicroKernel(kc, aSliver, bSliver, edge, NR, T.One, T.Zero);
                                MergeEdge(edge, tile, ldc, mr, nr, alpha, sliceBeta);
                            }
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    private static T* Buffer(ref T[]? cache, int length)
    {
        // Room to align the start to 64 bytes, so vector loads of packed data never split a cache line.
        int slack = 64 / sizeof(T);
        if (cache is null || cache.Length < length + slack)
        {
            cache = GC.AllocateUninitializedArray<T>(length + slack, pinned: true);
        }

        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(cache));
        return (T*)((start + 63) & ~(nint)63);
    }

    // Packs rows [ic, ic + mc) x columns [pc, pc + kc) of op(A) as MR-row slivers, each stored k-major
    // (the MR values of one k step adjacent, as the micro-kernel broadcasts them in turn); rows past mc
    // are zero so edge tiles need no special kernel.
    private static void PackA(bool transposeA, T* a, int lda, int ic, int mc, int pc, int kc, T* packed)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            T* sliver = packed + (nint)ir * kc;
            if (transposeA)
            {
                // Stored k x m: the MR values of one k step are adjacent in memory.
                for (int p = 0; p < kc; p++)
                {
                    T* source = a + (nint)(pc + p) * lda + ic + ir;
                    T* target = sliver + p * MR;
                    for (int r = 0; r < MR; r++)
                    {
                        target[r] = r < mr ? source[r] : T.Zero;
                    }
                }
            }
            else
            {
                for (int r = 0; r < MR; r++)
                {
                    T* target = sliver + r;
                    if (r >= mr)
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            target[p * MR] = T.Zero;
                        }

                        continue;
                    }

                    T* source = a + (nint)(ic + ir + r) * lda + pc;
                    for (int p = 0; p < kc; p++)
                    {
                        target[p * MR] = source[p];
                    }
                }
            }
        }
    }

    // Packs rows [pc, pc + kc) x columns [jc, jc + nc) of op(B) as NR-column slivers, each stored
    // k-major (one k step is NR adjacent values, two aligned vector loads); columns past nc are zero.
    private static void PackB(bool transposeB, T* b, int ldb, int pc, int kc, int jc, int nc, T* packed)
    {
        if (!transposeB)
        {
            // Row by row, so the reads stream through B instead of striding across kc rows per sliver.
            int full = nc / NR * NR;
            for (int p = 0; p < kc; p++)
            {
                T* source = b + (nint)(pc + p) * ldb + jc;
                T* target = packed + p * NR;
                for (int jr = 0; jr < full; jr += NR)
                {
                    T* sliver = target + (nint)jr * kc;
                    Vector.Store(Vector.Load(source + jr), sliver);
                    Vector.Store(Vector.Load(source + jr + Lanes), sliver + Lanes);
                }

                if (full < nc)
                {
                    T* sliver = target + (nint)full * kc;
                    for (int j = 0; j < NR; j++)
                    {
                        sliver[j] = full + j < nc ? source[full + j] : T.Zero;
                    }
                }
            }

            return;
        }

        // Stored n x k: a sliver is the transpose of an NR x kc block, done in square register blocks
        // where the hardware allows; the k remainder and a partial last sliver go element by element.
        int block = BlockTranspose.Size<T>();
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            T* sliver = packed + (nint)jr * kc;
            T* columns = b + (nint)(jc + jr) * ldb + pc;
            int p0 = 0;
            if (block != 0 && NR % block == 0 && nr == NR)
            {
                for (; p0 + block <= kc; p0 += block)
                {
                    for (int j = 0; j < NR; j += block)
                    {
                        BlockTranspose.Transpose(columns + (nint)j * ldb + p0, ldb, sliver + p0 * NR + j, NR);
                    }
                }
            }

            // The rest k step by k step, so that the stores run along a sliver row: a partial sliver's
            // padding is cleared in one go and only its real columns are copied (conv_mnist1's dw,
            // 9 of 32 columns, spent most of its time here walking all 32 a column at a time).
            if (nr < NR)
            {
                new Span<T>(sliver + p0 * NR, (kc - p0) * NR).Clear();
            }

            for (int p = p0; p < kc; p++)
            {
                T* target = sliver + p * NR;
                for (int j = 0; j < nr; j++)
                {
                    target[j] = columns[(nint)j * ldb + p];
                }
            }
        }
    }

    // One MR x NR tile: C = alpha * (A sliver * B sliver) + beta * C over kc steps, the 12 partial sums
    // held in registers throughout.
    private static void MicroKernel(int kc, T* a, T* b, T* c, int ldc, T alpha, T beta)
    {
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.LoadAligned(b);
            Vector<T> b1 = Vector.LoadAligned(b + Lanes);
            Vector<T> ai = new(a[0]);
            c00 = MultiplyAdd(ai, b0, c00);
            c01 = MultiplyAdd(ai, b1, c01);
            ai = new(a[1]);
            c10 = MultiplyAdd(ai, b0, c10);
            c11 = MultiplyAdd(ai, b1, c11);
            ai = new(a[2]);
            c20 = MultiplyAdd(ai, b0, c20);
            c21 = MultiplyAdd(ai, b1, c21);
            ai = new(a[3]);
            c30 = MultiplyAdd(ai, b0, c30);
            c31 = MultiplyAdd(ai, b1, c31);
            ai = new(a[4]);
            c40 = MultiplyAdd(ai, b0, c40);
            c41 = MultiplyAdd(ai, b1, c41);
            ai = new(a[5]);
            c50 = MultiplyAdd(ai, b0, c50);
            c51 = MultiplyAdd(ai, b1, c51);
            a += MR;
            b += NR;
        }

        var alphas = new Vector<T>(alpha);
        var betas = new Vector<T>(beta);
        bool readC = beta != T.Zero;
        StoreRow(c, c00, c01, alphas, betas, readC);
        StoreRow(c + ldc, c10, c11, alphas, betas, readC);
        StoreRow(c + 2 * ldc, c20, c21, alphas, betas, readC);
        StoreRow(c + 3 * ldc, c30, c31, alphas, betas, readC);
        StoreRow(c + 4 * ldc, c40, c41, alphas, betas, readC);
        StoreRow(c + 5 * ldc, c50, c51, alphas, betas, readC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, Vector<T> low, Vector<T> high, Vector<T> alpha, Vector<T> beta, bool readC)
    {
        if (readC)
        {
            Vector.Store(MultiplyAdd(beta, Vector.Load(c), alpha * low), c);
            Vector.Store(MultiplyAdd(beta, Vector.Load(c + Lanes), alpha * high), c + Lanes);
        }
        else
        {
            Vector.Store(alpha * low, c);
            Vector.Store(alpha * high, c + Lanes);
        }
    }

    private static void MergeEdge(T* edge, T* c, int ldc, int mr, int nr, T alpha, T beta)
    {
        for (int r = 0; r < mr; r++)
        {
            T* row = c + (nint)r * ldc;
            for (int j = 0; j < nr; j++)
            {
                T product = alpha * edge[r * NR + j];
                row[j] = beta == T.Zero ? product : product + beta * row[j];
            }
        }
    }

    // a * b + c, fused where the hardware has FMA (the JIT removes the type tests per instantiation).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<T> MultiplyAdd(Vector<T> a, Vector<T> b, Vector<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.MultiplyAddEstimate(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.MultiplyAddEstimate(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }

        return a * b + c;
    }
}
