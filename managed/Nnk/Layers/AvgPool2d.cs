using System.Numerics;

namespace Nnk;

/// <summary>What <see cref="AvgPool2d.Backward{T}"/> needs: the geometry and the backend.</summary>
public sealed class AvgPool2dCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal AvgPool2dCache(PoolGeometry geometry, IKernels<T> kernels)
    {
        Geometry = geometry;
        Kernels = kernels;
    }

    /// <summary>All sizes of the pooling.</summary>
    public PoolGeometry Geometry { get; }

    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}

/// <summary>
/// Average pooling (the MNIST BN-CNN's <c>avgpool 2</c>): each output is the mean of its window,
/// padding counted as zeros (divisor pool_height * pool_width).
/// </summary>
public static class AvgPool2d
{
    /// <summary>Forward pass over x (N, C, H, W); returns y (N, C, OutH, OutW) and the cache.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="poolParam">Window, stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">x is not 4-D or the window is larger than the padded input.</exception>
    public static (Tensor<T> Out, AvgPool2dCache<T> Cache) Forward<T>(Tensor<T> x, PoolParam poolParam,
        IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        PoolGeometry g = PoolGeometry.Create(x.Shape, poolParam);
        kernels ??= Kernels.Default<T>();
        var y = new Tensor<T>([g.N, g.C, g.OutH, g.OutW]);
        kernels.AvgPool2dForward(g, x.Span, y.Span);
        return (y, new AvgPool2dCache<T>(g, kernels));
    }

    /// <summary>Backward pass: the gradient with respect to x.</summary>
    /// <param name="dout">Upstream gradient (N, C, OutH, OutW).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static Tensor<T> Backward<T>(Tensor<T> dout, AvgPool2dCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        PoolGeometry g = cache.Geometry;
        PoolShapes.RequireOutputShape(dout, g);
        var dx = new Tensor<T>([g.N, g.C, g.H, g.W]);
        cache.Kernels.AvgPool2dBackward(g, dout.Span, dx.Span);
        return dx;
    }
}
