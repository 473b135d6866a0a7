using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nnk;

/// <summary>
/// Buffers whose first element sits on a 64-byte boundary (a cache line, an AVX-512 vector), in
/// arrays on the pinned object heap, so the address never moves. The native kernels stream
/// through memory in whole vectors; a .NET array's elements start only 8 bytes aligned, and on
/// such buffers every other 32-byte load (every 64-byte one) straddles two cache lines: group norm
/// backward of (50, 32, 32, 32) on buffers 16 bytes off a boundary took 1.06-1.20x the time of the
/// same call on aligned ones, 1.2-1.8x on tensors that fit in L2 (docs/performance.md). libtorch
/// aligns its tensors the same way.
/// </summary>
public static class AlignedMemory
{
    /// <summary>The alignment, in bytes, of every buffer <see cref="Allocate{T}"/> returns.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// A zero-filled buffer of <paramref name="length"/> elements starting on a
    /// <see cref="Alignment"/>-byte boundary. The memory is an ordinary managed array (pinned),
    /// freed by the garbage collector once the returned memory is no longer referenced.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public static Memory<T> Allocate<T>(int length) where T : unmanaged
    {
        ArraySegment<T> segment = AllocateSegment<T>(length);
        return segment.AsMemory();
    }

    /// <summary>The same buffer as the array and the offset of its first element.</summary>
    internal static unsafe ArraySegment<T> AllocateSegment<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        // Elements are at least 8-byte aligned (the array header is 16 bytes), so Alignment/size
        // - 1 spare elements always reach a boundary when size divides Alignment.
        int spare = Alignment % size == 0 ? Alignment / size - 1 : 0;
        if (length == 0 || spare == 0)
            return new ArraySegment<T>(new T[length]);
        T[] array = GC.AllocateArray<T>(checked(length + spare), pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        int offset = (int)((Alignment - (address & (Alignment - 1))) & (Alignment - 1)) / size;
        return new ArraySegment<T>(array, offset, length);
    }
}
