using System.Numerics;

namespace Nnk;

/// <summary>Batch normalisation of x (N, D), as the seeds' <c>batchnorm_forward</c> / <c>batchnorm_backward</c>.</summary>
public static class BatchNorm
{
    /// <summary>Forward pass; statistics per feature over the batch (train) or the running statistics (test).</summary>
    /// <param name="x">Input (N, D).</param>
    /// <param name="gamma">Scale (D).</param>
    /// <param name="beta">Shift (D).</param>
    /// <param name="bnParam">Mode, eps, momentum and running statistics (updated in training mode).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    public static (Tensor<T> Out, NormCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        BatchNormParam<T> bnParam, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        NormLayer.BatchForward(x, gamma, beta, bnParam, NormLayer.Features(x), kernels);

    /// <summary>Backward pass of a training-mode forward: (dx, dgamma, dbeta).</summary>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    /// <exception cref="InvalidOperationException">The forward pass ran in test mode.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(Tensor<T> dout, NormCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T> => NormLayer.Backward(dout, cache);
}

/// <summary>
/// Spatial batch normalisation of x (N, C, H, W): batch norm with statistics per channel over
/// N*H*W values, as the seeds' <c>spatial_batchnorm_forward</c>, without a transposed copy.
/// </summary>
public static class SpatialBatchNorm
{
    /// <summary>Forward pass.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="gamma">Scale (C).</param>
    /// <param name="beta">Shift (C).</param>
    /// <param name="bnParam">Mode, eps, momentum and running statistics (updated in training mode).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    public static (Tensor<T> Out, NormCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        BatchNormParam<T> bnParam, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        NormLayer.BatchForward(x, gamma, beta, bnParam, NormLayer.Images(x), kernels);

    /// <summary>Backward pass of a training-mode forward: (dx, dgamma, dbeta).</summary>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    /// <exception cref="InvalidOperationException">The forward pass ran in test mode.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(Tensor<T> dout, NormCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T> => NormLayer.Backward(dout, cache);
}

/// <summary>Layer normalisation of x (N, D): statistics per sample over its D features, gamma and beta per feature.</summary>
public static class LayerNorm
{
    /// <summary>Forward pass (the same in training and test).</summary>
    /// <param name="x">Input (N, D).</param>
    /// <param name="gamma">Scale (D).</param>
    /// <param name="beta">Shift (D).</param>
    /// <param name="eps">Added to the variance; positive, 1e-5 by default.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    public static (Tensor<T> Out, NormCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        double eps = 1e-5, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        NormLayer.GroupForward(x, gamma, beta, eps, NormLayer.Features(x), kernels);

    /// <summary>Backward pass: (dx, dgamma, dbeta).</summary>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(Tensor<T> dout, NormCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T> => NormLayer.Backward(dout, cache);
}

/// <summary>
/// Group normalisation of x (N, C, H, W) with G groups: statistics per sample and group of C/G
/// channels, gamma and beta per channel, as the seeds' <c>spatial_groupnorm_forward</c>.
/// </summary>
public static class GroupNorm
{
    /// <summary>Forward pass (the same in training and test).</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="gamma">Scale, one per channel: (C) or the seeds' (1, C, 1, 1).</param>
    /// <param name="beta">Shift, one per channel.</param>
    /// <param name="groups">G, which must divide C.</param>
    /// <param name="eps">Added to the variance; positive, 1e-5 by default.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">A shape does not fit or G does not divide C.</exception>
    public static (Tensor<T> Out, NormCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        int groups, double eps = 1e-5, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        NormLayer.GroupForward(x, gamma, beta, eps, NormLayer.Images(x, groups), kernels);

    /// <summary>Backward pass: (dx, dgamma, dbeta), dgamma and dbeta shaped like gamma and beta.</summary>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(Tensor<T> dout, NormCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T> => NormLayer.Backward(dout, cache);
}
