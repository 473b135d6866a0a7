using System.Numerics;

namespace Nnk;

/// <summary>What <see cref="Relu.Backward{T}"/> needs: the input (by reference, not copied) and the backend.</summary>
public sealed class ReluCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ReluCache(Tensor<T> x, IKernels<T> kernels)
    {
        X = x;
        Kernels = kernels;
    }

    /// <summary>Input of the forward pass, any shape.</summary>
    public Tensor<T> X { get; }
    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}

/// <summary>
/// Rectified linear unit as the seeds' <c>relu_forward</c> / <c>relu_backward</c>: out = max(x, 0)
/// elementwise (NaN propagates); the gradient passes where x &gt; 0.
/// </summary>
public static class Relu
{
    /// <summary>Forward pass over x of any shape; returns out (like x) and the cache.</summary>
    /// <param name="x">Input, any shape.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public static (Tensor<T> Out, ReluCache<T> Cache) Forward<T>(Tensor<T> x, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        kernels ??= Kernels.Default<T>();
        var y = new Tensor<T>(x.Shape);
        kernels.ReluForward(x.Span, y.Span);
        return (y, new ReluCache<T>(x, kernels));
    }

    /// <summary>Backward pass: the gradient with respect to x.</summary>
    /// <param name="dout">Upstream gradient, shaped like x.</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    public static Tensor<T> Backward<T>(Tensor<T> dout, ReluCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        if (dout.Shape != cache.X.Shape)
            throw new ArgumentException(
                $"dout must have the forward output's shape {cache.X.Shape}, but its shape is {dout.Shape}.", nameof(dout));
        var dx = new Tensor<T>(cache.X.Shape);
        cache.Kernels.ReluBackward(cache.X.Span, dout.Span, dx.Span);
        return dx;
    }
}
