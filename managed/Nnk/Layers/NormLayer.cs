using System.Numerics;

namespace Nnk;

/// <summary>The forward and backward passes every normalisation layer shares, given the view of x as (N, C, Spatial).</summary>
internal static class NormLayer
{
    public static (Tensor<T> Out, NormCache<T> Cache) BatchForward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        BatchNormParam<T> bnParam, NormGeometry g, IKernels<T>? kernels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(bnParam);
        RequireChannels(gamma, beta, g.C);
        kernels ??= Kernels.Default<T>();
        if (bnParam.Mode == NormMode.Train)
        {
            bnParam.RunningMean ??= Tensor<T>.Zeros([g.C]);
            bnParam.RunningVar ??= Tensor<T>.Zeros([g.C]);
        }
        else if (bnParam.RunningMean is null || bnParam.RunningVar is null)
        {
            throw new InvalidOperationException(
                "Test-mode batch norm needs running statistics: run training-mode calls first or set RunningMean and RunningVar.");
        }
        RequireLength(bnParam.RunningMean, g.C, "RunningMean");
        RequireLength(bnParam.RunningVar, g.C, "RunningVar");
        var y = new Tensor<T>(x.Shape);
        var mean = new T[g.C];
        var invStd = new T[g.C];
        kernels.BatchNormForward(g, bnParam.Mode, bnParam.Eps, bnParam.Momentum, x.Span, gamma.Span, beta.Span,
            bnParam.RunningMean.Span, bnParam.RunningVar.Span, y.Span, mean, invStd);
        return (y, new NormCache<T>(x, gamma, beta, mean, invStd, g, perGroup: false, bnParam.Mode, kernels));
    }

    public static (Tensor<T> Out, NormCache<T> Cache) GroupForward<T>(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta,
        double eps, NormGeometry g, IKernels<T>? kernels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        NormChecks.Eps(eps);
        RequireChannels(gamma, beta, g.C);
        kernels ??= Kernels.Default<T>();
        var y = new Tensor<T>(x.Shape);
        var mean = new T[g.N * g.Groups];
        var invStd = new T[g.N * g.Groups];
        kernels.GroupNormForward(g, eps, x.Span, gamma.Span, beta.Span, y.Span, mean, invStd);
        return (y, new NormCache<T>(x, gamma, beta, mean, invStd, g, perGroup: true, NormMode.Train, kernels));
    }

    public static (Tensor<T> Dx, Tensor<T> Dgamma, Tensor<T> Dbeta) Backward<T>(Tensor<T> dout, NormCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        if (dout.Shape != cache.X.Shape)
            throw new ArgumentException(
                $"dout must have the forward output's shape {cache.X.Shape}, but its shape is {dout.Shape}.", nameof(dout));
        if (cache.Mode != NormMode.Train)
            throw new InvalidOperationException("Backward needs a training-mode forward pass; this cache is from test mode.");
        var dx = new Tensor<T>(cache.X.Shape);
        var dgamma = new Tensor<T>(cache.Gamma.Shape);
        var dbeta = new Tensor<T>(cache.Beta.Shape);
        if (cache.PerGroup)
            cache.Kernels.GroupNormBackward(cache.Geometry, cache.X.Span, cache.Gamma.Span, cache.Mean, cache.InvStd,
                dout.Span, dx.Span, dgamma.Span, dbeta.Span);
        else
            cache.Kernels.BatchNormBackward(cache.Geometry, cache.X.Span, cache.Gamma.Span, cache.Mean, cache.InvStd,
                dout.Span, dx.Span, dgamma.Span, dbeta.Span);
        return (dx, dgamma, dbeta);
    }

    /// <summary>x as (N, D).</summary>
    public static NormGeometry Features<T>(Tensor<T> x, int groups = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Shape.Rank != 2)
            throw new ArgumentException($"x must have shape (N, D), but its shape is {x.Shape}.", nameof(x));
        return NormGeometry.Create(x.Shape[0], x.Shape[1], 1, groups);
    }

    /// <summary>x as (N, C, H*W).</summary>
    public static NormGeometry Images<T>(Tensor<T> x, int groups = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Shape.Rank != 4)
            throw new ArgumentException($"x must have shape (N, C, H, W), but its shape is {x.Shape}.", nameof(x));
        if (groups < 1 || x.Shape[1] % groups != 0)
            throw new ArgumentException($"{x.Shape[1]} channels of x {x.Shape} cannot be split into {groups} equal groups.", nameof(groups));
        return NormGeometry.Create(x.Shape[0], x.Shape[1], x.Shape[2] * x.Shape[3], groups);
    }

    // gamma and beta hold one value per channel, as (C,) or the seeds' (1, C, 1, 1).
    private static void RequireChannels<T>(Tensor<T> gamma, Tensor<T> beta, int channels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gamma);
        ArgumentNullException.ThrowIfNull(beta);
        RequireLength(gamma, channels, nameof(gamma));
        RequireLength(beta, channels, nameof(beta));
    }

    private static void RequireLength<T>(Tensor<T> t, int channels, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (t.Length != channels)
            throw new ArgumentException($"{name} must hold one value per channel ({channels}), but its shape is {t.Shape}.", name);
    }
}
