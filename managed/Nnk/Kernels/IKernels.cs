using System.Numerics;

namespace Nnk;

/// <summary>Which pass of a convolution a workspace is sized for.</summary>
public enum ConvPass
{
    /// <summary>Forward: y from x, w and b.</summary>
    Forward = 0,
    /// <summary>Backward: dx, dw and db from dy.</summary>
    Backward = 1,
}

/// <summary>
/// The compute kernels behind every layer, one interface with two implementations:
/// <see cref="ManagedKernels{T}"/> (pure C#, a naive reference and a fast vectorised path) and
/// <see cref="NativeKernels"/> (libnnk over BLAS). Every kernel writes into caller-owned spans
/// whose lengths must match the geometry exactly, and allocates nothing.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Name of the backend for reports, for example <c>native (openblas)</c> or <c>managed</c>.</summary>
    string Name { get; }

    /// <summary>Elements of scratch space <see cref="Conv2dForward"/> or <see cref="Conv2dBackward"/> needs.</summary>
    int Conv2dWorkspaceLength(in ConvGeometry geometry, ConvPass pass);

    /// <summary>y (N, F, OutH, OutW) = conv(x (N, C, H, W), w (F, C, KH, KW)) + b (F); an empty b means no bias.</summary>
    void Conv2dForward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b,
        Span<T> y, Span<T> workspace);

    /// <summary>
    /// dx (N, C, H, W), dw (F, C, KH, KW) and db (F) from dy (N, F, OutH, OutW); each gradient is
    /// overwritten, and an empty span skips it.
    /// </summary>
    void Conv2dBackward(in ConvGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dw, Span<T> db, Span<T> workspace);

    /// <summary>
    /// Max pooling: y (N, C, OutH, OutW) is each window's maximum and argmax (same length) the
    /// index ih*W + iw of its first maximum within the (n, c) input plane; padding never wins and
    /// NaN counts as the largest value.
    /// </summary>
    void MaxPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax);

    /// <summary>dx (N, C, H, W) = dy scattered to the recorded argmax positions; overlapping windows accumulate.</summary>
    void MaxPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx);

    /// <summary>Average pooling: y is each window's mean, padding counted as zeros (divisor PoolH*PoolW).</summary>
    void AvgPool2dForward(in PoolGeometry geometry, ReadOnlySpan<T> x, Span<T> y);

    /// <summary>dx (N, C, H, W): each dy / (PoolH*PoolW) added to every real input of its window.</summary>
    void AvgPool2dBackward(in PoolGeometry geometry, ReadOnlySpan<T> dy, Span<T> dx);

    /// <summary>
    /// Batch norm forward over x seen as (N, C, Spatial), statistics per channel over N*Spatial
    /// values. Train: normalise with the batch mean and biased variance, write them to saveMean
    /// and saveInvStd (C each; invstd = 1/sqrt(var + eps)) and update runningMean/runningVar
    /// (C each) as running = momentum*running + (1-momentum)*batch. Test: normalise with the
    /// running statistics, update nothing; saveMean/saveInvStd may be empty.
    /// </summary>
    void BatchNormForward(in NormGeometry geometry, NormMode mode, double eps, double momentum,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> runningMean, Span<T> runningVar,
        Span<T> y, Span<T> saveMean, Span<T> saveInvStd);

    /// <summary>
    /// Batch norm backward of a training-mode forward: dx (like x), dgamma and dbeta (C each)
    /// from x, gamma, the saved statistics and dy; each output is overwritten, an empty one skipped.
    /// </summary>
    void BatchNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta);

    /// <summary>
    /// Group norm forward: statistics per sample and group over (C/Groups)*Spatial values, gamma
    /// and beta per channel; saveMean and saveInvStd (N*Groups each) receive the statistics.
    /// </summary>
    void GroupNormForward(in NormGeometry geometry, double eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> saveMean, Span<T> saveInvStd);

    /// <summary>Group norm backward: dx, dgamma, dbeta (each overwritten, an empty one skipped).</summary>
    void GroupNormBackward(in NormGeometry geometry, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> saveMean, ReadOnlySpan<T> saveInvStd, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta);

    /// <summary>
    /// c (m x n) = alpha * op(a) * op(b) + beta * c, row-major and dense: op(a) is m x k (a is
    /// stored k x m when <paramref name="transposeA"/>), op(b) is k x n (b stored n x k when
    /// <paramref name="transposeB"/>). beta = 0 overwrites c without reading it.
    /// </summary>
    void Gemm(bool transposeA, bool transposeB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, ReadOnlySpan<T> b,
        T beta, Span<T> c);

    /// <summary>y = max(x, 0) elementwise; NaN propagates. y may alias x.</summary>
    void ReluForward(ReadOnlySpan<T> x, Span<T> y);

    /// <summary>dx = dy where x &gt; 0, else 0. dx may alias dy.</summary>
    void ReluBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx);

    /// <summary>
    /// Softmax cross-entropy of scores (n, classes) against labels in [0, classes): returns the
    /// mean loss over the n samples and writes its gradient to dscores (n, classes).
    /// </summary>
    T SoftmaxLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores);

    /// <summary>
    /// Multiclass SVM loss with margin 1 (the seeds' <c>svm_loss</c>): returns the mean over
    /// samples of the sum over wrong classes of max(0, s_j - s_y + 1) and writes its gradient.
    /// </summary>
    T SvmLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores);
}
