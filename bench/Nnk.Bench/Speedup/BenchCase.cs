using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>
/// One standard shape prepared on one backend: inputs and preallocated outputs, so a timed call
/// runs the kernel alone, without allocation. Every buffer starts on a 64-byte boundary, as a
/// <see cref="Tensor{T}"/>'s does (and libtorch's, which the peer table times).
/// </summary>
public abstract class BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public abstract void Forward();

    public abstract void Backward();

    /// <summary>What the forward pass wrote, for comparing backends.</summary>
    public abstract IReadOnlyList<Memory<T>> ForwardOutputs { get; }

    /// <summary>What the backward pass wrote, for comparing backends.</summary>
    public abstract IReadOnlyList<Memory<T>> BackwardOutputs { get; }
}
