using System.Buffers;
using System.Numerics;

namespace Nnk;

/// <summary>
/// What <see cref="Conv2d.Backward{T}"/> needs from the forward pass: the inputs (by reference,
/// not copied), the geometry and the kernels that ran it.
/// </summary>
public sealed class Conv2dCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal Conv2dCache(Tensor<T> x, Tensor<T> w, Tensor<T>? b, ConvParam convParam, ConvGeometry geometry,
        IKernels<T> kernels)
    {
        X = x;
        W = w;
        B = b;
        ConvParam = convParam;
        Geometry = geometry;
        Kernels = kernels;
    }

    /// <summary>Input (N, C, H, W).</summary>
    public Tensor<T> X { get; }
    /// <summary>Weights (F, C, KH, KW).</summary>
    public Tensor<T> W { get; }
    /// <summary>Biases (F), or null when the forward pass had none.</summary>
    public Tensor<T>? B { get; }
    /// <summary>Stride and padding.</summary>
    public ConvParam ConvParam { get; }
    /// <summary>All sizes of the convolution.</summary>
    public ConvGeometry Geometry { get; }
    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}

/// <summary>
/// 2-D convolution (cross-correlation) as the seeds' <c>conv_forward_naive</c> /
/// <c>conv_backward_naive</c>: x (N, C, H, W), w (F, C, KH, KW), b (F) give
/// y (N, F, OutH, OutW) with OutH = 1 + (H + 2*pad - KH) / stride.
/// </summary>
public static class Conv2d
{
    /// <summary>Forward pass; returns the output and the cache for <see cref="Backward{T}"/>.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="w">Weights (F, C, KH, KW).</param>
    /// <param name="b">Biases (F), or null for none.</param>
    /// <param name="convParam">Stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, Conv2dCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T>? b,
        ConvParam convParam, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        ConvGeometry g = ConvGeometry.Create(x.Shape, w.Shape, convParam);
        if (b is not null && (b.Shape.Rank != 1 || b.Shape[0] != g.F))
            throw new ArgumentException($"b must have shape ({g.F},) to match w {w.Shape}, but its shape is {b.Shape}.", nameof(b));
        kernels ??= Kernels.Default<T>();
        var y = new Tensor<T>([g.N, g.F, g.OutH, g.OutW]);
        WithWorkspace(kernels, g, ConvPass.Forward,
            workspace => kernels.Conv2dForward(g, x.Span, w.Span, b is null ? default : b.Span, y.Span, workspace));
        return (y, new Conv2dCache<T>(x, w, b, convParam, g, kernels));
    }

    /// <summary>Backward pass: gradients of the loss with respect to x, w and b.</summary>
    /// <param name="dout">Upstream gradient, shaped like the forward output (N, F, OutH, OutW).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db) Backward<T>(Tensor<T> dout, Conv2dCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        ConvGeometry g = cache.Geometry;
        if (dout.Shape != new TensorShape([g.N, g.F, g.OutH, g.OutW]))
            throw new ArgumentException(
                $"dout must have the forward output's shape ({g.N}, {g.F}, {g.OutH}, {g.OutW}), but its shape is {dout.Shape}.",
                nameof(dout));
        var dx = new Tensor<T>(cache.X.Shape);
        var dw = new Tensor<T>(cache.W.Shape);
        var db = new Tensor<T>([g.F]);
        WithWorkspace(cache.Kernels, g, ConvPass.Backward,
            workspace => cache.Kernels.Conv2dBackward(g, cache.X.Span, cache.W.Span, dout.Span, dx.Span, dw.Span,
                db.Span, workspace));
        return (dx, dw, db);
    }

    private delegate void WorkspaceAction<T>(Span<T> workspace);

    // Scratch space comes from the shared pool so repeated calls do not allocate it anew.
    private static void WithWorkspace<T>(IKernels<T> kernels, in ConvGeometry g, ConvPass pass, WorkspaceAction<T> action)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = kernels.Conv2dWorkspaceLength(g, pass);
        T[] rented = ArrayPool<T>.Shared.Rent(length);
        try
        {
            action(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rented);
        }
    }
}
