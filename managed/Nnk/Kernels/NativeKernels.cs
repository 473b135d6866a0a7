using System.Numerics;
using Nnk.Interop;

namespace Nnk;

/// <summary>
/// The kernels of the native library libnnk (C, OpenMP, BLAS loaded at run time). Stateless and
/// safe to call from several threads with separate buffers.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class NativeKernels<T> : IKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private NativeKernels()
    {
    }

    /// <summary>The one instance.</summary>
    public static NativeKernels<T> Instance { get; } = new();

    /// <summary>Name of the backend and its BLAS, for example <c>native (openblas)</c>.</summary>
    public string Name => $"native ({NnkRuntime.Blas})";

    /// <inheritdoc/>
    public int Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass)
    {
        long length = NnkNative.Conv2dWorkspaceSize(NativeKernels.Describe(geometry), (nnk_conv_pass)pass);
        if (length > Array.MaxLength)
            throw new ArgumentException($"The workspace of {geometry} ({length} elements) does not fit in an array.");
        return (int)length;
    }

    /// <inheritdoc/>
    public void Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        Span<T> y, Span<T> workspace) =>
        NnkNative.Conv2dForward(NativeKernels.Describe(geometry), x, w, b, y, workspace);

    /// <inheritdoc/>
    public void Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dw, Span<T> db, Span<T> workspace) =>
        NnkNative.Conv2dBackward(NativeKernels.Describe(geometry), x, w, dy, dx, dw, db, workspace);

    /// <inheritdoc/>
    public void MaxPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax) =>
        NnkNative.MaxPool2dForward(NativeKernels.Describe(geometry), x, y, argmax);

    /// <inheritdoc/>
    public void MaxPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx) =>
        NnkNative.MaxPool2dBackward(NativeKernels.Describe(geometry), dy, argmax, dx);

    /// <inheritdoc/>
    public void AvgPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y) =>
        NnkNative.AvgPool2dForward(NativeKernels.Describe(geometry), x, y);

    /// <inheritdoc/>
    public void AvgPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, Span<T> dx) =>
        NnkNative.AvgPool2dBackward(NativeKernels.Describe(geometry), dy, dx);

    /// <inheritdoc/>
    public void BatchNormForward(in NormGeometry geometry, NormMode mode, double eps, double momentum,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar,
        Span<T> y, Span<T> saveMean, Span<T> saveInvStd) =>
        NnkNative.BatchNormForward(NativeKernels.Describe(geometry, eps, momentum), (nnk_norm_mode)mode, x, gamma, beta,
            runningMean, runningVar, y, saveMean, saveInvStd);

    /// <inheritdoc/>
    public void BatchNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma,
        Span<T> dbeta) =>
        NnkNative.BatchNormBackward(NativeKernels.Describe(geometry), x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);

    /// <inheritdoc/>
    public void GroupNormForward(in NormGeometry geometry, double eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd) =>
        NnkNative.GroupNormForward(NativeKernels.Describe(geometry, eps), x, gamma, beta, y, saveMean, saveInvStd);

    /// <inheritdoc/>
    public void GroupNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma,
        Span<T> dbeta) =>
        NnkNative.GroupNormBackward(NativeKernels.Describe(geometry), x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);

    /// <inheritdoc/>
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, ReadOnlySpan<T> b,
        T beta, Span<T> c) =>
        NnkNative.Gemm(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);

    /// <inheritdoc/>
    public void ReluForward(ReadOnlySpan<T> x, Span<T> y) => NnkNative.ReluForward(x, y);

    /// <inheritdoc/>
    public void ReluBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) => NnkNative.ReluBackward(x, dy, dx);

    /// <inheritdoc/>
    public T SoftmaxLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores) =>
        NnkNative.SoftmaxLoss(n, classes, scores, labels, dscores);

    /// <inheritdoc/>
    public T SvmLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores) =>
        NnkNative.SvmLoss(n, classes, scores, labels, dscores);
}

/// <summary>Whether the native library is present, and the managed-to-native descriptor mapping.</summary>
public static class NativeKernels
{
    private static readonly Lazy<bool> s_available = new(ProbeLibrary);

    /// <summary>True when libnnk.so can be loaded; the failure itself surfaces on first use.</summary>
    public static bool IsAvailable => s_available.Value;

    internal static nnk_conv2d_desc Describe(in ConvGeometry g) => new()
    {
        n = g.N, c = g.C, h = g.H, w = g.W, f = g.F, kh = g.KH, kw = g.KW,
        stride_h = g.StrideH, stride_w = g.StrideW, pad_h = g.PadH, pad_w = g.PadW,
    };

    internal static nnk_pool2d_desc Describe(in PoolGeometry g) => new()
    {
        n = g.N, c = g.C, h = g.H, w = g.W, pool_h = g.PoolH, pool_w = g.PoolW,
        stride_h = g.StrideH, stride_w = g.StrideW, pad_h = g.PadH, pad_w = g.PadW,
    };

    // Backward passes take no eps or momentum; the defaults are valid values for the descriptor check.
    internal static nnk_norm_desc Describe(in NormGeometry g, double eps = 1e-5, double momentum = 0.9) => new()
    {
        n = g.N, c = g.C, spatial = g.Spatial, groups = g.Groups, eps = eps, momentum = momentum,
    };

    private static bool ProbeLibrary()
    {
        try
        {
            _ = NnkNative.Version;
            return true;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }
}
