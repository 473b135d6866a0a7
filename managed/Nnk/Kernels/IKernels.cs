using System.Numerics;

namespace Nnk;

/// <summary>Which pass of a convolution a workspace is sized for.</summary>
public enum ConvPass
{
    /// <summary>Forward: y from x, w and b.</summary>
    Forward = 0,
    /// <summary>Backward: dx, dw and db from dy.</summary>
    Backward = 1,
}

/// <summary>
/// The compute kernels behind every layer, one interface with two implementations:
/// <see cref="ManagedKernels{T}"/> (pure C#, a naive reference and a fast vectorised path) and
/// <see cref="NativeKernels"/> (libnnk over BLAS). Every kernel writes into caller-owned spans
/// whose lengths must match the geometry exactly, and allocates nothing.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Name of the backend for reports, for example <c>native (openblas)</c> or <c>managed</c>.</summary>
    string Name { get; }

    /// <summary>Elements of scratch space <see cref="Conv2dForward"/> or <see cref="Conv2dBackward"/> needs.</summary>
    int Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass);

    /// <summary>y (N, F, OutH, OutW) = conv(x (N, C, H, W), w (F, C, KH, KW)) + b (F); an empty b means no bias.</summary>
    void Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        Span<T> y, Span<T> workspace);

    /// <summary>
    /// dx (N, C, H, W), dw (F, C, KH, KW) and db (F) from dy (N, F, OutH, OutW); each gradient is
    /// overwritten, and an empty span skips it.
    /// </summary>
    void Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dw, Span<T> db, Span<T> workspace);
}
