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
/// <para>
/// On Linux, buffers of <see cref="HugePageMinBytes"/> or more are also backed by 2 MiB pages
/// where the kernel allows (see <see cref="HugePages"/>).
/// </para>
/// </summary>
public static class AlignedMemory
{
    /// <summary>The alignment, in bytes, of every buffer <see cref="Allocate{T}"/> returns.</summary>
    public const int Alignment = 64;

    /// <summary>The size of a transparent huge page on x86-64 and arm64 Linux: 2 MiB.</summary>
    private const long HugePageBytes = 2 << 20;

    /// <summary>
    /// The smallest buffer, in bytes, that <see cref="HugePages"/> applies to: 4 MiB, two huge
    /// pages, so that a buffer never reserves more address space for its alignment than it uses.
    /// </summary>
    public const long HugePageMinBytes = 2 * HugePageBytes;

    /// <summary>
    /// Whether buffers of at least <see cref="HugePageMinBytes"/> start on a 2 MiB boundary and ask
    /// Linux for 2 MiB pages (<c>madvise(MADV_HUGEPAGE)</c> on their whole 2 MiB pages, before the
    /// first touch); true by default. A pass streaming through tensors of several MiB then needs
    /// one TLB entry per 2 MiB instead of 512, which matters most in virtual machines, where a TLB
    /// miss walks two page tables (docs/performance.md, "Huge pages"). The advice changes no
    /// value; where transparent huge pages are off (<c>never</c>) it has no effect, and off Linux
    /// (or without glibc) buffers are allocated as below the threshold. Set false before
    /// allocating to keep 4 KiB pages, for instance when memory is so fragmented that the kernel's
    /// compaction at first touch would cost more than it saves, or when 2 MiB of address space per
    /// large buffer matters.
    /// </summary>
    public static bool HugePages { get; set; } = true;

    /// <summary>
    /// A zero-filled buffer of <paramref name="length"/> elements starting on a
    /// <see cref="Alignment"/>-byte boundary when an element is 1, 2, 4 or 8 bytes (every numeric
    /// type nnk computes in). The memory is an ordinary managed array (pinned), freed by the
    /// garbage collector once the returned memory is no longer referenced. Larger elements get an
    /// ordinary array: its data starts only 8-byte aligned, so no offset in whole elements of 16
    /// or more bytes reaches a 64-byte boundary for certain.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public static Memory<T> Allocate<T>(int length) where T : unmanaged
    {
        ArraySegment<T> segment = AllocateSegment<T>(length);
        return segment.AsMemory();
    }

    /// <summary>The same buffer as the array and the offset of its first element.</summary>
    /// <remarks>
    /// With <see cref="HugePages"/>, a buffer of at least <see cref="HugePageMinBytes"/> starts on
    /// a 2 MiB boundary instead, and its whole 2 MiB pages are advised as huge pages before the
    /// first touch. Starting on the boundary puts all but the last partial page on huge pages
    /// (6 MiB of a 6.5 MiB tensor, against 4 MiB from an arbitrary start). The up to 2 MiB of the
    /// array before the buffer are never touched here: address space, not memory, when the pages
    /// are fresh.
    /// </remarks>
    internal static unsafe ArraySegment<T> AllocateSegment<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        // An array's data is 8-byte aligned (it follows a 16-byte header), so with elements of
        // at most 8 bytes, boundary/size - 1 spare elements always reach a boundary.
        if (length == 0 || size > 8 || Alignment % size != 0)
            return new ArraySegment<T>(new T[length]);
        long bytes = (long)length * size;
        bool huge = HugePages && bytes >= HugePageMinBytes && HugePageAdvice.IsAvailable;
        long boundary = huge ? HugePageBytes : Alignment;
        // The collector hands out fresh memory without writing to it (it is zero already), so the
        // advice usually comes before the first touch and the kernel backs the pages with huge
        // ones from the start; memory it reuses is cleared by it, and its small pages may be
        // collapsed later by the kernel.
        T[] array = GC.AllocateArray<T>(checked(length + (int)(boundary / size) - 1), pinned: true);
        long address = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        long start = (address + boundary - 1) & ~(boundary - 1);
        if (huge)
            HugePageAdvice.Advise((nint)start, bytes / HugePageBytes * HugePageBytes);
        return new ArraySegment<T>(array, (int)((start - address) / size), length);
    }

    /// <summary>
    /// madvise(MADV_HUGEPAGE) from the C library, looked up once; absent off Linux or where the
    /// C library is not glibc's, and then nothing is advised.
    /// </summary>
    private static unsafe class HugePageAdvice
    {
        private const int MadvHugePage = 14;
        private static readonly delegate* unmanaged<nint, nuint, int, int> s_madvise = Find();

        public static bool IsAvailable => s_madvise != null;

        private static delegate* unmanaged<nint, nuint, int, int> Find()
        {
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out nint libc) ||
                !NativeLibrary.TryGetExport(libc, "madvise", out nint madvise))
                return null;
            return (delegate* unmanaged<nint, nuint, int, int>)madvise;
        }

        /// <summary>Advises [start, start + bytes), both multiples of 2 MiB. A refusal (a kernel
        /// without transparent huge pages) is ignored: the pages stay small.</summary>
        public static void Advise(nint start, long bytes) => _ = s_madvise(start, (nuint)bytes, MadvHugePage);
    }
}
