namespace Nnk.Interop;

internal static unsafe partial class NnkNative
{
    /// <summary>
    /// <paramref name="c"/> (m x n) = alpha * op(a) * op(b) + beta * c through the loaded BLAS,
    /// row-major and dense: op(a) is m x k (a stored k x m when transposed), op(b) is k x n
    /// (b stored n x k when transposed).
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="transposeA">Whether a is stored transposed.</param>
    /// <param name="transposeB">Whether b is stored transposed.</param>
    /// <param name="m">Rows of c.</param>
    /// <param name="n">Columns of c.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">m*k elements.</param>
    /// <param name="b">k*n elements.</param>
    /// <param name="beta">Scale of c's old value; 0 overwrites c without reading it.</param>
    /// <param name="c">m*n elements; updated.</param>
    /// <exception cref="ArgumentException">A size is below 1 or a length does not match.</exception>
    /// <exception cref="InvalidOperationException">No BLAS could be loaded; the message says what to install.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Gemm<T>(bool transposeA, bool transposeB, int m, int n, int k, T alpha, ReadOnlySpan<T> a,
        ReadOnlySpan<T> b, T beta, Span<T> c)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        RequireLength(a.Length, nameof(a), [m, k], ["m", "k"]);
        RequireLength(b.Length, nameof(b), [k, n], ["k", "n"]);
        RequireLength(c.Length, nameof(c), [m, n], ["m", "n"]);
        nnk_status status;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_gemm_f32(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, *(float*)&alpha, (float*)pa, a.Length,
                    (float*)pb, b.Length, *(float*)&beta, (float*)pc, c.Length)
                : NativeMethods.nnk_gemm_f64(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, *(double*)&alpha, (double*)pa, a.Length,
                    (double*)pb, b.Length, *(double*)&beta, (double*)pc, c.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary><paramref name="y"/> = max(<paramref name="x"/>, 0) elementwise; NaN propagates.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="x">Input.</param>
    /// <param name="y">Output of x's length; may be the same memory as x.</param>
    /// <exception cref="ArgumentException">The lengths differ or x is empty.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void ReluForward<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        RequireLength(y.Length, nameof(y), [x.Length], ["x"]);
        nnk_status status;
        fixed (T* px = x)
        fixed (T* py = y)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_relu_forward_f32((float*)px, x.Length, (float*)py, y.Length)
                : NativeMethods.nnk_relu_forward_f64((double*)px, x.Length, (double*)py, y.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary><paramref name="dx"/> = <paramref name="dy"/> where <paramref name="x"/> &gt; 0, else 0.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="x">Forward input.</param>
    /// <param name="dy">Upstream gradient of x's length.</param>
    /// <param name="dx">Output of x's length; may be the same memory as dy.</param>
    /// <exception cref="ArgumentException">The lengths differ or x is empty.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        RequireLength(dy.Length, nameof(dy), [x.Length], ["x"]);
        RequireLength(dx.Length, nameof(dx), [x.Length], ["x"]);
        nnk_status status;
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pdx = dx)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_relu_backward_f32((float*)px, x.Length, (float*)pdy, dy.Length, (float*)pdx, dx.Length)
                : NativeMethods.nnk_relu_backward_f64((double*)px, x.Length, (double*)pdy, dy.Length, (double*)pdx, dx.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// Softmax cross-entropy of <paramref name="scores"/> (n, classes) against
    /// <paramref name="labels"/>: returns the mean loss and writes its gradient.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="n">Samples.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="scores">n*classes elements.</param>
    /// <param name="labels">n labels in [0, classes).</param>
    /// <param name="dscores">n*classes elements; overwritten with the gradient of the mean loss.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A length does not match or a label is out of range.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static T SoftmaxLoss<T>(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores)
        where T : unmanaged => Loss(n, classes, scores, labels, dscores, svm: false);

    /// <summary>
    /// Multiclass SVM loss (margin 1) of <paramref name="scores"/> (n, classes) against
    /// <paramref name="labels"/>: returns the mean loss and writes its gradient.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="n">Samples.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="scores">n*classes elements.</param>
    /// <param name="labels">n labels in [0, classes).</param>
    /// <param name="dscores">n*classes elements; overwritten with the gradient of the mean loss.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A length does not match or a label is out of range.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static T SvmLoss<T>(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores)
        where T : unmanaged => Loss(n, classes, scores, labels, dscores, svm: true);

    private static T Loss<T>(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores, bool svm)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        RequireLength(scores.Length, nameof(scores), [n, classes], ["n", "classes"]);
        RequireLength(labels.Length, nameof(labels), [n], ["n"]);
        RequireLength(dscores.Length, nameof(dscores), [n, classes], ["n", "classes"]);
        T loss = default;
        nnk_status status;
        fixed (T* ps = scores)
        fixed (int* pl = labels)
        fixed (T* pd = dscores)
        {
            if (typeof(T) == typeof(float))
            {
                status = svm
                    ? NativeMethods.nnk_svm_loss_f32(n, classes, (float*)ps, scores.Length, pl, labels.Length, (float*)&loss, (float*)pd, dscores.Length)
                    : NativeMethods.nnk_softmax_loss_f32(n, classes, (float*)ps, scores.Length, pl, labels.Length, (float*)&loss, (float*)pd, dscores.Length);
            }
            else
            {
                status = svm
                    ? NativeMethods.nnk_svm_loss_f64(n, classes, (double*)ps, scores.Length, pl, labels.Length, (double*)&loss, (double*)pd, dscores.Length)
                    : NativeMethods.nnk_softmax_loss_f64(n, classes, (double*)ps, scores.Length, pl, labels.Length, (double*)&loss, (double*)pd, dscores.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
        return loss;
    }
}
