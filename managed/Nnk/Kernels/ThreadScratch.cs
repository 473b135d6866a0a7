using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nnk;

/// <summary>
/// A grow-only, pinned scratch array per thread and element type, so kernels allocate nothing in
/// steady state (ArrayPool's per-thread caches are trimmed under memory pressure and then refilled).
/// The array is valid until the next <see cref="Get"/> of the same element type on the same thread;
/// a kernel takes it once per call and may hand it to its helpers, which run before the call returns.
/// </summary>
internal static unsafe class ThreadScratch<TElement> where TElement : unmanaged
{
    [ThreadStatic]
    private static TElement[]? t_array;

    /// <summary>At least <paramref name="length"/> elements, contents undefined.</summary>
    public static TElement[] Get(int length)
    {
        TElement[]? array = t_array;
        if (array is null || array.Length < length)
            t_array = array = GC.AllocateUninitializedArray<TElement>(length, pinned: true);
        return array;
    }

    /// <summary>As <see cref="Get"/>, as a pointer (the array is pinned).</summary>
    public static TElement* GetPointer(int length) =>
        (TElement*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Get(length)));
}
