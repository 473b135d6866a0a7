using System.Numerics;

namespace Nnk;

/// <summary>What <see cref="ConvRelu.Backward{T}"/> needs: the caches of the convolution and the ReLU.</summary>
public sealed class ConvReluCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ConvReluCache(Conv2dCache<T> conv, ReluCache<T> relu)
    {
        Conv = conv;
        Relu = relu;
    }

    /// <summary>The convolution's cache.</summary>
    public Conv2dCache<T> Conv { get; }
    /// <summary>The ReLU's cache.</summary>
    public ReluCache<T> Relu { get; }
}

/// <summary>What <see cref="ConvReluPool.Backward{T}"/> needs: the caches of the convolution, the ReLU and the max pool.</summary>
public sealed class ConvReluPoolCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ConvReluPoolCache(Conv2dCache<T> conv, ReluCache<T> relu, MaxPool2dCache<T> pool)
    {
        Conv = conv;
        Relu = relu;
        Pool = pool;
    }

    /// <summary>The convolution's cache.</summary>
    public Conv2dCache<T> Conv { get; }
    /// <summary>The ReLU's cache.</summary>
    public ReluCache<T> Relu { get; }
    /// <summary>The max pool's cache.</summary>
    public MaxPool2dCache<T> Pool { get; }
}

/// <summary>What <see cref="ConvBatchNormRelu.Backward{T}"/> needs: the caches of the convolution, the spatial batch norm and the ReLU.</summary>
public sealed class ConvBatchNormReluCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ConvBatchNormReluCache(Conv2dCache<T> conv, NormCache<T> norm, ReluCache<T> relu)
    {
        Conv = conv;
        Norm = norm;
        Relu = relu;
    }

    /// <summary>The convolution's cache.</summary>
    public Conv2dCache<T> Conv { get; }
    /// <summary>The spatial batch norm's cache.</summary>
    public NormCache<T> Norm { get; }
    /// <summary>The ReLU's cache.</summary>
    public ReluCache<T> Relu { get; }
}

/// <summary>Convolution followed by a ReLU, as the seeds' <c>conv_relu_forward</c> / <c>conv_relu_backward</c>.</summary>
public static class ConvRelu
{
    /// <summary>Forward pass: relu(conv(x, w, b)) of shape (N, F, OutH, OutW), and the cache.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="w">Weights (F, C, KH, KW).</param>
    /// <param name="b">Biases (F).</param>
    /// <param name="convParam">Stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, ConvReluCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        ConvParam convParam, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        kernels ??= Kernels.Default<T>();
        var (a, convCache) = Conv2d.Forward(x, w, b, convParam, kernels);
        var (output, reluCache) = Relu.Forward(a, kernels);
        return (output, new ConvReluCache<T>(convCache, reluCache));
    }

    /// <summary>Backward pass: gradients with respect to x, w and b.</summary>
    /// <param name="dout">Upstream gradient (N, F, OutH, OutW).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db) Backward<T>(Tensor<T> dout, ConvReluCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> da = Relu.Backward(dout, cache.Relu);
        return Conv2d.Backward(da, cache.Conv);
    }
}

/// <summary>
/// Convolution, ReLU and max pooling, as the seeds' <c>conv_relu_pool_forward</c> /
/// <c>conv_relu_pool_backward</c>.
/// </summary>
public static class ConvReluPool
{
    /// <summary>Forward pass: maxpool(relu(conv(x, w, b))), and the cache.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="w">Weights (F, C, KH, KW).</param>
    /// <param name="b">Biases (F).</param>
    /// <param name="convParam">Stride and padding of the convolution.</param>
    /// <param name="poolParam">Window, stride and padding of the max pool.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, ConvReluPoolCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        ConvParam convParam, PoolParam poolParam, IKernels<T>? kernels = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        kernels ??= Kernels.Default<T>();
        var (a, convCache) = Conv2d.Forward(x, w, b, convParam, kernels);
        var (s, reluCache) = Relu.Forward(a, kernels);
        var (output, poolCache) = MaxPool2d.Forward(s, poolParam, kernels);
        return (output, new ConvReluPoolCache<T>(convCache, reluCache, poolCache));
    }

    /// <summary>Backward pass: gradients with respect to x, w and b.</summary>
    /// <param name="dout">Upstream gradient, shaped like the pooled output.</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db) Backward<T>(Tensor<T> dout, ConvReluPoolCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> ds = MaxPool2d.Backward(dout, cache.Pool);
        Tensor<T> da = Relu.Backward(ds, cache.Relu);
        return Conv2d.Backward(da, cache.Conv);
    }
}

/// <summary>
/// Convolution, spatial batch normalisation and ReLU, as the seeds' <c>conv_bn_relu_forward</c> /
/// <c>conv_bn_relu_backward</c>.
/// </summary>
public static class ConvBatchNormRelu
{
    /// <summary>Forward pass: relu(spatial_batchnorm(conv(x, w, b))), and the cache.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="w">Weights (F, C, KH, KW).</param>
    /// <param name="b">Biases (F).</param>
    /// <param name="gamma">Batch-norm scale (F).</param>
    /// <param name="beta">Batch-norm shift (F).</param>
    /// <param name="convParam">Stride and padding.</param>
    /// <param name="bnParam">Mode, eps, momentum and running statistics (updated in training mode).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static (Tensor<T> Out, ConvBatchNormReluCache<T> Cache) Forward<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        Tensor<T> gamma, Tensor<T> beta, ConvParam convParam, BatchNormParam<T> bnParam, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        kernels ??= Kernels.Default<T>();
        var (a, convCache) = Conv2d.Forward(x, w, b, convParam, kernels);
        var (an, normCache) = SpatialBatchNorm.Forward(a, gamma, beta, bnParam, kernels);
        var (output, reluCache) = Relu.Forward(an, kernels);
        return (output, new ConvBatchNormReluCache<T>(convCache, normCache, reluCache));
    }

    /// <summary>Backward pass of a training-mode forward: gradients with respect to x, w, b, gamma and beta.</summary>
    /// <param name="dout">Upstream gradient (N, F, OutH, OutW).</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have the output's shape.</exception>
    /// <exception cref="InvalidOperationException">The forward pass ran in test mode.</exception>
    public static (Tensor<T> Dx, Tensor<T> Dw, Tensor<T> Db, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(
        Tensor<T> dout, ConvBatchNormReluCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(cache);
        Tensor<T> dan = Relu.Backward(dout, cache.Relu);
        var (da, dgamma, dbeta) = SpatialBatchNorm.Backward(dan, cache.Norm);
        var (dx, dw, db) = Conv2d.Backward(da, cache.Conv);
        return (dx, dw, db, dgamma, dbeta);
    }
}
