using System.Numerics;

namespace Nnk;

/// <summary>What <see cref="MaxPool2d.Backward{T}"/> needs: the geometry, where each maximum came from, and the backend.</summary>
public sealed class MaxPool2dCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal MaxPool2dCache(PoolGeometry geometry, int[] argmax, IKernels<T> kernels)
    {
        Geometry = geometry;
        Argmax = argmax;
        Kernels = kernels;
    }

    /// <summary>All sizes of the pooling.</summary>
    public PoolGeometry Geometry { get; }

    /// <summary>For each output, the index ih*W + iw of its maximum within the (n, c) input plane.</summary>
    public int[] Argmax { get; }

    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}

/// <summary>
/// Max pooling as the seeds' <c>max_pool_forward_naive</c> / <c>max_pool_backward_naive</c>:
/// windows of pool_height x pool_width every stride, optional padding that never wins; the
/// gradient goes to the first maximum of each window.
/// </summary>
public static class MaxPool2d
{
    /// <summary>Forward pass over x (N, C, H, W); returns y (N, C, OutH, OutW) and the cache.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="poolParam">Window, stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">x is not 4-D or the window is larger than the padded input.</exception>
    public static (Tensor<T> Out, MaxPool2dCache<T> Cache) Forward<T>(Tensor<T> x, PoolParam poolParam,
        IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        PoolGeometry g = PoolGeometry.Create(x.Shape, poolParam);
        kernels ??= Kernels.Default<T>();
        var y = new Tensor<T>([g.N, g.C, g.OutH, g.OutW]);
        var argmax = new int[g.OutputLength];
        kernels.MaxPool2dForward(g, x.Span, y.Span, argmax);
        return (y, new MaxPool2dCache<T>(g, argmax, kernels));
    }

    /// <summary>Backward pass: the gradient with respect to x.</summary>
    /// <param name="dout">Upstream gradient (N, C, OutH, OutW).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static Tensor<T> Backward<T>(Tensor<T> dout, MaxPool2dCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        PoolGeometry g = cache.Geometry;
        PoolShapes.RequireOutputShape(dout, g);
        var dx = new Tensor<T>([g.N, g.C, g.H, g.W]);
        cache.Kernels.MaxPool2dBackward(g, dout.Span, cache.Argmax, dx.Span);
        return dx;
    }
}
