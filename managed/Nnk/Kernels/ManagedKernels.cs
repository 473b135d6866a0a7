using System.Numerics;

namespace Nnk;

/// <summary>
/// The kernels in pure C#: <see cref="Naive"/> follows the seeds' direct loops and is the
/// reference every other implementation is tested against; <see cref="Fast"/> is the best
/// managed code (im2col, a blocked vectorised GEMM, parallel over the batch) and is what the
/// speedup harness compares the native library with.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class ManagedKernels<T> : IKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _fast;

    private ManagedKernels(bool fast) => _fast = fast;

    /// <summary>Direct loops, as the seeds' naive functions.</summary>
    public static ManagedKernels<T> Naive { get; } = new(fast: false);

    /// <summary>Blocked and vectorised, parallel over <see cref="NnkRuntime.NumThreads"/> threads.</summary>
    public static ManagedKernels<T> Fast { get; } = new(fast: true);

    /// <inheritdoc/>
    public string Name => _fast ? "managed" : "managed-naive";
}
