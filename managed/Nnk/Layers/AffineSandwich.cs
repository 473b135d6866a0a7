using System.Numerics;

namespace Nnk;

/// <summary>What <see cref="AffineRelu.Backward{T}"/> needs: the caches of the affine and ReLU layers.</summary>
public sealed class AffineReluCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal AffineReluCache(AffineCache<T> affine, ReluCache<T> relu)
    {
        Affine = affine;
        Relu = relu;
    }

    /// <summary>Cache of the affine layer.</summary>
    public AffineCache<T> Affine { get; }
    /// <summary>Cache of the ReLU, whose input is the affine output (N, M).</summary>
    public ReluCache<T> Relu { get; }
}

/// <summary>
/// What <see cref="AffineBatchNormRelu.Backward{T}"/> and <see cref="AffineLayerNormRelu.Backward{T}"/>
/// need: the caches of the affine, normalisation and ReLU layers.
/// </summary>
public sealed class AffineNormReluCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal AffineNormReluCache(AffineCache<T> affine, NormCache<T> norm, ReluCache<T> relu)
    {
        Affine = affine;
        Norm = norm;
        Relu = relu;
    }

    /// <summary>Cache of the affine layer.</summary>
    public AffineCache<T> Affine { get; }
    /// <summary>Cache of the batch or layer norm over the affine output (N, M).</summary>
    public NormCache<T> Norm { get; }
    /// <summary>Cache of the ReLU over the normalised output (N, M).</summary>
    public ReluCache<T> Relu { get; }
}

/// <summary>Affine followed by ReLU, as the seeds' <c>affine_relu_forward</c> / <c>affine_relu_backward</c>.</summary>
public static class AffineRelu
{
    /// <summary>Forward pass: out = max(x w + b, 0), shape (N, M).</summary>
    /// <param name="x">Input (N, d1, ..., dk), flattened to (N, D).</param>
    /// <param name="w">Weights (D, M).</param>
    /// <param name="b">Biases (M).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, AffineReluCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        kernels ??= Kernels.Default<T>();
        var (a, affineCache) = Affine.Forward(x, w, b, kernels);
        var (output, reluCache) = Relu.Forward(a, kernels);
        return (output, new AffineReluCache<T>(affineCache, reluCache));
    }

    /// <summary>Backward pass: gradients with respect to x (shaped like x), w (D, M) and b (M).</summary>
    /// <param name="dout">Upstream gradient (N, M).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db) Backward<T>(Tensor<T> dout, AffineReluCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> da = Relu.Backward(dout, cache.Relu);
        return Affine.Backward(da, cache.Affine);
    }
}

/// <summary>Affine, batch norm, ReLU: the hidden layer of the seeds' <c>FullyConnectedNet</c> with batch normalisation.</summary>
public static class AffineBatchNormRelu
{
    /// <summary>Forward pass: out = max(batchnorm(x w + b), 0), shape (N, M).</summary>
    /// <param name="x">Input (N, d1, ..., dk), flattened to (N, D).</param>
    /// <param name="w">Weights (D, M).</param>
    /// <param name="b">Biases (M).</param>
    /// <param name="gamma">Batch-norm scale (M).</param>
    /// <param name="beta">Batch-norm shift (M).</param>
    /// <param name="bnParam">Mode, eps, momentum and running statistics (updated in training mode).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    /// <exception cref="InvalidOperationException">Test mode without running statistics.</exception>
    public static (Tensor<T> Out, AffineNormReluCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        Tensor<T> gamma, Tensor<T> beta, BatchNormParam<T> bnParam, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        kernels ??= Kernels.Default<T>();
        var (a, affineCache) = Affine.Forward(x, w, b, kernels);
        var (normalised, normCache) = BatchNorm.Forward(a, gamma, beta, bnParam, kernels);
        var (output, reluCache) = Relu.Forward(normalised, kernels);
        return (output, new AffineNormReluCache<T>(affineCache, normCache, reluCache));
    }

    /// <summary>Backward pass of a training-mode forward: (dx, dw, db, dgamma, dbeta).</summary>
    /// <param name="dout">Upstream gradient (N, M).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    /// <exception cref="InvalidOperationException">The forward pass ran in test mode.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(
        Tensor<T> dout, AffineNormReluCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> dnormalised = Relu.Backward(dout, cache.Relu);
        var (da, dgamma, dbeta) = BatchNorm.Backward(dnormalised, cache.Norm);
        var (dx, dw, db) = Affine.Backward(da, cache.Affine);
        return (dx, dw, db, dgamma, dbeta);
    }
}

/// <summary>Affine, layer norm, ReLU: the hidden layer of the seeds' <c>FullyConnectedNet</c> with layer normalisation.</summary>
public static class AffineLayerNormRelu
{
    /// <summary>Forward pass: out = max(layernorm(x w + b), 0), shape (N, M); the same in training and test.</summary>
    /// <param name="x">Input (N, d1, ..., dk), flattened to (N, D).</param>
    /// <param name="w">Weights (D, M).</param>
    /// <param name="b">Biases (M).</param>
    /// <param name="gamma">Layer-norm scale (M).</param>
    /// <param name="beta">Layer-norm shift (M).</param>
    /// <param name="eps">Added to the variance; positive, 1e-5 by default.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, AffineNormReluCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        Tensor<T> gamma, Tensor<T> beta, double eps = 1e-5, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        kernels ??= Kernels.Default<T>();
        var (a, affineCache) = Affine.Forward(x, w, b, kernels);
        var (normalised, normCache) = LayerNorm.Forward(a, gamma, beta, eps, kernels);
        var (output, reluCache) = Relu.Forward(normalised, kernels);
        return (output, new AffineNormReluCache<T>(affineCache, normCache, reluCache));
    }

    /// <summary>Backward pass: (dx, dw, db, dgamma, dbeta).</summary>
    /// <param name="dout">Upstream gradient (N, M).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(
        Tensor<T> dout, AffineNormReluCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> dnormalised = Relu.Backward(dout, cache.Relu);
        var (da, dgamma, dbeta) = LayerNorm.Backward(dnormalised, cache.Norm);
        var (dx, dw, db) = Affine.Backward(da, cache.Affine);
        return (dx, dw, db, dgamma, dbeta);
    }
}
