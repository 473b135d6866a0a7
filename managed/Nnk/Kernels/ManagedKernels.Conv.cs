using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

public sealed partial class ManagedKernels<T>
{
    /// <inheritdoc/>
    public int Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass)
    {
        geometry.Validate();
        if (!_fast)
            return 0;
        int length = checked(ConvWorkers(geometry) * ConvWorkspacePerWorker(geometry, pass));
        return (int)Math.Max(length, WinogradWorkspaceLength(geometry, pass));
    }

    /// <inheritdoc/>
    public void Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        Span<T> y, Span<T> workspace)
    {
        KernelArguments.Conv2d(geometry, x, w, y);
        KernelArguments.OptionalLength(b.Length, geometry.F, "b", $"b ({geometry.F},)");
        if (_fast)
            Conv2dForwardFast(geometry, x, w, b, y, workspace);
        else
            Conv2dForwardNaive(geometry, x, w, b, y);
    }

    /// <inheritdoc/>
    public void Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dw, Span<T> db, Span<T> workspace)
    {
        ConvGeometry g = geometry;
        KernelArguments.Conv2d(g, x, w, dy);
        bool wantDx = KernelArguments.OptionalLength(dx.Length, g.InputLength, "dx", $"dx ({g.N}, {g.C}, {g.H}, {g.W})");
        bool wantDw = KernelArguments.OptionalLength(dw.Length, g.WeightLength, "dw", $"dw ({g.F}, {g.C}, {g.KH}, {g.KW})");
        if (KernelArguments.OptionalLength(db.Length, g.F, "db", $"db ({g.F},)"))
            BiasGradient(g, dy, db);
        if (!wantDx && !wantDw)
            return;
        if (_fast)
            Conv2dBackwardFast(g, x, w, dy, dx, dw, workspace);
        else
            Conv2dBackwardNaive(g, x, w, dy, dx, dw);
    }

    private static int ConvWorkers(in ConvGeometry g) => Math.Min(NnkRuntime.NumThreads, g.N);

    // im2col's cols (and a dw partial backward), or the direct passes' shares where more.
    internal static int ConvWorkspacePerWorker(in ConvGeometry g, ConvPass pass)
    {
        bool filter = pass == ConvPass.Backward;
        int im2col = filter ? checked(g.ColumnRows * g.ColumnCols + g.F * g.ColumnRows) : g.ColumnRows * g.ColumnCols;
        int direct = ManagedDirectConv<T>.Applies(g, filter)
            ? ManagedDirectConv<T>.WorkspacePerWorker(g, filter) + (filter ? g.F * g.ColumnRows : 0)
            : 0;
        int directDx = filter && ManagedDirectInputGradient<T>.Applies(g)
            ? ManagedDirectInputGradient<T>.WorkspacePerWorker(g)
            : 0;
        return Math.Max(im2col, Math.Max(direct, directDx));
    }

    // What the Winograd passes that would run need (0 for none), when it fits an int: the forward
    // pass, or the input gradient and, unless the direct pass computes it, the weight gradient.
    private static long WinogradWorkspaceLength(in ConvGeometry g, ConvPass pass)
    {
        long length = 0;
        if (pass == ConvPass.Forward)
            length = WinogradWorkspaceLength(g, WinogradPass.Forward);
        else
        {
            length = WinogradWorkspaceLength(g, WinogradPass.InputGradient);
            if (!ManagedDirectConv<T>.Applies(g, filter: true))
                length = Math.Max(length, WinogradWorkspaceLength(g, WinogradPass.WeightGradient));
        }
        return length <= int.MaxValue ? length : 0;
    }

    private static long WinogradWorkspaceLength(in ConvGeometry g, WinogradPass pass) =>
        ManagedWinograd<T>.Applies(g, pass) ? ManagedWinograd<T>.WorkspaceLength(g, pass) : 0;

    private static int WorkersFor(in ConvGeometry g, ReadOnlySpan<T> workspace, int perWorker)
    {
        KernelArguments.RequireWorkspace(workspace, perWorker);
        return Math.Min(ConvWorkers(g), workspace.Length / perWorker);
    }

    private static void BiasGradient(in ConvGeometry g, ReadOnlySpan<T> dy, Span<T> db)
    {
        int plane = g.OutH * g.OutW;
        db.Clear();
        for (int n = 0; n < g.N; n++)
            for (int f = 0; f < g.F; f++)
                db[f] += TensorPrimitives.Sum(dy.Slice((n * g.F + f) * plane, plane));
    }

    // The seed's conv_forward_naive: every output is a dot product over (C, KH, KW), padding read as zero.
    private static void Conv2dForwardNaive(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> b, Span<T> y)
    {
        int outH = g.OutH, outW = g.OutW;
        for (int n = 0; n < g.N; n++)
        for (int f = 0; f < g.F; f++)
        for (int oh = 0; oh < outH; oh++)
        for (int ow = 0; ow < outW; ow++)
        {
            T sum = b.IsEmpty ? T.Zero : b[f];
            for (int c = 0; c < g.C; c++)
            for (int ki = 0; ki < g.KH; ki++)
            {
                int ih = oh * g.StrideH - g.PadH + ki;
                if (ih < 0 || ih >= g.H)
                    continue;
                for (int kj = 0; kj < g.KW; kj++)
                {
                    int iw = ow * g.StrideW - g.PadW + kj;
                    if (iw < 0 || iw >= g.W)
                        continue;
                    sum += x[((n * g.C + c) * g.H + ih) * g.W + iw] * w[((f * g.C + c) * g.KH + ki) * g.KW + kj];
                }
            }
            y[((n * g.F + f) * outH + oh) * outW + ow] = sum;
        }
    }

    // The seed's conv_backward_naive: each output gradient is spread back over its window.
    private static void Conv2dBackwardNaive(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw)
    {
        int outH = g.OutH, outW = g.OutW;
        dx.Clear();
        dw.Clear();
        for (int n = 0; n < g.N; n++)
        for (int f = 0; f < g.F; f++)
        for (int oh = 0; oh < outH; oh++)
        for (int ow = 0; ow < outW; ow++)
        {
            T d = dy[((n * g.F + f) * outH + oh) * outW + ow];
            for (int c = 0; c < g.C; c++)
            for (int ki = 0; ki < g.KH; ki++)
            {
                int ih = oh * g.StrideH - g.PadH + ki;
                if (ih < 0 || ih >= g.H)
                    continue;
                for (int kj = 0; kj < g.KW; kj++)
                {
                    int iw = ow * g.StrideW - g.PadW + kj;
                    if (iw < 0 || iw >= g.W)
                        continue;
                    int xi = ((n * g.C + c) * g.H + ih) * g.W + iw;
                    int wi = ((f * g.C + c) * g.KH + ki) * g.KW + kj;
                    if (!dx.IsEmpty)
                        dx[xi] += d * w[wi];
                    if (!dw.IsEmpty)
                        dw[wi] += d * x[xi];
                }
            }
        }
    }

    // Winograd where it applies and the workspace holds it (ManagedWinograd), as native; else the
    // direct pass where it applies (ManagedDirectConv); else per image: cols = im2col(x_n),
    // y_n (F, OutH*OutW) = W (F, C*KH*KW) * cols + b.
    private static unsafe void Conv2dForwardFast(ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> b, Span<T> y, Span<T> workspace)
    {
        bool hasBias = !b.IsEmpty;
        fixed (T* px = x, pw = w, pb = b, py = y, pws = workspace)
        {
            var winograd = ManagedWinograd<T>.PlanFor(g, WinogradPass.Forward, workspace.Length);
            if (winograd.Workers > 0)
            {
                ManagedWinograd<T>.Forward(winograd, px, pw, hasBias ? pb : null, py, pws);
                return;
            }

            int perWorker = ConvWorkspacePerWorker(g, ConvPass.Forward);
            int workers = WorkersFor(g, workspace, perWorker);
            if (ManagedDirectConv<T>.Applies(g, filter: false))
            {
                var direct = (g, perWorker, (nint)px, (nint)pw, hasBias ? (nint)pb : 0, (nint)py, (nint)pws);
                WorkerPool.ForChunks(g.N, workers, direct, static (in args, worker, start, end) =>
                {
                    var (g, perWorker, ax, aw, ab, ay, aws) = args;
                    ManagedDirectConv<T>.Forward(g, (T*)ax, (T*)aw, (T*)ab, (T*)ay, (T*)aws + (long)worker * perWorker,
                        start, end);
                });
                return;
            }

            // Spans cannot cross into the parallel body; the buffers stay pinned for its duration.
            var state = (g, perWorker, hasBias, (nint)px, (nint)pw, (nint)pb, (nint)py, (nint)pws);
            WorkerPool.ForChunks(g.N, workers, state, static (in args, worker, start, end) =>
            {
                var (g, perWorker, hasBias, ax, aw, ab, ay, aws) = args;
                int rows = g.ColumnRows, plane = g.ColumnCols;
                var weights = new ReadOnlySpan<T>((T*)aw, g.WeightLength);
                var cols = new Span<T>((T*)aws + (long)worker * perWorker, rows * plane);
                for (int n = start; n < end; n++)
                {
                    var image = new ReadOnlySpan<T>((T*)ax + (long)n * g.C * g.H * g.W, g.C * g.H * g.W);
                    var output = new Span<T>((T*)ay + (long)n * g.F * plane, g.F * plane);
                    ManagedIm2Col<T>.Im2Col(g, image, cols);
                    ManagedGemm<T>.Multiply(false, false, g.F, plane, rows, T.One, weights, rows, cols, plane,
                        T.Zero, output, plane);
                    if (hasBias)
                        for (int f = 0; f < g.F; f++)
                        {
                            Span<T> channel = output.Slice(f * plane, plane);
                            TensorPrimitives.Add(channel, ((T*)ab)[f], channel);
                        }
                }
            });
        }
    }

    // As native (conv_impl.h): where Winograd applies and the workspace holds it, it computes dx,
    // and dW unless the direct pass does (which beats it where both apply); the other paths compute
    // the rest first. The passes run one after another, each with the whole workspace.
    private static unsafe void Conv2dBackwardFast(ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> workspace)
    {
        bool directDw = !dw.IsEmpty && ManagedDirectConv<T>.Applies(g, filter: true);
        var winogradDx = dx.IsEmpty
            ? default
            : ManagedWinograd<T>.PlanFor(g, WinogradPass.InputGradient, workspace.Length);
        var winogradDw = dw.IsEmpty || directDw
            ? default
            : ManagedWinograd<T>.PlanFor(g, WinogradPass.WeightGradient, workspace.Length);
        // What Winograd computes, the other paths leave out (its gradient passed empty there).
        Span<T> otherDx = winogradDx.Workers > 0 ? default : dx, otherDw = winogradDw.Workers > 0 ? default : dw;
        if (!otherDx.IsEmpty || !otherDw.IsEmpty)
            Conv2dBackwardDirectOrIm2Col(g, x, w, dy, otherDx, otherDw, workspace);
        if (winogradDx.Workers == 0 && winogradDw.Workers == 0)
            return;
        fixed (T* px = x, pw = w, pdy = dy, pdx = dx, pdw = dw, pws = workspace)
        {
            if (winogradDw.Workers > 0)
                ManagedWinograd<T>.WeightGradient(winogradDw, px, pdy, pdw, pws);
            if (winogradDx.Workers > 0)
                ManagedWinograd<T>.InputGradient(winogradDx, pw, pdy, pdx, pws);
        }
    }

    // Per image: dW += dy_n * im2col(x_n)^T in a per-worker partial sum; dx_n = col2im(W^T * dy_n).
    // Where the direct passes apply, they compute dW first (per-worker partials after its share) and
    // dx of shallow convolutions (ManagedDirectInputGradient), and the image loop then computes the
    // rest. An empty dx or dw is skipped.
    private static unsafe void Conv2dBackwardDirectOrIm2Col(ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> workspace)
    {
        int perWorker = ConvWorkspacePerWorker(g, ConvPass.Backward);
        int workers = WorkersFor(g, workspace, perWorker);
        int rows = g.ColumnRows, plane = g.ColumnCols, imageLength = g.C * g.H * g.W;
        bool wantDx = !dx.IsEmpty, wantDw = !dw.IsEmpty;
        fixed (T* px = x, pw = w, pdy = dy, pdx = dx, pdw = dw, pws = workspace)
        {
            if (wantDw && ManagedDirectConv<T>.Applies(g, filter: true))
            {
                int share = ManagedDirectConv<T>.WorkspacePerWorker(g, filter: true);
                var direct = (g, perWorker, share, (nint)px, (nint)pdy, (nint)pws);
                WorkerPool.ForChunks(g.N, workers, direct, static (in args, worker, start, end) =>
                {
                    var (g, perWorker, share, ax, ady, aws) = args;
                    T* scratch = (T*)aws + (long)worker * perWorker;
                    var partial = new Span<T>(scratch + share, g.F * g.ColumnRows);
                    partial.Clear();
                    ManagedDirectConv<T>.WeightGradient(g, (T*)ax, (T*)ady, scratch + share, scratch, start, end);
                });
                SumPartials(pws + share, perWorker, workers, dw);
                wantDw = false;
                if (!wantDx)
                    return;
            }

            if (wantDx && ManagedDirectInputGradient<T>.Applies(g))
            {
                var direct = (g, perWorker, (nint)pw, (nint)pdy, (nint)pdx, (nint)pws);
                WorkerPool.ForChunks(g.N, workers, direct, static (in args, worker, start, end) =>
                {
                    var (g, perWorker, aw, ady, adx, aws) = args;
                    ManagedDirectInputGradient<T>.InputGradient(g, (T*)aw, (T*)ady, (T*)adx,
                        (T*)aws + (long)worker * perWorker, start, end);
                });
                wantDx = false;
                if (!wantDw)
                    return;
            }

            var state = (g, perWorker, wantDx, wantDw, (nint)px, (nint)pw, (nint)pdy, (nint)pdx, (nint)pws);
            WorkerPool.ForChunks(g.N, workers, state, static (in args, worker, start, end) =>
            {
                var (g, perWorker, wantDx, wantDw, ax, aw, ady, adx, aws) = args;
                int rows = g.ColumnRows, plane = g.ColumnCols, imageLength = g.C * g.H * g.W;
                T* scratch = (T*)aws + (long)worker * perWorker;
                var cols = new Span<T>(scratch, rows * plane);
                var partial = new Span<T>(scratch + (long)rows * plane, g.F * rows);
                var weights = new ReadOnlySpan<T>((T*)aw, g.WeightLength);
                partial.Clear();
                for (int n = start; n < end; n++)
                {
                    var gradOut = new ReadOnlySpan<T>((T*)ady + (long)n * g.F * plane, g.F * plane);
                    if (wantDw)
                    {
                        ManagedIm2Col<T>.Im2Col(g, new ReadOnlySpan<T>((T*)ax + (long)n * imageLength, imageLength), cols);
                        ManagedGemm<T>.Multiply(false, true, g.F, rows, plane, T.One, gradOut, plane, cols, plane,
                            T.One, partial, rows);
                    }
                    if (wantDx)
                    {
                        ManagedGemm<T>.Multiply(true, false, rows, plane, g.F, T.One, weights, rows, gradOut, plane,
                            T.Zero, cols, plane);
                        ManagedIm2Col<T>.Col2Im(g, cols, new Span<T>((T*)adx + (long)n * imageLength, imageLength));
                    }
                }
            });
            if (wantDw)
                SumPartials(pws + (long)rows * plane, perWorker, workers, dw);
        }
    }

    // dw = the per-worker partials (the first at first, the next perWorker further each) summed in
    // worker order, so results do not depend on scheduling.
    private static unsafe void SumPartials(T* first, int perWorker, int workers, Span<T> dw)
    {
        new ReadOnlySpan<T>(first, dw.Length).CopyTo(dw);
        for (int worker = 1; worker < workers; worker++)
            TensorPrimitives.Add(dw, new ReadOnlySpan<T>(first + (long)worker * perWorker, dw.Length), dw);
    }
}
