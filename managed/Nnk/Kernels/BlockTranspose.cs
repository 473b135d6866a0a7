using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nnk;

/// <summary>
/// Transposes one square block that fills a 256-bit register per row (8 x 8 floats, 4 x 4 doubles)
/// in registers, for packing a transposed operand of <see cref="ManagedGemm{T}"/>. Element by
/// element such a transpose costs a load and a scattered store per value; in registers it is one
/// load, one store and about three shuffles per row.
/// </summary>
internal static unsafe class BlockTranspose
{
    /// <summary>Rows (and columns) of the block for <typeparamref name="T"/>, or 0 when this
    /// hardware has no in-register transpose for it and callers must copy element by element.</summary>
    public static int Size<T>() where T : unmanaged =>
        !Avx.IsSupported ? 0 : typeof(T) == typeof(float) ? 8 : typeof(T) == typeof(double) ? 4 : 0;

    /// <summary>
    /// target[c * targetStride + r] = source[r * sourceStride + c] for r, c &lt; <see cref="Size{T}"/>.
    /// Call only when <see cref="Size{T}"/> is not 0; strides are in elements, pointers need no alignment.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose<T>(T* source, int sourceStride, T* target, int targetStride) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Transpose8x8((float*)source, sourceStride, (float*)target, targetStride);
        }
        else if (typeof(T) == typeof(double))
        {
            Transpose4x4((double*)source, sourceStride, (double*)target, targetStride);
        }
    }

    // The usual three stages: interleave row pairs, combine 64-bit pairs, then swap 128-bit halves.
    private static void Transpose8x8(float* source, int sourceStride, float* target, int targetStride)
    {
        nint s = sourceStride;
        Vector256<float> r0 = Avx.LoadVector256(source), r1 = Avx.LoadVector256(source + s);
        Vector256<float> r2 = Avx.LoadVector256(source + 2 * s), r3 = Avx.LoadVector256(source + 3 * s);
        Vector256<float> r4 = Avx.LoadVector256(source + 4 * s), r5 = Avx.LoadVector256(source + 5 * s);
        Vector256<float> r6 = Avx.LoadVector256(source + 6 * s), r7 = Avx.LoadVector256(source + 7 * s);

        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);

        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);

        nint d = targetStride;
        Avx.Store(target, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(target + d, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(target + 2 * d, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(target + 3 * d, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(target + 4 * d, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(target + 5 * d, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(target + 6 * d, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(target + 7 * d, Avx.Permute2x128(u3, u7, 0x31));
    }

    private static void Transpose4x4(double* source, int sourceStride, double* target, int targetStride)
    {
        nint s = sourceStride;
        Vector256<double> r0 = Avx.LoadVector256(source), r1 = Avx.LoadVector256(source + s);
        Vector256<double> r2 = Avx.LoadVector256(source + 2 * s), r3 = Avx.LoadVector256(source + 3 * s);

        Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);

        nint d = targetStride;
        Avx.Store(target, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(target + d, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(target + 2 * d, Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(target + 3 * d, Avx.Permute2x128(t1, t3, 0x31));
    }
}
