using System.Numerics;

namespace Nnk;

/// <summary>Looks up the <see cref="IKernels{T}"/> of a <see cref="Backend"/>.</summary>
public static class Kernels
{
    /// <summary>The kernels of <paramref name="backend"/> for element type <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The backend is not one of <see cref="Backend"/>'s values.</exception>
    public static IKernels<T> For<T>(Backend backend) where T : unmanaged, IFloatingPointIeee754<T> => backend switch
    {
        Backend.Native => NativeKernels<T>.Instance,
        Backend.Managed => ManagedKernels<T>.Fast,
        Backend.ManagedNaive => ManagedKernels<T>.Naive,
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown backend."),
    };

    /// <summary>The kernels of <see cref="NnkRuntime.DefaultBackend"/>.</summary>
    public static IKernels<T> Default<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        For<T>(NnkRuntime.DefaultBackend);
}
