using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nnk;

/// <summary>
/// Batch, group and layer normalisation in managed code, one source for <see cref="float"/> and
/// <see cref="double"/>: the seeds' step-by-step formulations (the naive reference), the seed's
/// simplified backward, and the fused, vectorised, parallel fast path. Arguments are validated by
/// <see cref="ManagedKernels{T}"/>.
/// </summary>
/// <remarks>
/// x is seen as (N, C, Spatial), element (i, ch, s) at (i*C + ch)*Spatial + s. Batch norm reduces
/// each channel over its M = N*Spatial values; group norm each (sample, group) over its
/// (C/Groups)*Spatial contiguous values.
/// <para>
/// The fast path reads x once for the statistics and once to write y, and x and dy once for the
/// gradient sums and once to write dx, with no temporary the size of x. Statistics are sums of
/// x - shift, shift being a value of the same reduction, accumulated in double, so a large mean
/// does not cancel the variance; gradient sums are centred on the saved mean the same way. The
/// vector loops widen eight elements at a time to two <see cref="Vector256{T}"/> of double. Over
/// planes (Spatial > 1), a worker writes batch norm's y or dx of one channel, or group norm's y of
/// one (sample, group), while it sums the next in its chunk, and group norm's dx of one (sample,
/// group) while it sums the same group of the next sample, so reads and writes overlap, as in the
/// native kernels.
/// </para>
/// <para>
/// Each reduction is done by one worker in a fixed order, and in the row-wise loops of (N, D)
/// inputs each vector lane is one channel, so results are bit-identical for any thread count.
/// Batch norm is parallel over channels (over blocks of eight for (N, D) inputs), group norm
/// over (sample, group) pairs, and its dgamma and dbeta over channels, or its backward over groups
/// when that takes dx, dgamma and dbeta from one pass.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
internal static unsafe class ManagedNormalization<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Elements per step of the vector loops: one Vector256<float>, or two Vector256<double>.
    private const int Lanes = 8;

    // The most channels a group may have for group norm backward to share out whole groups, whose
    // per-channel sums a worker keeps on its stack (NORM_BLOCK in native).
    private const int GroupBlock = 64;

    private static readonly bool s_vectorised =
        Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    // ---- Naive: the seeds' formulations, one loop per node of the graph ----

    /// <summary>
    /// The seed's <c>batchnorm_forward</c> step by step: train normalises by the batch statistics
    /// and updates the running ones; test normalises by the running statistics.
    /// </summary>
    public static void BatchForwardNaive(in NormGeometry g, NormMode mode, double eps, double momentum,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar,
        Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        var layout = new Layout(g, perGroup: false);
        bool train = mode == NormMode.Train;
        T[] mu = train ? new T[g.C] : runningMean.ToArray();
        T[] variance = train ? new T[g.C] : runningVar.ToArray();
        T[] ivar = ForwardGraph(layout, train, eps, x, gamma, beta, y, mu, variance);
        if (train)
            for (int ch = 0; ch < g.C; ch++)
            {
                runningMean[ch] = UpdateRunning(runningMean[ch], mu[ch], momentum);
                runningVar[ch] = UpdateRunning(runningVar[ch], variance[ch], momentum);
            }
        if (!saveMean.IsEmpty)
            mu.CopyTo(saveMean);
        if (!saveInvStd.IsEmpty)
            ivar.CopyTo(saveInvStd);
    }

    /// <summary>The seed's <c>spatial_groupnorm_forward</c>: the batch norm steps over each (sample, group).</summary>
    public static void GroupForwardNaive(in NormGeometry g, double eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        var layout = new Layout(g, perGroup: true);
        var mu = new T[layout.Statistics];
        T[] ivar = ForwardGraph(layout, computeStatistics: true, eps, x, gamma, beta, y, mu, new T[layout.Statistics]);
        mu.CopyTo(saveMean);
        ivar.CopyTo(saveInvStd);
    }

    /// <summary>
    /// The seed's <c>batchnorm_backward</c>: the forward nodes recomputed from x and the saved
    /// statistics, then gradients propagated back node by node.
    /// </summary>
    public static void BatchBackwardGraph(in NormGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta) =>
        BackwardGraph(new Layout(g, perGroup: false), x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);

    /// <summary>The seed's <c>spatial_groupnorm_backward</c>: the same graph over each (sample, group).</summary>
    public static void GroupBackwardGraph(in NormGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta) =>
        BackwardGraph(new Layout(g, perGroup: true), x, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta);

    /// <summary>
    /// The seed's <c>batchnorm_backward_alt</c> in scalar loops: dbeta = sum(dy),
    /// dgamma = sum(dy*xhat), dx = gamma*ivar/M * (M*dy - dbeta - xhat*dgamma).
    /// </summary>
    public static void BatchBackwardAlt(in NormGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        var layout = new Layout(g, perGroup: false);
        T count = T.CreateChecked(layout.Count);
        var sumDy = new T[g.C];
        var sumDyXhat = new T[g.C];
        for (int k = 0; k < x.Length; k++)
        {
            int ch = layout.Channel(k);
            sumDy[ch] += dy[k];
            sumDyXhat[ch] += dy[k] * (x[k] - saveMean[ch]) * saveInvStd[ch];
        }
        if (!dbeta.IsEmpty)
            sumDy.CopyTo(dbeta);
        if (!dgamma.IsEmpty)
            sumDyXhat.CopyTo(dgamma);
        if (dx.IsEmpty)
            return;
        for (int k = 0; k < x.Length; k++)
        {
            int ch = layout.Channel(k);
            T xhat = (x[k] - saveMean[ch]) * saveInvStd[ch];
            dx[k] = gamma[ch] * saveInvStd[ch] / count * (count * dy[k] - sumDy[ch] - xhat * sumDyXhat[ch]);
        }
    }

    // Steps 1-9 of the seed's batchnorm_forward over the statistics of the layout, per element of
    // x in memory order. mu and variance are computed (steps 1-4) or given; returns ivar.
    private static T[] ForwardGraph(Layout layout, bool computeStatistics, double eps, ReadOnlySpan<T> x,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, T[] mu, T[] variance)
    {
        T inverseCount = T.One / T.CreateChecked(layout.Count);
        if (computeStatistics)
        {
            // step 1: mu = 1/N * sum(x)
            for (int k = 0; k < x.Length; k++)
                mu[layout.Statistic(k)] += x[k];
            for (int j = 0; j < mu.Length; j++)
                mu[j] *= inverseCount;
        }
        // step 2: xmu = x - mu
        var xmu = new T[x.Length];
        for (int k = 0; k < x.Length; k++)
            xmu[k] = x[k] - mu[layout.Statistic(k)];
        if (computeStatistics)
        {
            // step 3: sq = xmu**2
            var sq = new T[x.Length];
            for (int k = 0; k < x.Length; k++)
                sq[k] = xmu[k] * xmu[k];
            // step 4: var = 1/N * sum(sq)
            for (int k = 0; k < x.Length; k++)
                variance[layout.Statistic(k)] += sq[k];
            for (int j = 0; j < variance.Length; j++)
                variance[j] *= inverseCount;
        }
        // step 5: sqrtvar = sqrt(var + eps); step 6: ivar = 1/sqrtvar
        T epsilon = T.CreateChecked(eps);
        var ivar = new T[variance.Length];
        for (int j = 0; j < variance.Length; j++)
        {
            T sqrtvar = T.Sqrt(variance[j] + epsilon);
            ivar[j] = T.One / sqrtvar;
        }
        // step 7: xhat = xmu * ivar; step 8: gammax = gamma * xhat; step 9: out = gammax + beta
        var xhat = new T[x.Length];
        for (int k = 0; k < x.Length; k++)
        {
            int ch = layout.Channel(k);
            xhat[k] = xmu[k] * ivar[layout.Statistic(k)];
            T gammax = gamma[ch] * xhat[k];
            y[k] = gammax + beta[ch];
        }
        return ivar;
    }

    // The seed's batchnorm_backward over the statistics of the layout. eps is not an argument:
    // it reaches the graph only through sqrtvar = sqrt(var + eps) = 1/ivar, and ivar is saved.
    private static void BackwardGraph(Layout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> ivar, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        int length = x.Length, statistics = layout.Statistics, channels = gamma.Length;
        T inverseCount = T.One / T.CreateChecked(layout.Count), half = T.CreateChecked(0.5), two = T.CreateChecked(2);

        // The forward nodes: xmu = x - mu, sqrtvar, xhat = xmu * ivar.
        var xmu = new T[length];
        var xhat = new T[length];
        for (int k = 0; k < length; k++)
        {
            int j = layout.Statistic(k);
            xmu[k] = x[k] - saveMean[j];
            xhat[k] = xmu[k] * ivar[j];
        }
        var sqrtvar = new T[statistics];
        for (int j = 0; j < statistics; j++)
            sqrtvar[j] = T.One / ivar[j];

        // step 9: dbeta = sum(dout); dgammax = dout
        var db = new T[channels];
        for (int k = 0; k < length; k++)
            db[layout.Channel(k)] += dy[k];
        ReadOnlySpan<T> dgammax = dy;
        // step 8: dgamma = sum(dgammax * xhat); dxhat = dgammax * gamma
        var dg = new T[channels];
        var dxhat = new T[length];
        for (int k = 0; k < length; k++)
        {
            int ch = layout.Channel(k);
            dg[ch] += dgammax[k] * xhat[k];
            dxhat[k] = dgammax[k] * gamma[ch];
        }
        // step 7: divar = sum(dxhat * xmu); dxmu1 = dxhat * ivar
        var divar = new T[statistics];
        var dxmu1 = new T[length];
        for (int k = 0; k < length; k++)
        {
            int j = layout.Statistic(k);
            divar[j] += dxhat[k] * xmu[k];
            dxmu1[k] = dxhat[k] * ivar[j];
        }
        // step 6: dsqrtvar = -1/sqrtvar**2 * divar; step 5: dvar = 0.5 * 1/sqrt(var + eps) * dsqrtvar
        var dvar = new T[statistics];
        for (int j = 0; j < statistics; j++)
        {
            T dsqrtvar = -T.One / (sqrtvar[j] * sqrtvar[j]) * divar[j];
            dvar[j] = half * (T.One / sqrtvar[j]) * dsqrtvar;
        }
        // step 4: dsq = 1/N * ones * dvar; step 3: dxmu2 = 2 * xmu * dsq
        var dsq = new T[length];
        var dxmu2 = new T[length];
        for (int k = 0; k < length; k++)
        {
            dsq[k] = inverseCount * dvar[layout.Statistic(k)];
            dxmu2[k] = two * xmu[k] * dsq[k];
        }
        // step 2: dx1 = dxmu1 + dxmu2; dmu = -1 * sum(dxmu1 + dxmu2)
        var dx1 = new T[length];
        var dmu = new T[statistics];
        for (int k = 0; k < length; k++)
        {
            dx1[k] = dxmu1[k] + dxmu2[k];
            dmu[layout.Statistic(k)] += dxmu1[k] + dxmu2[k];
        }
        for (int j = 0; j < statistics; j++)
            dmu[j] = -dmu[j];
        // step 1: dx2 = 1/N * ones * dmu; step 0: dx = dx1 + dx2
        if (!dx.IsEmpty)
            for (int k = 0; k < length; k++)
            {
                T dx2 = inverseCount * dmu[layout.Statistic(k)];
                dx[k] = dx1[k] + dx2;
            }
        if (!dgamma.IsEmpty)
            dg.CopyTo(dgamma);
        if (!dbeta.IsEmpty)
            db.CopyTo(dbeta);
    }

    // Which statistic (a channel for batch norm, a (sample, group) for group norm) and which
    // channel each element of x belongs to, and how many values each statistic covers.
    private readonly struct Layout
    {
        private readonly bool _perGroup;
        private readonly int _spatial, _channels, _groupLength;

        public Layout(in NormGeometry g, bool perGroup)
        {
            _perGroup = perGroup;
            _spatial = g.Spatial;
            _channels = g.C;
            _groupLength = g.ChannelsPerGroup * g.Spatial;
            Statistics = perGroup ? g.N * g.Groups : g.C;
            Count = perGroup ? _groupLength : g.N * g.Spatial;
        }

        public int Statistics { get; }

        public int Count { get; }

        public int Statistic(int k) => _perGroup ? k / _groupLength : Channel(k);

        public int Channel(int k) => k / _spatial % _channels;
    }

    // running = momentum*running + (1 - momentum)*batch, in T as the seed's numpy evaluates it.
    private static T UpdateRunning(T running, T batch, double momentum) =>
        T.CreateChecked(momentum) * running + T.CreateChecked(1.0 - momentum) * batch;

    // ---- Fast: fused, vectorised, parallel ----

    /// <summary>Batch norm forward: per channel, one pass for the statistics (train) and one writing y.</summary>
    public static void BatchForward(in NormGeometry g, NormMode mode, double eps, double momentum,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar,
        Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        int c = g.C;
        fixed (T* px = x, pg = gamma, pb = beta, prm = runningMean, prv = runningVar, py = y,
               psm = saveMean, psi = saveInvStd)
        {
            var statistics = new BatchStatistics(new Pinned(pg, c), new Pinned(prm, c), new Pinned(prv, c),
                new Pinned(psm, saveMean.Length), new Pinned(psi, saveInvStd.Length), mode == NormMode.Train, eps, momentum);
            Pinned input = new(px, x.Length), betas = new(pb, c), output = new(py, y.Length);
            if (g.Spatial == 1)
                BatchForwardRows(g, statistics, input, betas, output);
            else
                BatchForwardPlanes(g, statistics, input, betas, output);
        }
    }

    /// <summary>
    /// Batch norm backward in closed form: per channel, one pass for sum(dy) and sum(dy*(x - mean)),
    /// one writing dx = gamma*invstd * ((dy - mean(dy)) - (x - mean)*slope).
    /// </summary>
    public static void BatchBackward(in NormGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        int c = g.C;
        fixed (T* px = x, pg = gamma, psm = saveMean, psi = saveInvStd, pdy = dy, pdx = dx, pdg = dgamma, pdb = dbeta)
        {
            var gradients = new BatchGradients(new Pinned(pg, c), new Pinned(psi, c), new Pinned(pdg, dgamma.Length),
                new Pinned(pdb, dbeta.Length), g.N * g.Spatial);
            Pinned input = new(px, x.Length), means = new(psm, c), upstream = new(pdy, dy.Length), output = new(pdx, dx.Length);
            if (g.Spatial == 1)
                BatchBackwardRows(g, gradients, input, means, upstream, output);
            else
                BatchBackwardPlanes(g, gradients, input, means, upstream, output);
        }
    }

    // (N, D) inputs: each row holds every channel contiguously, so a worker owns a block of
    // channels and sweeps the rows, one vector lane per channel.
    private static void BatchForwardRows(NormGeometry g, BatchStatistics statistics, Pinned input, Pinned betas, Pinned output)
    {
        int c = g.C;
        // Per channel: mean and scale (T); shift, sum and sum of squares (double).
        T[] meanScale = ThreadScratch<T>.Get(2 * c);
        double[] sums = ThreadScratch<double>.Get(3 * c);
        var state = (g, statistics, input, betas, output, meanScale, sums);
        WorkerPool.ForChunks(LaneBlocks(c), NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
        {
            var (g, statistics, input, betas, output, meanScale, sums) = args;
            int c = g.C;
            (int c0, int width) = LaneRange(start, end, c);
            Span<T> mean = meanScale.AsSpan(c0, width), scale = meanScale.AsSpan(c + c0, width);
            if (statistics.Train)
            {
                Span<double> shifts = sums.AsSpan(c0, width), sum = sums.AsSpan(c + c0, width),
                    squares = sums.AsSpan(2 * c + c0, width);
                for (int j = 0; j < width; j++)
                    shifts[j] = Wide(input.Span[c0 + j]);
                sum.Clear();
                squares.Clear();
                for (int i = 0; i < g.N; i++)
                    AccumulateShifted(input.Span.Slice(i * c + c0, width), shifts, sum, squares);
                for (int j = 0; j < width; j++)
                    (mean[j], scale[j]) = statistics.FromSums(c0 + j, shifts[j], sum[j], squares[j], g.N);
            }
            else
                for (int j = 0; j < width; j++)
                    (mean[j], scale[j]) = statistics.FromRunning(c0 + j);
            ReadOnlySpan<T> offset = betas.Span.Slice(c0, width);
            for (int i = 0; i < g.N; i++)
            {
                Span<T> row = output.Span.Slice(i * c + c0, width);
                TensorPrimitives.Subtract(input.Span.Slice(i * c + c0, width), mean, row);
                TensorPrimitives.MultiplyAdd(row, scale, offset, row);
            }
        });
    }

    // (N, C, Spatial) inputs: a worker owns whole channels, each N contiguous planes of Spatial values.
    // In train mode a channel's y rides along the next channel's sums (see IRider).
    private static void BatchForwardPlanes(NormGeometry g, BatchStatistics statistics, Pinned input, Pinned betas, Pinned output) =>
        WorkerPool.ForChunks(g.C, NnkRuntime.NumThreads, (g, statistics, input, betas, output), static (in args, _, start, end) =>
        {
            var (g, statistics, input, betas, output) = args;
            int plane = g.Spatial, stride = g.C * plane;
            bool train = statistics.Train;
            (double sum, double squares) = train && start < end ? ChannelSums(g, input, start, default(NoRider)) : default;
            for (int ch = start; ch < end; ch++)
            {
                (T mean, T scale) = train
                    ? statistics.FromSums(ch, Wide(input.Span[ch * plane]), sum, squares, g.N * plane)
                    : statistics.FromRunning(ch);
                var pass = new AffineRider(input.Address + ch * plane, output.Address + ch * plane, mean, scale, betas.Span[ch]);
                if (train && ch + 1 < end)
                    (sum, squares) = ChannelSums(g, input, ch + 1, pass);
                else
                    for (int i = 0; i < g.N; i++)
                        Ride(plane, pass.At(i * stride));
            }
        });

    // Channel ch's sums of x - shift over its planes, shift being its first value; previous, the
    // pass of the channel before (at its plane 0), rides along plane by plane.
    private static (double Sum, double Squares) ChannelSums<TRider>(NormGeometry g, Pinned input, int ch, TRider previous)
        where TRider : struct, IRider<TRider>
    {
        int plane = g.Spatial, stride = g.C * plane;
        double shift = Wide(input.Span[ch * plane]), sum = 0.0, squares = 0.0;
        for (int i = 0; i < g.N; i++)
        {
            (double s, double q) = ShiftedSums(input.Span.Slice(ch * plane + i * stride, plane), shift, previous.At(i * stride));
            sum += s;
            squares += q;
        }
        return (sum, squares);
    }

    private static void BatchBackwardRows(NormGeometry g, BatchGradients gradients, Pinned input, Pinned means,
        Pinned upstream, Pinned output)
    {
        int c = g.C;
        // Per channel: the dx coefficients (T) and the two gradient sums (double).
        T[] coefficients = ThreadScratch<T>.Get(3 * c);
        double[] sums = ThreadScratch<double>.Get(2 * c);
        var state = (g, gradients, input, means, upstream, output, coefficients, sums);
        WorkerPool.ForChunks(LaneBlocks(c), NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
        {
            var (g, gradients, input, means, upstream, output, coefficients, sums) = args;
            int c = g.C;
            (int c0, int width) = LaneRange(start, end, c);
            Span<double> sumDy = sums.AsSpan(c0, width), sumDyXmu = sums.AsSpan(c + c0, width);
            Span<T> scale = coefficients.AsSpan(c0, width), meanDy = coefficients.AsSpan(c + c0, width),
                slope = coefficients.AsSpan(2 * c + c0, width);
            ReadOnlySpan<T> mean = means.Span.Slice(c0, width);
            sumDy.Clear();
            sumDyXmu.Clear();
            for (int i = 0; i < g.N; i++)
                AccumulateGradient(upstream.Span.Slice(i * c + c0, width), input.Span.Slice(i * c + c0, width),
                    mean, sumDy, sumDyXmu);
            for (int j = 0; j < width; j++)
                (scale[j], meanDy[j], slope[j]) = gradients.Finish(c0 + j, sumDy[j], sumDyXmu[j]);
            if (output.IsEmpty)
                return;
            for (int i = 0; i < g.N; i++)
                InputGradientRow(upstream.Span.Slice(i * c + c0, width), input.Span.Slice(i * c + c0, width),
                    mean, meanDy, slope, scale, output.Span.Slice(i * c + c0, width));
        });
    }

    // (N, C, Spatial) inputs: a worker owns whole channels, and a channel's dx rides along the next
    // channel's sums (see IRider).
    private static void BatchBackwardPlanes(NormGeometry g, BatchGradients gradients, Pinned input, Pinned means,
        Pinned upstream, Pinned output) =>
        WorkerPool.ForChunks(g.C, NnkRuntime.NumThreads, (g, gradients, input, means, upstream, output), static (in args, _, start, end) =>
        {
            var (g, gradients, input, means, upstream, output) = args;
            int plane = g.Spatial, stride = g.C * plane;
            if (output.IsEmpty)
            {
                for (int ch = start; ch < end; ch++)
                {
                    (double sumDy, double sumDyXmu) = ChannelGradientSums(g, input, means, upstream, ch, default(NoRider));
                    gradients.Finish(ch, sumDy, sumDyXmu);
                }
                return;
            }
            (double sum, double dot) = start < end ? ChannelGradientSums(g, input, means, upstream, start, default(NoRider)) : default;
            for (int ch = start; ch < end; ch++)
            {
                (T scale, T meanDy, T slope) = gradients.Finish(ch, sum, dot);
                int at = ch * plane;
                var pass = new GradientRider(upstream.Address + at, input.Address + at, output.Address + at, means.Span[ch],
                    T.One, meanDy, slope, scale);
                if (ch + 1 < end)
                    (sum, dot) = ChannelGradientSums(g, input, means, upstream, ch + 1, pass);
                else
                    for (int i = 0; i < g.N; i++)
                        Ride(plane, pass.At(i * stride));
            }
        });

    // Channel ch's sums of dy and dy*(x - mean) over its planes; previous, the pass of the channel
    // before (at its plane 0), rides along plane by plane.
    private static (double Sum, double Dot) ChannelGradientSums<TRider>(NormGeometry g, Pinned input, Pinned means,
        Pinned upstream, int ch, TRider previous) where TRider : struct, IRider<TRider>
    {
        int plane = g.Spatial, stride = g.C * plane;
        double mean = Wide(means.Span[ch]), sum = 0.0, dot = 0.0;
        for (int i = 0; i < g.N; i++)
        {
            int at = ch * plane + i * stride;
            (double s, double d) = GradientSums(upstream.Span.Slice(at, plane), input.Span.Slice(at, plane), mean,
                previous.At(i * stride));
            sum += s;
            dot += d;
        }
        return (sum, dot);
    }

    /// <summary>Group norm forward: per (sample, group), one pass for the statistics and one writing y.</summary>
    public static void GroupForward(in NormGeometry g, double eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd)
    {
        fixed (T* px = x, pg = gamma, pb = beta, py = y, psm = saveMean, psi = saveInvStd)
        {
            Pinned input = new(px, x.Length), gammas = new(pg, g.C), betas = new(pb, g.C), output = new(py, y.Length),
                means = new(psm, saveMean.Length), invStds = new(psi, saveInvStd.Length);
            if (g.Spatial == 1)
                GroupForwardRows(g, eps, input, gammas, betas, output, means, invStds);
            else
                GroupForwardPlanes(g, eps, input, gammas, betas, output, means, invStds);
        }
    }

    /// <summary>
    /// Group norm backward in closed form: per (sample, group) one pass for sum(dxhat) and
    /// sum(dxhat*(x - mean)) and one writing dx, and dgamma and dbeta per channel over the samples;
    /// over planes, with both wanted and groups enough to share out, from the same pass.
    /// </summary>
    public static void GroupBackward(in NormGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta)
    {
        fixed (T* px = x, pg = gamma, psm = saveMean, psi = saveInvStd, pdy = dy, pdx = dx, pdg = dgamma, pdb = dbeta)
        {
            Pinned input = new(px, x.Length), gammas = new(pg, g.C), means = new(psm, saveMean.Length),
                invStds = new(psi, saveInvStd.Length), upstream = new(pdy, dy.Length), output = new(pdx, dx.Length),
                dgammas = new(pdg, dgamma.Length), dbetas = new(pdb, dbeta.Length);
            bool parameters = !dgamma.IsEmpty || !dbeta.IsEmpty;
            // Sharing out whole groups serves dx and dgamma, dbeta in one pass over x and dy, when the
            // groups keep the workers evenly busy (the workers of the loops over pairs below); as in
            // native, a group's per-channel sums must fit its fixed block. Either way no sum is split
            // between workers, and both ways give the same bits (see GroupBackwardByGroups).
            int workers = Math.Min(NnkRuntime.NumThreads, g.N * g.Groups);
            if (!dx.IsEmpty && parameters && g.Spatial > 1 && g.ChannelsPerGroup <= GroupBlock
                && (g.Groups % workers == 0 || g.Groups >= 4 * workers))
            {
                GroupBackwardByGroups(g, workers, input, gammas, means, invStds, upstream, output, dgammas, dbetas);
                return;
            }
            if (parameters)
                GroupParameterGradients(g, input, means, invStds, upstream, dgammas, dbetas);
            if (!dx.IsEmpty)
                GroupInputGradient(g, input, gammas, means, invStds, upstream, output);
        }
    }

    // Spatial 1 (layer norm): each (sample, group) is a row of channels, gamma and beta vectors over it.
    private static void GroupForwardRows(NormGeometry g, double eps, Pinned input, Pinned gammas, Pinned betas, Pinned output,
        Pinned means, Pinned invStds) =>
        WorkerPool.ForChunks(g.N * g.Groups, NnkRuntime.NumThreads, (g, eps, input, gammas, betas, output, means, invStds),
            static (in args, _, start, end) =>
        {
            var (g, eps, input, gammas, betas, output, means, invStds) = args;
            int perGroup = g.ChannelsPerGroup;
            for (int item = start; item < end; item++)
            {
                ReadOnlySpan<T> block = input.Span.Slice(item * perGroup, perGroup);
                Span<T> result = output.Span.Slice(item * perGroup, perGroup);
                double shift = Wide(block[0]);
                (double sum, double squares) = ShiftedSums(block, shift, default(NoRider));
                (T mean, double invStd) = GroupStatistics(item, shift, sum, squares, perGroup, eps, means, invStds);
                int c0 = item % g.Groups * perGroup;
                TensorPrimitives.Subtract(block, mean, result);
                TensorPrimitives.Multiply(result, T.CreateChecked(invStd), result);
                TensorPrimitives.MultiplyAdd(result, gammas.Span.Slice(c0, perGroup), betas.Span.Slice(c0, perGroup), result);
            }
        });

    // Spatial > 1: sums channel by channel, so that each channel's y, with its own gamma and beta,
    // can ride along the same channel's sums in the next (sample, group) of the chunk (see IRider).
    private static void GroupForwardPlanes(NormGeometry g, double eps, Pinned input, Pinned gammas, Pinned betas, Pinned output,
        Pinned means, Pinned invStds) =>
        WorkerPool.ForChunks(g.N * g.Groups, NnkRuntime.NumThreads, (g, eps, input, gammas, betas, output, means, invStds),
            static (in args, _, start, end) =>
        {
            var (g, eps, input, gammas, betas, output, means, invStds) = args;
            int perGroup = g.ChannelsPerGroup, plane = g.Spatial, length = perGroup * plane;
            double sum = 0.0, squares = 0.0;
            for (int k = 0; start < end && k < perGroup; k++)
            {
                (double s, double q) = ShiftedSums(input.Span.Slice(start * length + k * plane, plane),
                    Wide(input.Span[start * length]), default(NoRider));
                sum += s;
                squares += q;
            }
            for (int item = start; item < end; item++)
            {
                int at = item * length, c0 = item % g.Groups * perGroup;
                (T mean, double invStd) = GroupStatistics(item, Wide(input.Span[at]), sum, squares, length, eps, means, invStds);
                bool last = item + 1 == end;
                double shift = last ? 0.0 : Wide(input.Span[at + length]);
                sum = squares = 0.0;
                for (int k = 0; k < perGroup; k++, at += plane)
                {
                    var pass = new AffineRider(input.Address + at, output.Address + at, mean,
                        T.CreateChecked(Wide(gammas.Span[c0 + k]) * invStd), betas.Span[c0 + k]);
                    if (last)
                    {
                        Ride(plane, pass);
                        continue;
                    }
                    (double s, double q) = ShiftedSums(input.Span.Slice(at + length, plane), shift, pass);
                    sum += s;
                    squares += q;
                }
            }
        });

    // The mean (rounded to T) and invstd of (sample, group) item from its shifted sums, saved.
    private static (T Mean, double InvStd) GroupStatistics(int item, double shift, double sum, double squares, int count,
        double eps, Pinned means, Pinned invStds)
    {
        (double wideMean, double variance) = Moments(shift, sum, squares, count);
        double invStd = InvStd(variance, eps);
        T mean = T.CreateChecked(wideMean);
        means.Span[item] = mean;
        invStds.Span[item] = T.CreateChecked(invStd);
        return (mean, invStd);
    }

    // dx of group norm, a worker per (sample, group): dx = invstd * ((gamma*dy - meanDxhat) - (x - mean)*slope).
    private static void GroupInputGradient(NormGeometry g, Pinned input, Pinned gammas, Pinned means, Pinned invStds,
        Pinned upstream, Pinned output) =>
        WorkerPool.ForChunks(g.N * g.Groups, NnkRuntime.NumThreads, (g, input, gammas, means, invStds, upstream, output),
            static (in args, _, start, end) =>
        {
            var (g, input, gammas, means, invStds, upstream, output) = args;
            int perGroup = g.ChannelsPerGroup, plane = g.Spatial, length = perGroup * plane;
            for (int item = start; item < end; item++)
            {
                int at = item * length, c0 = item % g.Groups * perGroup;
                ReadOnlySpan<T> values = input.Span.Slice(at, length), gradient = upstream.Span.Slice(at, length);
                Span<T> result = output.Span.Slice(at, length);
                T mean = means.Span[item], invStd = invStds.Span[item];
                double wideMean = Wide(mean), wideInvStd = Wide(invStd);
                if (plane == 1)
                {
                    // One channel per element (layer norm): gamma is a vector.
                    ReadOnlySpan<T> weights = gammas.Span.Slice(c0, perGroup);
                    (double sumDxhat, double sumDxhatXmu) = WeightedGradientSums(gradient, values, weights, wideMean);
                    (T meanDxhat, T slope) = DxTerms(wideInvStd, sumDxhat, sumDxhatXmu, length);
                    InputGradient(gradient, values, mean, weights, meanDxhat, slope, invStd, result);
                    continue;
                }
                (double groupDxhat, double groupDxhatXmu) = GroupPairSums(g, input, gammas, means, invStds, upstream, item,
                    null, default, default);
                (T groupMeanDxhat, T groupSlope) = DxTerms(wideInvStd, groupDxhat, groupDxhatXmu, length);
                for (int k = 0; k < perGroup; k++, at += plane)
                    Ride(plane, new GradientRider(upstream.Address + at, input.Address + at, output.Address + at, mean,
                        gammas.Span[c0 + k], groupMeanDxhat, groupSlope, invStd));
            }
        });

    // Spatial > 1, a worker per group: the group of every sample in sample order, each (sample,
    // group) read from memory once, its per-channel sums giving both its dx coefficients and the
    // group's dgamma and dbeta, and its dx written while it is still in cache, riding along the next
    // sample's sums (see IRider). The sums are those GroupInputGradient and GroupParameterGradients
    // take, added in the same order, so either way gives the same bits.
    private static void GroupBackwardByGroups(NormGeometry g, int workers, Pinned input, Pinned gammas, Pinned means,
        Pinned invStds, Pinned upstream, Pinned output, Pinned dgamma, Pinned dbeta) =>
        WorkerPool.ForChunks(g.Groups, workers, (g, input, gammas, means, invStds, upstream, output, dgamma, dbeta),
            static (in args, _, start, end) =>
        {
            var (g, input, gammas, means, invStds, upstream, output, dgamma, dbeta) = args;
            int perGroup = g.ChannelsPerGroup, plane = g.Spatial, length = perGroup * plane;
            Span<double> sumDy = stackalloc double[GroupBlock], sumDyXhat = stackalloc double[GroupBlock];
            sumDy = sumDy[..perGroup];
            sumDyXhat = sumDyXhat[..perGroup];
            for (int gr = start; gr < end; gr++)
            {
                int c0 = gr * perGroup;
                sumDy.Clear();
                sumDyXhat.Clear();
                (double dxhat, double dxhatXmu) = GroupPairSums(g, input, gammas, means, invStds, upstream, gr,
                    null, sumDy, sumDyXhat);
                for (int item = gr; item < g.N * g.Groups; item += g.Groups)
                {
                    int at = item * length;
                    T invStd = invStds.Span[item];
                    (T meanDxhat, T slope) = DxTerms(Wide(invStd), dxhat, dxhatXmu, length);
                    var pass = new GradientRider(upstream.Address + at, input.Address + at, output.Address + at,
                        means.Span[item], gammas.Span[c0], meanDxhat, slope, invStd);
                    if (item + g.Groups < g.N * g.Groups)
                        (dxhat, dxhatXmu) = GroupPairSums(g, input, gammas, means, invStds, upstream, item + g.Groups,
                            pass, sumDy, sumDyXhat);
                    else
                        for (int k = 0; k < perGroup; k++)
                            Ride(plane, pass.At(k * plane, gammas.Span[c0 + k]));
                }
                for (int k = 0; k < perGroup; k++)
                {
                    if (!dbeta.IsEmpty)
                        dbeta.Span[c0 + k] = T.CreateChecked(sumDy[k]);
                    if (!dgamma.IsEmpty)
                        dgamma.Span[c0 + k] = T.CreateChecked(sumDyXhat[k]);
                }
            }
        });

    // Channel by channel over (sample, group) item: the gamma-weighted sums of dy and dy*(x - mean),
    // returned for dx, and the plain ones added to the group's dbeta and dgamma (sumDy and sumDyXhat,
    // unless empty). previous, the dx pass of the sample before (at its channel 0, null for none),
    // rides along with each channel's gamma. Both backward paths take their sums here, so they give
    // the same bits.
    private static (double Dxhat, double DxhatXmu) GroupPairSums(NormGeometry g, Pinned input, Pinned gammas, Pinned means,
        Pinned invStds, Pinned upstream, int item, GradientRider? previous, Span<double> sumDy, Span<double> sumDyXhat)
    {
        int perGroup = g.ChannelsPerGroup, plane = g.Spatial, at = item * perGroup * plane, c0 = item % g.Groups * perGroup;
        double mean = Wide(means.Span[item]), invStd = Wide(invStds.Span[item]), dxhat = 0.0, dxhatXmu = 0.0;
        for (int k = 0; k < perGroup; k++, at += plane)
        {
            ReadOnlySpan<T> gradient = upstream.Span.Slice(at, plane), values = input.Span.Slice(at, plane);
            T gamma = gammas.Span[c0 + k];
            (double s, double d) = previous is { } pass
                ? GradientSums(gradient, values, mean, pass.At(k * plane, gamma))
                : GradientSums(gradient, values, mean, default(NoRider));
            double weight = Wide(gamma);
            dxhat += weight * s;
            dxhatXmu += weight * d;
            if (!sumDy.IsEmpty)
            {
                sumDy[k] += s;
                sumDyXhat[k] += d * invStd;
            }
        }
        return (dxhat, dxhatXmu);
    }

    // dbeta = sum(dy) and dgamma = sum(dy*xhat) of group norm, each channel summed over the samples
    // in order by one worker, with xhat from the statistics of the sample's group.
    private static void GroupParameterGradients(NormGeometry g, Pinned input, Pinned means, Pinned invStds,
        Pinned upstream, Pinned dgamma, Pinned dbeta)
    {
        int c = g.C, perGroup = g.ChannelsPerGroup;
        if (g.Spatial > 1)
        {
            WorkerPool.ForChunks(c, NnkRuntime.NumThreads, (g, input, means, invStds, upstream, dgamma, dbeta), static (in args, _, start, end) =>
            {
                var (g, input, means, invStds, upstream, dgamma, dbeta) = args;
                int c = g.C, perGroup = g.ChannelsPerGroup, plane = g.Spatial;
                for (int ch = start; ch < end; ch++)
                {
                    double sumDy = 0.0, sumDyXhat = 0.0;
                    for (int i = 0; i < g.N; i++)
                    {
                        int item = i * g.Groups + ch / perGroup, at = (i * c + ch) * plane;
                        (double s, double d) = GradientSums(upstream.Span.Slice(at, plane), input.Span.Slice(at, plane),
                            Wide(means.Span[item]), default(NoRider));
                        sumDy += s;
                        sumDyXhat += d * Wide(invStds.Span[item]);
                    }
                    if (!dbeta.IsEmpty)
                        dbeta.Span[ch] = T.CreateChecked(sumDy);
                    if (!dgamma.IsEmpty)
                        dgamma.Span[ch] = T.CreateChecked(sumDyXhat);
                }
            });
            return;
        }
        double[] sums = ThreadScratch<double>.Get(2 * c);
        var state = (g, input, means, invStds, upstream, dgamma, dbeta, sums);
        WorkerPool.ForChunks(LaneBlocks(c), NnkRuntime.NumThreads, state, static (in args, _, start, end) =>
        {
            var (g, input, means, invStds, upstream, dgamma, dbeta, sums) = args;
            int c = g.C, perGroup = g.ChannelsPerGroup;
            (int c0, int width) = LaneRange(start, end, c);
            Span<double> sumDy = sums.AsSpan(c0, width), sumDyXhat = sums.AsSpan(c + c0, width);
            sumDy.Clear();
            sumDyXhat.Clear();
            for (int i = 0; i < g.N; i++)
                for (int from = c0; from < c0 + width;)
                {
                    // The part of this worker's channels that lies in one group.
                    int group = from / perGroup, to = Math.Min(c0 + width, (group + 1) * perGroup), item = i * g.Groups + group;
                    AccumulateNormalizedGradient(upstream.Span.Slice(i * c + from, to - from), input.Span.Slice(i * c + from, to - from),
                        Wide(means.Span[item]), Wide(invStds.Span[item]), sumDy.Slice(from - c0, to - from),
                        sumDyXhat.Slice(from - c0, to - from));
                    from = to;
                }
            for (int j = 0; j < width; j++)
            {
                if (!dbeta.IsEmpty)
                    dbeta.Span[c0 + j] = T.CreateChecked(sumDy[j]);
                if (!dgamma.IsEmpty)
                    dgamma.Span[c0 + j] = T.CreateChecked(sumDyXhat[j]);
            }
        });
    }

    // Mean and biased variance from sums of (v - shift) and (v - shift)^2 over count values.
    private static (double Mean, double Variance) Moments(double shift, double sum, double squares, int count)
    {
        double shifted = sum / count;
        return (shift + shifted, Math.Max(squares / count - shifted * shifted, 0.0));
    }

    private static double InvStd(double variance, double eps) => 1.0 / Math.Sqrt(variance + eps);

    // The closed-form backward of one normalisation over count values, with dxhat = gamma*dy and
    // xhat = (x - mean)*invstd: dx = invstd/count * (count*dxhat - sum(dxhat) - xhat*sum(dxhat*xhat))
    // = invstd * ((dxhat - meanDxhat) - (x - mean)*slope), with meanDxhat = sum(dxhat)/count and
    // slope = invstd^2 * sum(dxhat*(x - mean))/count. The terms cancel before the scaling, so a
    // statistic over a single value gives dx = 0 exactly.
    private static (T MeanDxhat, T Slope) DxTerms(double invStd, double sumDxhat, double sumDxhatXmu, int count) =>
        (T.CreateChecked(sumDxhat / count), T.CreateChecked(invStd * invStd * sumDxhatXmu / count));

    private static double Wide(T value) => double.CreateChecked(value);

    private static int LaneBlocks(int channels) => (channels + Lanes - 1) / Lanes;

    // The channels [c0, c0 + width) of lane blocks [start, end).
    private static (int C0, int Width) LaneRange(int start, int end, int channels) =>
        (start * Lanes, Math.Min(end * Lanes, channels) - start * Lanes);

    // The statistics of a batch norm forward: written where the caller keeps them, and turned into
    // the mean and scale gamma*invstd that the normalisation pass applies.
    private readonly struct BatchStatistics(Pinned gamma, Pinned runningMean, Pinned runningVar,
        Pinned saveMean, Pinned saveInvStd, bool train, double eps, double momentum)
    {
        // Normalise by the batch statistics (FromSums) rather than the running ones (FromRunning).
        public bool Train => train;

        // Train: the batch statistics from shifted sums over count values.
        public (T Mean, T Scale) FromSums(int ch, double shift, double sum, double squares, int count)
        {
            (double wideMean, double variance) = Moments(shift, sum, squares, count);
            double invStd = InvStd(variance, eps);
            T mean = T.CreateChecked(wideMean);
            saveMean.Span[ch] = mean;
            saveInvStd.Span[ch] = T.CreateChecked(invStd);
            runningMean.Span[ch] = UpdateRunning(runningMean.Span[ch], mean, momentum);
            runningVar.Span[ch] = UpdateRunning(runningVar.Span[ch], T.CreateChecked(variance), momentum);
            return (mean, T.CreateChecked(Wide(gamma.Span[ch]) * invStd));
        }

        // Test: the running statistics, saved as well when the caller passed somewhere to save them.
        public (T Mean, T Scale) FromRunning(int ch)
        {
            T mean = runningMean.Span[ch];
            double invStd = InvStd(Wide(runningVar.Span[ch]), eps);
            if (!saveMean.IsEmpty)
                saveMean.Span[ch] = mean;
            if (!saveInvStd.IsEmpty)
                saveInvStd.Span[ch] = T.CreateChecked(invStd);
            return (mean, T.CreateChecked(Wide(gamma.Span[ch]) * invStd));
        }
    }

    // dgamma and dbeta of a batch norm channel, written if asked for, and the coefficients of
    // dx = gamma*invstd * ((dy - meanDy) - (x - mean)*slope); gamma is taken out of dxhat.
    private readonly struct BatchGradients(Pinned gamma, Pinned invStds, Pinned dgamma, Pinned dbeta, int count)
    {
        public (T Scale, T MeanDy, T Slope) Finish(int ch, double sumDy, double sumDyXmu)
        {
            double invStd = Wide(invStds.Span[ch]);
            if (!dbeta.IsEmpty)
                dbeta.Span[ch] = T.CreateChecked(sumDy);
            if (!dgamma.IsEmpty)
                dgamma.Span[ch] = T.CreateChecked(sumDyXmu * invStd);
            (T meanDy, T slope) = DxTerms(invStd, sumDy, sumDyXmu, count);
            return (T.CreateChecked(Wide(gamma.Span[ch]) * invStd), meanDy, slope);
        }
    }

    // A pinned buffer the parallel body can capture, as it cannot capture a span.
    private readonly struct Pinned(T* address, int length)
    {
        private readonly nint _address = (nint)address;

        public bool IsEmpty => length == 0;

        public T* Address => (T*)_address;

        public Span<T> Span => new((T*)_address, length);
    }

    // ---- Riders: the element-wise pass of a set, alone or inside the next set's sums ----

    // A set's element-wise pass over a run of its values. Ride runs it alone; ShiftedSums and
    // GradientSums run it alongside their reduction of the next set, at the same indices: reading
    // the next set from L3 while this one's output is written keeps both directions of memory
    // traffic busy, where one pass after the other leaves each waiting in turn (as in the native
    // kernels, norm_impl.h). Struct riders are specialised and inlined, and NoRider vanishes, so
    // the sums are the same code, and the same bits, whether a pass rides along or not.
    private interface IRider<TSelf> where TSelf : struct, IRider<TSelf>
    {
        // The same pass, offset elements further on (the next plane of a channel).
        TSelf At(int offset);

        // Elements [k, k + Lanes).
        void Step(int k);

        void Element(int k);
    }

    private readonly struct NoRider : IRider<NoRider>
    {
        public NoRider At(int offset) => this;

        public void Step(int k)
        {
        }

        public void Element(int k)
        {
        }
    }

    // y = (x - centre)*scale + offset.
    private readonly struct AffineRider : IRider<AffineRider>
    {
        private readonly T* _x, _y;
        private readonly Vector256<T> _centre, _scale, _offset;

        public AffineRider(T* x, T* y, T centre, T scale, T offset)
            : this(x, y, Vector256.Create(centre), Vector256.Create(scale), Vector256.Create(offset))
        {
        }

        private AffineRider(T* x, T* y, Vector256<T> centre, Vector256<T> scale, Vector256<T> offset)
        {
            _x = x;
            _y = y;
            _centre = centre;
            _scale = scale;
            _offset = offset;
        }

        public AffineRider At(int offset) => new(_x + offset, _y + offset, _centre, _scale, _offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(int k)
        {
            Vector(k);
            if (Vector256<T>.Count < Lanes)
                Vector(k + Vector256<T>.Count);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Element(int k) => _y[k] = (_x[k] - _centre.ToScalar()) * _scale.ToScalar() + _offset.ToScalar();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Vector(int k) => ((Vector256.Load(_x + k) - _centre) * _scale + _offset).Store(_y + k);
    }

    // dx = scale*((weight*dy - meanDxhat) - (x - centre)*slope).
    private readonly struct GradientRider : IRider<GradientRider>
    {
        private readonly T* _dy, _x, _dx;
        private readonly Vector256<T> _centre, _weight, _meanDxhat, _slope, _scale;

        public GradientRider(T* dy, T* x, T* dx, T centre, T weight, T meanDxhat, T slope, T scale)
            : this(dy, x, dx, Vector256.Create(centre), Vector256.Create(weight), Vector256.Create(meanDxhat),
                Vector256.Create(slope), Vector256.Create(scale))
        {
        }

        private GradientRider(T* dy, T* x, T* dx, Vector256<T> centre, Vector256<T> weight, Vector256<T> meanDxhat,
            Vector256<T> slope, Vector256<T> scale)
        {
            _dy = dy;
            _x = x;
            _dx = dx;
            _centre = centre;
            _weight = weight;
            _meanDxhat = meanDxhat;
            _slope = slope;
            _scale = scale;
        }

        public GradientRider At(int offset) =>
            new(_dy + offset, _x + offset, _dx + offset, _centre, _weight, _meanDxhat, _slope, _scale);

        // The same pass offset elements further on with another weight (the next channel of a group).
        public GradientRider At(int offset, T weight) =>
            new(_dy + offset, _x + offset, _dx + offset, _centre, Vector256.Create(weight), _meanDxhat, _slope, _scale);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(int k)
        {
            Vector(k);
            if (Vector256<T>.Count < Lanes)
                Vector(k + Vector256<T>.Count);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Element(int k) =>
            _dx[k] = _scale.ToScalar() * ((_weight.ToScalar() * _dy[k] - _meanDxhat.ToScalar())
                - (_x[k] - _centre.ToScalar()) * _slope.ToScalar());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Vector(int k) =>
            (_scale * ((_weight * Vector256.Load(_dy + k) - _meanDxhat) - (Vector256.Load(_x + k) - _centre) * _slope))
                .Store(_dx + k);
    }

    // The rider's pass alone over length elements.
    private static void Ride<TRider>(int length, TRider rider) where TRider : struct, IRider<TRider>
    {
        int k = 0;
        if (s_vectorised)
            for (; k <= length - Lanes; k += Lanes)
                rider.Step(k);
        for (; k < length; k++)
            rider.Element(k);
    }

    // ---- Vector loops ----

    // dx = scale*((weight*dy - meanDxhat) - (x - centre)*slope) with one weight per element.
    private static void InputGradient(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, T centre, ReadOnlySpan<T> weights,
        T meanDxhat, T slope, T scale, Span<T> dx)
    {
        int k = 0;
        if (s_vectorised)
        {
            ref T gradient = ref MemoryMarshal.GetReference(dy), source = ref MemoryMarshal.GetReference(x),
                w = ref MemoryMarshal.GetReference(weights), target = ref MemoryMarshal.GetReference(dx);
            Vector256<T> m = Vector256.Create(centre), p = Vector256.Create(meanDxhat), r = Vector256.Create(slope),
                s = Vector256.Create(scale);
            for (; k <= x.Length - Vector256<T>.Count; k += Vector256<T>.Count)
                (s * ((Vector256.LoadUnsafe(ref w, (nuint)k) * Vector256.LoadUnsafe(ref gradient, (nuint)k) - p)
                        - (Vector256.LoadUnsafe(ref source, (nuint)k) - m) * r))
                    .StoreUnsafe(ref target, (nuint)k);
        }
        for (; k < x.Length; k++)
            dx[k] = scale * ((weights[k] * dy[k] - meanDxhat) - (x[k] - centre) * slope);
    }

    // Lane by lane over a row of channels: dx = scale*((dy - meanDy) - (x - centre)*slope).
    private static void InputGradientRow(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> centre,
        ReadOnlySpan<T> meanDy, ReadOnlySpan<T> slope, ReadOnlySpan<T> scale, Span<T> dx)
    {
        int k = 0;
        if (s_vectorised)
        {
            ref T gradient = ref MemoryMarshal.GetReference(dy), source = ref MemoryMarshal.GetReference(x),
                m = ref MemoryMarshal.GetReference(centre), p = ref MemoryMarshal.GetReference(meanDy),
                r = ref MemoryMarshal.GetReference(slope), s = ref MemoryMarshal.GetReference(scale),
                target = ref MemoryMarshal.GetReference(dx);
            for (; k <= x.Length - Vector256<T>.Count; k += Vector256<T>.Count)
            {
                nuint at = (nuint)k;
                Vector256<T> centred = Vector256.LoadUnsafe(ref source, at) - Vector256.LoadUnsafe(ref m, at);
                Vector256<T> shifted = Vector256.LoadUnsafe(ref gradient, at) - Vector256.LoadUnsafe(ref p, at);
                (Vector256.LoadUnsafe(ref s, at) * (shifted - centred * Vector256.LoadUnsafe(ref r, at))).StoreUnsafe(ref target, at);
            }
        }
        for (; k < x.Length; k++)
            dx[k] = scale[k] * ((dy[k] - meanDy[k]) - (x[k] - centre[k]) * slope[k]);
    }

    // The reductions below take eight elements per step, widened to double.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<double> Low, Vector256<double> High) LoadWide(ref T source, int index)
    {
        if (typeof(T) == typeof(float))
            return Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<T, float>(ref source), (nuint)index));
        ref double wide = ref Unsafe.As<T, double>(ref source);
        return (Vector256.LoadUnsafe(ref wide, (nuint)index), Vector256.LoadUnsafe(ref wide, (nuint)index + 4));
    }

    // sum(v - shift) and sum((v - shift)^2), the rider's pass running alongside (see IRider).
    private static (double Sum, double Squares) ShiftedSums<TRider>(ReadOnlySpan<T> values, double shift, TRider rider)
        where TRider : struct, IRider<TRider>
    {
        int k = 0;
        double sum = 0.0, squares = 0.0;
        if (s_vectorised && values.Length >= Lanes)
        {
            ref T v = ref MemoryMarshal.GetReference(values);
            Vector256<double> centre = Vector256.Create(shift), sumLow = default, sumHigh = default,
                squaresLow = default, squaresHigh = default;
            for (; k <= values.Length - Lanes; k += Lanes)
            {
                (Vector256<double> low, Vector256<double> high) = LoadWide(ref v, k);
                low -= centre;
                high -= centre;
                sumLow += low;
                sumHigh += high;
                squaresLow += low * low;
                squaresHigh += high * high;
                rider.Step(k);
            }
            sum = Vector256.Sum(sumLow + sumHigh);
            squares = Vector256.Sum(squaresLow + squaresHigh);
        }
        for (; k < values.Length; k++)
        {
            double d = Wide(values[k]) - shift;
            sum += d;
            squares += d * d;
            rider.Element(k);
        }
        return (sum, squares);
    }

    // sum(dy) and sum(dy*(x - mean)), the rider's pass running alongside (see IRider).
    private static (double Sum, double Dot) GradientSums<TRider>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, double mean, TRider rider)
        where TRider : struct, IRider<TRider>
    {
        int k = 0;
        double sum = 0.0, dot = 0.0;
        if (s_vectorised && dy.Length >= Lanes)
        {
            ref T g = ref MemoryMarshal.GetReference(dy), v = ref MemoryMarshal.GetReference(x);
            Vector256<double> centre = Vector256.Create(mean), sumLow = default, sumHigh = default,
                dotLow = default, dotHigh = default;
            for (; k <= dy.Length - Lanes; k += Lanes)
            {
                (Vector256<double> gLow, Vector256<double> gHigh) = LoadWide(ref g, k);
                (Vector256<double> vLow, Vector256<double> vHigh) = LoadWide(ref v, k);
                sumLow += gLow;
                sumHigh += gHigh;
                dotLow += gLow * (vLow - centre);
                dotHigh += gHigh * (vHigh - centre);
                rider.Step(k);
            }
            sum = Vector256.Sum(sumLow + sumHigh);
            dot = Vector256.Sum(dotLow + dotHigh);
        }
        for (; k < dy.Length; k++)
        {
            double gradient = Wide(dy[k]);
            sum += gradient;
            dot += gradient * (Wide(x[k]) - mean);
            rider.Element(k);
        }
        return (sum, dot);
    }

    // sum(w*dy) and sum(w*dy*(x - mean)).
    private static (double Sum, double Dot) WeightedGradientSums(ReadOnlySpan<T> dy, ReadOnlySpan<T> x,
        ReadOnlySpan<T> weights, double mean)
    {
        int k = 0;
        double sum = 0.0, dot = 0.0;
        if (s_vectorised && dy.Length >= Lanes)
        {
            ref T g = ref MemoryMarshal.GetReference(dy), v = ref MemoryMarshal.GetReference(x),
                w = ref MemoryMarshal.GetReference(weights);
            Vector256<double> centre = Vector256.Create(mean), sumLow = default, sumHigh = default,
                dotLow = default, dotHigh = default;
            for (; k <= dy.Length - Lanes; k += Lanes)
            {
                (Vector256<double> gLow, Vector256<double> gHigh) = LoadWide(ref g, k);
                (Vector256<double> vLow, Vector256<double> vHigh) = LoadWide(ref v, k);
                (Vector256<double> wLow, Vector256<double> wHigh) = LoadWide(ref w, k);
                gLow *= wLow;
                gHigh *= wHigh;
                sumLow += gLow;
                sumHigh += gHigh;
                dotLow += gLow * (vLow - centre);
                dotHigh += gHigh * (vHigh - centre);
            }
            sum = Vector256.Sum(sumLow + sumHigh);
            dot = Vector256.Sum(dotLow + dotHigh);
        }
        for (; k < dy.Length; k++)
        {
            double gradient = Wide(weights[k]) * Wide(dy[k]);
            sum += gradient;
            dot += gradient * (Wide(x[k]) - mean);
        }
        return (sum, dot);
    }

    // Lane by lane over a row of channels: sum[j] += x[j] - shift[j], squares[j] += (x[j] - shift[j])^2.
    private static void AccumulateShifted(ReadOnlySpan<T> row, ReadOnlySpan<double> shift, Span<double> sum, Span<double> squares)
    {
        int j = 0;
        if (s_vectorised)
        {
            ref T v = ref MemoryMarshal.GetReference(row);
            ref double k = ref MemoryMarshal.GetReference(shift), s = ref MemoryMarshal.GetReference(sum),
                q = ref MemoryMarshal.GetReference(squares);
            for (; j <= row.Length - Lanes; j += Lanes)
            {
                (Vector256<double> low, Vector256<double> high) = LoadWide(ref v, j);
                low -= Vector256.LoadUnsafe(ref k, (nuint)j);
                high -= Vector256.LoadUnsafe(ref k, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref s, (nuint)j) + low).StoreUnsafe(ref s, (nuint)j);
                (Vector256.LoadUnsafe(ref s, (nuint)j + 4) + high).StoreUnsafe(ref s, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref q, (nuint)j) + low * low).StoreUnsafe(ref q, (nuint)j);
                (Vector256.LoadUnsafe(ref q, (nuint)j + 4) + high * high).StoreUnsafe(ref q, (nuint)j + 4);
            }
        }
        for (; j < row.Length; j++)
        {
            double d = Wide(row[j]) - shift[j];
            sum[j] += d;
            squares[j] += d * d;
        }
    }

    // Lane by lane over a row of channels: sumDy[j] += dy[j], sumDyXmu[j] += dy[j]*(x[j] - mean[j]).
    private static void AccumulateGradient(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> mean,
        Span<double> sumDy, Span<double> sumDyXmu)
    {
        int j = 0;
        if (s_vectorised)
        {
            ref T g = ref MemoryMarshal.GetReference(dy), v = ref MemoryMarshal.GetReference(x),
                m = ref MemoryMarshal.GetReference(mean);
            ref double s = ref MemoryMarshal.GetReference(sumDy), d = ref MemoryMarshal.GetReference(sumDyXmu);
            for (; j <= dy.Length - Lanes; j += Lanes)
            {
                (Vector256<double> gLow, Vector256<double> gHigh) = LoadWide(ref g, j);
                (Vector256<double> vLow, Vector256<double> vHigh) = LoadWide(ref v, j);
                (Vector256<double> mLow, Vector256<double> mHigh) = LoadWide(ref m, j);
                (Vector256.LoadUnsafe(ref s, (nuint)j) + gLow).StoreUnsafe(ref s, (nuint)j);
                (Vector256.LoadUnsafe(ref s, (nuint)j + 4) + gHigh).StoreUnsafe(ref s, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref d, (nuint)j) + gLow * (vLow - mLow)).StoreUnsafe(ref d, (nuint)j);
                (Vector256.LoadUnsafe(ref d, (nuint)j + 4) + gHigh * (vHigh - mHigh)).StoreUnsafe(ref d, (nuint)j + 4);
            }
        }
        for (; j < dy.Length; j++)
        {
            double gradient = Wide(dy[j]);
            sumDy[j] += gradient;
            sumDyXmu[j] += gradient * (Wide(x[j]) - Wide(mean[j]));
        }
    }

    // Lane by lane over channels sharing one mean and invstd: sumDy[j] += dy[j], sumDyXhat[j] += dy[j]*(x[j] - mean)*invStd.
    private static void AccumulateNormalizedGradient(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, double mean, double invStd,
        Span<double> sumDy, Span<double> sumDyXhat)
    {
        int j = 0;
        if (s_vectorised)
        {
            ref T g = ref MemoryMarshal.GetReference(dy), v = ref MemoryMarshal.GetReference(x);
            ref double s = ref MemoryMarshal.GetReference(sumDy), d = ref MemoryMarshal.GetReference(sumDyXhat);
            Vector256<double> centre = Vector256.Create(mean), spread = Vector256.Create(invStd);
            for (; j <= dy.Length - Lanes; j += Lanes)
            {
                (Vector256<double> gLow, Vector256<double> gHigh) = LoadWide(ref g, j);
                (Vector256<double> vLow, Vector256<double> vHigh) = LoadWide(ref v, j);
                (Vector256.LoadUnsafe(ref s, (nuint)j) + gLow).StoreUnsafe(ref s, (nuint)j);
                (Vector256.LoadUnsafe(ref s, (nuint)j + 4) + gHigh).StoreUnsafe(ref s, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref d, (nuint)j) + gLow * (vLow - centre) * spread).StoreUnsafe(ref d, (nuint)j);
                (Vector256.LoadUnsafe(ref d, (nuint)j + 4) + gHigh * (vHigh - centre) * spread).StoreUnsafe(ref d, (nuint)j + 4);
            }
        }
        for (; j < dy.Length; j++)
        {
            double gradient = Wide(dy[j]);
            sumDy[j] += gradient;
            sumDyXhat[j] += gradient * (Wide(x[j]) - mean) * invStd;
        }
    }
}
