using Nnk.Interop;

namespace Nnk;

/// <summary>
/// The kernels of the native library libnnk (C, OpenMP, BLAS loaded at run time), for float and
/// double. Stateless and safe to call from several threads with separate buffers.
/// </summary>
public sealed class NativeKernels : IKernels<float>, IKernels<double>
{
    private static readonly Lazy<bool> s_available = new(ProbeLibrary);

    private NativeKernels()
    {
    }

    /// <summary>The one instance.</summary>
    public static NativeKernels Instance { get; } = new();

    /// <summary>True when libnnk.so can be loaded; the failure itself surfaces on first use.</summary>
    public static bool IsAvailable => s_available.Value;

    /// <summary>Name of the backend and its BLAS, for example <c>native (openblas)</c>.</summary>
    public string Name => $"native ({NnkRuntime.Blas})";

    int IKernels<float>.Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass) =>
        WorkspaceLength(geometry, pass);

    int IKernels<double>.Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass) =>
        WorkspaceLength(geometry, pass);

    void IKernels<float>.Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, Span<float> y, Span<float> workspace) =>
        NnkNative.Conv2dForward(Describe(geometry), x, w, b, y, workspace);

    void IKernels<double>.Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<double> x, ReadOnlySpan<double> w,
        ReadOnlySpan<double> b, Span<double> y, Span<double> workspace) =>
        NnkNative.Conv2dForward(Describe(geometry), x, w, b, y, workspace);

    void IKernels<float>.Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dw, Span<float> db, Span<float> workspace) =>
        NnkNative.Conv2dBackward(Describe(geometry), x, w, dy, dx, dw, db, workspace);

    void IKernels<double>.Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<double> x, ReadOnlySpan<double> w,
        ReadOnlySpan<double> dy, Span<double> dx, Span<double> dw, Span<double> db, Span<double> workspace) =>
        NnkNative.Conv2dBackward(Describe(geometry), x, w, dy, dx, dw, db, workspace);

    private static int WorkspaceLength(in ConvGeometry geometry, ConvPass pass)
    {
        long length = NnkNative.Conv2dWorkspaceSize(Describe(geometry), (nnk_conv_pass)pass);
        if (length > Array.MaxLength)
            throw new ArgumentException($"The workspace of {geometry} ({length} elements) does not fit in an array.");
        return (int)length;
    }

    internal static nnk_conv2d_desc Describe(in ConvGeometry g) => new()
    {
        n = g.N, c = g.C, h = g.H, w = g.W, f = g.F, kh = g.KH, kw = g.KW,
        stride_h = g.StrideH, stride_w = g.StrideW, pad_h = g.PadH, pad_w = g.PadW,
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
