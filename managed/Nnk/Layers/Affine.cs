using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>What <see cref="Affine.Backward{T}"/> needs: the inputs (by reference, not copied) and the backend.</summary>
public sealed class AffineCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal AffineCache(Tensor<T> x, Tensor<T> w, IKernels<T> kernels)
    {
        X = x;
        W = w;
        Kernels = kernels;
    }

    /// <summary>Input (N, d1, ..., dk) as given to the forward pass.</summary>
    public Tensor<T> X { get; }
    /// <summary>Weights (D, M), D = d1*...*dk.</summary>
    public Tensor<T> W { get; }
    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}

/// <summary>
/// Fully connected layer as the seeds' <c>affine_forward</c> / <c>affine_backward</c>: each of the
/// N inputs (d1, ..., dk) is flattened to a row of D = d1*...*dk values, and out = x w + b.
/// </summary>
public static class Affine
{
    /// <summary>Forward pass; returns out (N, M) and the cache for <see cref="Backward{T}"/>.</summary>
    /// <param name="x">Input (N, d1, ..., dk), rank at least 2.</param>
    /// <param name="w">Weights (D, M).</param>
    /// <param name="b">Biases (M).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, AffineCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(b);
        if (x.Shape.Rank < 2)
            throw new ArgumentException($"x must have shape (N, d1, ..., dk), but its shape is {x.Shape}.", nameof(x));
        int n = x.Shape[0], d = x.Length / n;
        if (w.Shape.Rank != 2 || w.Shape[0] != d)
            throw new ArgumentException(
                $"w must have shape ({d}, M) to match x {x.Shape} flattened to ({n}, {d}), but its shape is {w.Shape}.",
                nameof(w));
        int m = w.Shape[1];
        if (b.Shape.Rank != 1 || b.Shape[0] != m)
            throw new ArgumentException($"b must have shape ({m},) to match w {w.Shape}, but its shape is {b.Shape}.", nameof(b));
        kernels ??= Kernels.Default<T>();
        var output = new Tensor<T>([n, m]);
        kernels.Gemm(false, false, n, m, d, T.One, x.Span, w.Span, T.Zero, output.Span);
        for (int i = 0; i < n; i++)
        {
            Span<T> row = output.Span.Slice(i * m, m);
            TensorPrimitives.Add(row, b.Span, row);
        }
        return (output, new AffineCache<T>(x, w, kernels));
    }

    /// <summary>Backward pass: gradients with respect to x (shaped like x), w (D, M) and b (M).</summary>
    /// <param name="dout">Upstream gradient (N, M).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db) Backward<T>(Tensor<T> dout, AffineCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        int n = cache.X.Shape[0], d = cache.W.Shape[0], m = cache.W.Shape[1];
        if (dout.Shape != new TensorShape([n, m]))
            throw new ArgumentException(
                $"dout must have the forward output's shape ({n}, {m}), but its shape is {dout.Shape}.", nameof(dout));
        var dx = new Tensor<T>(cache.X.Shape);
        var dw = new Tensor<T>(cache.W.Shape);
        var db = new Tensor<T>([m]);
        cache.Kernels.Gemm(false, true, n, d, m, T.One, dout.Span, cache.W.Span, T.Zero, dx.Span);
        cache.Kernels.Gemm(true, false, d, m, n, T.One, cache.X.Span, dout.Span, T.Zero, dw.Span);
        for (int i = 0; i < n; i++)
            TensorPrimitives.Add(db.Span, dout.Span.Slice(i * m, m), db.Span);
        return (dx, dw, db);
    }
}
