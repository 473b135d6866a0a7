namespace Nnk.Interop;

internal static unsafe partial class NnkNative
{
    /// <summary>
    /// Batch norm forward over x seen as (n, c, spatial): per-channel statistics over n*spatial
    /// values. <see cref="nnk_norm_mode.NNK_NORM_TRAIN"/> normalises with the batch statistics,
    /// writes them to <paramref name="saveMean"/> and <paramref name="saveInvStd"/> and updates the
    /// running statistics; <see cref="nnk_norm_mode.NNK_NORM_TEST"/> normalises with the running
    /// statistics (the save buffers may then be empty).
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">Sizes, eps and momentum.</param>
    /// <param name="mode">Train or test.</param>
    /// <param name="x">Input, n*c*spatial elements.</param>
    /// <param name="gamma">Scale, c elements.</param>
    /// <param name="beta">Shift, c elements.</param>
    /// <param name="runningMean">Running mean, c elements; updated in training mode.</param>
    /// <param name="runningVar">Running (biased) variance, c elements; updated in training mode.</param>
    /// <param name="y">Output, n*c*spatial elements; overwritten.</param>
    /// <param name="saveMean">Batch mean, c elements; overwritten.</param>
    /// <param name="saveInvStd">1/sqrt(var + eps), c elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match, or the descriptor or mode is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void BatchNormForward<T>(in nnk_norm_desc desc, nnk_norm_mode mode, ReadOnlySpan<T> x,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar, Span<T> y,
        Span<T> saveMean, Span<T> saveInvStd)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var shape = new NormShape(desc);
        shape.Data(x.Length, nameof(x));
        shape.Channels(gamma.Length, nameof(gamma));
        shape.Channels(beta.Length, nameof(beta));
        shape.Channels(runningMean.Length, nameof(runningMean));
        shape.Channels(runningVar.Length, nameof(runningVar));
        shape.Data(y.Length, nameof(y));
        bool optional = mode == nnk_norm_mode.NNK_NORM_TEST;
        shape.Channels(saveMean.Length, nameof(saveMean), optional);
        shape.Channels(saveInvStd.Length, nameof(saveInvStd), optional);
        nnk_status status;
        fixed (nnk_norm_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* pg = gamma)
        fixed (T* pb = beta)
        fixed (T* prm = runningMean)
        fixed (T* prv = runningVar)
        fixed (T* py = y)
        fixed (T* psm = saveMean)
        fixed (T* psi = saveInvStd)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_batchnorm_forward_f32(d, mode, (float*)px, x.Length, (float*)pg, gamma.Length,
                    (float*)pb, beta.Length, (float*)prm, runningMean.Length, (float*)prv, runningVar.Length,
                    (float*)py, y.Length, (float*)psm, saveMean.Length, (float*)psi, saveInvStd.Length)
                : NativeMethods.nnk_batchnorm_forward_f64(d, mode, (double*)px, x.Length, (double*)pg, gamma.Length,
                    (double*)pb, beta.Length, (double*)prm, runningMean.Length, (double*)prv, runningVar.Length,
                    (double*)py, y.Length, (double*)psm, saveMean.Length, (double*)psi, saveInvStd.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// Batch norm backward of a training-mode forward, in closed form. Each of
    /// <paramref name="dx"/>, <paramref name="dgamma"/>, <paramref name="dbeta"/> is computed only
    /// when not empty, and overwritten.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">Sizes (eps and momentum are not used).</param>
    /// <param name="x">Forward input, n*c*spatial elements.</param>
    /// <param name="gamma">Scale, c elements.</param>
    /// <param name="saveMean">Batch mean the forward pass saved, c elements.</param>
    /// <param name="saveInvStd">1/sqrt(var + eps) the forward pass saved, c elements.</param>
    /// <param name="dy">Upstream gradient, n*c*spatial elements.</param>
    /// <param name="dx">Input gradient, n*c*spatial elements, or empty.</param>
    /// <param name="dgamma">Scale gradient, c elements, or empty.</param>
    /// <param name="dbeta">Shift gradient, c elements, or empty.</param>
    /// <exception cref="ArgumentException">A length does not match, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void BatchNormBackward<T>(in nnk_norm_desc desc, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var shape = new NormShape(desc);
        shape.Channels(saveMean.Length, nameof(saveMean));
        shape.Channels(saveInvStd.Length, nameof(saveInvStd));
        Backward(shape, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta, groupNorm: false);
    }

    /// <summary>
    /// Group norm forward: statistics per sample and group over (c/groups)*spatial values, gamma
    /// and beta per channel; <paramref name="saveMean"/> and <paramref name="saveInvStd"/>
    /// (n*groups each) receive the statistics.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">Sizes, groups and eps.</param>
    /// <param name="x">Input, n*c*spatial elements.</param>
    /// <param name="gamma">Scale, c elements.</param>
    /// <param name="beta">Shift, c elements.</param>
    /// <param name="y">Output, n*c*spatial elements; overwritten.</param>
    /// <param name="saveMean">Per (sample, group) mean, n*groups elements; overwritten.</param>
    /// <param name="saveInvStd">Per (sample, group) 1/sqrt(var + eps), n*groups elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void GroupNormForward<T>(in nnk_norm_desc desc, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var shape = new NormShape(desc);
        shape.Data(x.Length, nameof(x));
        shape.Channels(gamma.Length, nameof(gamma));
        shape.Channels(beta.Length, nameof(beta));
        shape.Data(y.Length, nameof(y));
        shape.Groups(saveMean.Length, nameof(saveMean));
        shape.Groups(saveInvStd.Length, nameof(saveInvStd));
        nnk_status status;
        fixed (nnk_norm_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* pg = gamma)
        fixed (T* pb = beta)
        fixed (T* py = y)
        fixed (T* psm = saveMean)
        fixed (T* psi = saveInvStd)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_groupnorm_forward_f32(d, (float*)px, x.Length, (float*)pg, gamma.Length,
                    (float*)pb, beta.Length, (float*)py, y.Length, (float*)psm, saveMean.Length, (float*)psi, saveInvStd.Length)
                : NativeMethods.nnk_groupnorm_forward_f64(d, (double*)px, x.Length, (double*)pg, gamma.Length,
                    (double*)pb, beta.Length, (double*)py, y.Length, (double*)psm, saveMean.Length, (double*)psi, saveInvStd.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>Group norm backward in closed form; each of dx, dgamma, dbeta computed only when not empty, and overwritten.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">Sizes and groups.</param>
    /// <param name="x">Forward input, n*c*spatial elements.</param>
    /// <param name="gamma">Scale, c elements.</param>
    /// <param name="saveMean">Per (sample, group) mean the forward pass saved, n*groups elements.</param>
    /// <param name="saveInvStd">Per (sample, group) 1/sqrt(var + eps) the forward pass saved, n*groups elements.</param>
    /// <param name="dy">Upstream gradient, n*c*spatial elements.</param>
    /// <param name="dx">Input gradient, n*c*spatial elements, or empty.</param>
    /// <param name="dgamma">Scale gradient, c elements, or empty.</param>
    /// <param name="dbeta">Shift gradient, c elements, or empty.</param>
    /// <exception cref="ArgumentException">A length does not match, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void GroupNormBackward<T>(in nnk_norm_desc desc, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var shape = new NormShape(desc);
        shape.Groups(saveMean.Length, nameof(saveMean));
        shape.Groups(saveInvStd.Length, nameof(saveInvStd));
        Backward(shape, x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta, groupNorm: true);
    }

    // Batch norm and group norm backward share their signature; only the statistics' length differs.
    private static void Backward<T>(NormShape shape, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> saveMean,
        ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool groupNorm)
        where T : unmanaged
    {
        shape.Data(x.Length, nameof(x));
        shape.Channels(gamma.Length, nameof(gamma));
        shape.Data(dy.Length, nameof(dy));
        shape.Data(dx.Length, nameof(dx), optional: true);
        shape.Channels(dgamma.Length, nameof(dgamma), optional: true);
        shape.Channels(dbeta.Length, nameof(dbeta), optional: true);
        nnk_norm_desc desc = shape.Desc;
        nnk_status status;
        fixed (T* px = x)
        fixed (T* pg = gamma)
        fixed (T* psm = saveMean)
        fixed (T* psi = saveInvStd)
        fixed (T* pdy = dy)
        fixed (T* pdx = dx)
        fixed (T* pdg = dgamma)
        fixed (T* pdb = dbeta)
        {
            nnk_norm_desc* d = &desc;
            if (typeof(T) == typeof(float))
            {
                status = groupNorm
                    ? NativeMethods.nnk_groupnorm_backward_f32(d, (float*)px, x.Length, (float*)pg, gamma.Length, (float*)psm,
                        saveMean.Length, (float*)psi, saveInvStd.Length, (float*)pdy, dy.Length, (float*)pdx, dx.Length,
                        (float*)pdg, dgamma.Length, (float*)pdb, dbeta.Length)
                    : NativeMethods.nnk_batchnorm_backward_f32(d, (float*)px, x.Length, (float*)pg, gamma.Length, (float*)psm,
                        saveMean.Length, (float*)psi, saveInvStd.Length, (float*)pdy, dy.Length, (float*)pdx, dx.Length,
                        (float*)pdg, dgamma.Length, (float*)pdb, dbeta.Length);
            }
            else
            {
                status = groupNorm
                    ? NativeMethods.nnk_groupnorm_backward_f64(d, (double*)px, x.Length, (double*)pg, gamma.Length, (double*)psm,
                        saveMean.Length, (double*)psi, saveInvStd.Length, (double*)pdy, dy.Length, (double*)pdx, dx.Length,
                        (double*)pdg, dgamma.Length, (double*)pdb, dbeta.Length)
                    : NativeMethods.nnk_batchnorm_backward_f64(d, (double*)px, x.Length, (double*)pg, gamma.Length, (double*)psm,
                        saveMean.Length, (double*)psi, saveInvStd.Length, (double*)pdy, dy.Length, (double*)pdx, dx.Length,
                        (double*)pdg, dgamma.Length, (double*)pdb, dbeta.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>The lengths a normalisation descriptor implies, checked against buffers.</summary>
    private readonly struct NormShape(nnk_norm_desc desc)
    {
        public nnk_norm_desc Desc { get; } = desc;

        public void Data(int actual, string paramName, bool optional = false) =>
            RequireLength(actual, paramName, [Desc.n, Desc.c, Desc.spatial], ["N", "C", "Spatial"], optional);

        public void Channels(int actual, string paramName, bool optional = false) =>
            RequireLength(actual, paramName, [Desc.c], ["C"], optional);

        public void Groups(int actual, string paramName) =>
            RequireLength(actual, paramName, [Desc.n, Desc.groups], ["N", "Groups"]);
    }
}
