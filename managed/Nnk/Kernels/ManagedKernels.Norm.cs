namespace Nnk;

public sealed partial class ManagedKernels<T>
{
    /// <inheritdoc/>
    public void BatchNormForward(in NormGeometry geometry, NormMode mode, double eps, double momentum,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar,
        Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        NormGeometry g = geometry;
        RequireNormGeometry(g);
        if (mode is not (NormMode.Train or NormMode.Test))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode must be NormMode.Train or NormMode.Test.");
        RequireEps(eps);
        if (!(momentum >= 0.0 && momentum <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1].");
        RequireData(g, x, nameof(x));
        RequireChannels(g, gamma, nameof(gamma));
        RequireChannels(g, beta, nameof(beta));
        RequireChannels(g, runningMean, nameof(runningMean));
        RequireChannels(g, runningVar, nameof(runningVar));
        RequireData(g, y, nameof(y));
        if (mode == NormMode.Train)
        {
            RequireChannels(g, saveMean, nameof(saveMean));
            RequireChannels(g, saveInvStd, nameof(saveInvStd));
        }
        else
        {
            KernelArguments.OptionalLength(saveMean.Length, g.C, nameof(saveMean), $"{nameof(saveMean)} ({g.C},)");
            KernelArguments.OptionalLength(saveInvStd.Length, g.C, nameof(saveInvStd), $"{nameof(saveInvStd)} ({g.C},)");
        }
        if (_fast)
            ManagedNormalization<T>.BatchForward(g, mode, eps, momentum, x, gamma, beta, runningMean, runningVar,
                y, saveMean, saveInvStd);
        else
            ManagedNormalization<T>.BatchForwardNaive(g, mode, eps, momentum, x, gamma, beta, runningMean, runningVar,
                y, saveMean, saveInvStd);
    }

    /// <inheritdoc/>
    /// <remarks>The naive backend back-propagates through the seed's computation graph node by node.</remarks>
    public void BatchNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        NormGeometry g = geometry;
        if (!RequireBackward(g, grouped: false, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta))
            return;
        if (_fast)
            ManagedNormalization<T>.BatchBackward(g, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);
        else
            ManagedNormalization<T>.BatchBackwardGraph(g, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);
    }

    /// <summary>
    /// Batch norm backward by the seed's simplified closed form (<c>batchnorm_backward_alt</c>) in
    /// plain scalar loops, on either instance: dbeta = sum(dy), dgamma = sum(dy*xhat) and
    /// dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma) per channel, with xhat = (x - mean)*invstd
    /// and M = N*Spatial. It exists to be compared with the graph backward of
    /// <see cref="Naive"/>, as the seed times the two.
    /// </summary>
    /// <param name="geometry">x seen as (N, C, Spatial).</param>
    /// <param name="x">Forward input, N*C*Spatial elements.</param>
    /// <param name="gamma">Scale, C elements.</param>
    /// <param name="saveMean">Batch mean saved by a training-mode forward, C elements.</param>
    /// <param name="saveInvStd">1/sqrt(var + eps) saved by the same forward, C elements.</param>
    /// <param name="dy">Upstream gradient, N*C*Spatial elements.</param>
    /// <param name="dx">Input gradient, N*C*Spatial elements, or empty to skip it; overwritten.</param>
    /// <param name="dgamma">Scale gradient, C elements, or empty to skip it; overwritten.</param>
    /// <param name="dbeta">Shift gradient, C elements, or empty to skip it; overwritten.</param>
    /// <exception cref="ArgumentException">The geometry is invalid or a length does not match it.</exception>
    public void BatchNormBackwardAlt(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        NormGeometry g = geometry;
        if (RequireBackward(g, grouped: false, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta))
            ManagedNormalization<T>.BatchBackwardAlt(g, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);
    }

    /// <inheritdoc/>
    public void GroupNormForward(in NormGeometry geometry, double eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        NormGeometry g = geometry;
        RequireNormGeometry(g);
        RequireEps(eps);
        RequireData(g, x, nameof(x));
        RequireChannels(g, gamma, nameof(gamma));
        RequireChannels(g, beta, nameof(beta));
        RequireData(g, y, nameof(y));
        RequireGroups(g, saveMean, nameof(saveMean));
        RequireGroups(g, saveInvStd, nameof(saveInvStd));
        if (_fast)
            ManagedNormalization<T>.GroupForward(g, eps, x, gamma, beta, y, saveMean, saveInvStd);
        else
            ManagedNormalization<T>.GroupForwardNaive(g, eps, x, gamma, beta, y, saveMean, saveInvStd);
    }

    /// <inheritdoc/>
    /// <remarks>The naive backend back-propagates through the computation graph of each (sample, group).</remarks>
    public void GroupNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        NormGeometry g = geometry;
        if (!RequireBackward(g, grouped: true, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta))
            return;
        if (_fast)
            ManagedNormalization<T>.GroupBackward(g, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);
        else
            ManagedNormalization<T>.GroupBackwardGraph(g, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);
    }

    // NormGeometry.Validate names no parameter; here the offending argument is the geometry.
    private static void RequireNormGeometry(in NormGeometry geometry)
    {
        try
        {
            geometry.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message, nameof(geometry), e);
        }
    }

    private static void RequireEps(double eps)
    {
        if (!(eps > 0.0 && double.IsFinite(eps)))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive and finite.");
    }

    private static void RequireData(in NormGeometry g, ReadOnlySpan<T> span, string name) =>
        KernelArguments.RequireLength(span.Length, g.Length, name, $"{name} ({g.N}, {g.C}, {g.Spatial})");

    private static void RequireChannels(in NormGeometry g, ReadOnlySpan<T> span, string name) =>
        KernelArguments.RequireLength(span.Length, g.C, name, $"{name} ({g.C},)");

    private static void RequireGroups(in NormGeometry g, ReadOnlySpan<T> span, string name) =>
        KernelArguments.RequireLength(span.Length, g.N * g.Groups, name, $"{name} ({g.N}, {g.Groups})");

    // The checks every backward pass shares; false when no gradient is asked for.
    // The statistics are per channel, or per (sample, group) when grouped.
    private static bool RequireBackward(in NormGeometry g, bool grouped,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd,
        ReadOnlySpan<T> dy, ReadOnlySpan<T> dx, ReadOnlySpan<T> dgamma, ReadOnlySpan<T> dbeta)
    {
        RequireNormGeometry(g);
        RequireData(g, x, nameof(x));
        RequireChannels(g, gamma, nameof(gamma));
        if (grouped)
        {
            RequireGroups(g, saveMean, nameof(saveMean));
            RequireGroups(g, saveInvStd, nameof(saveInvStd));
        }
        else
        {
            RequireChannels(g, saveMean, nameof(saveMean));
            RequireChannels(g, saveInvStd, nameof(saveInvStd));
        }
        RequireData(g, dy, nameof(dy));
        bool wantDx = KernelArguments.OptionalLength(dx.Length, g.Length, nameof(dx), $"{nameof(dx)} ({g.N}, {g.C}, {g.Spatial})");
        bool wantDgamma = KernelArguments.OptionalLength(dgamma.Length, g.C, nameof(dgamma), $"{nameof(dgamma)} ({g.C},)");
        bool wantDbeta = KernelArguments.OptionalLength(dbeta.Length, g.C, nameof(dbeta), $"{nameof(dbeta)} ({g.C},)");
        return wantDx || wantDgamma || wantDbeta;
    }
}
