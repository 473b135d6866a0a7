using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

public sealed partial class ManagedKernels<T>
{
    /// <inheritdoc/>
    public void Gemm(bool transposeA, bool transposeB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, ReadOnlySpan<T> b,
        T beta, Span<T> c)
    {
        // Sizes of at least 1, as libnnk requires, so both backends reject the same calls.
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        KernelArguments.RequireLength(a.Length, Product(m, k, nameof(a)), nameof(a),
            $"a {(transposeA ? "stored (k, m)" : "(m, k)")} with m={m}, k={k}");
        KernelArguments.RequireLength(b.Length, Product(k, n, nameof(b)), nameof(b),
            $"b {(transposeB ? "stored (n, k)" : "(k, n)")} with k={k}, n={n}");
        KernelArguments.RequireLength(c.Length, Product(m, n, nameof(c)), nameof(c), $"c (m={m}, n={n})");
        if (_fast)
            ManagedGemm<T>.Multiply(transposeA, transposeB, m, n, k, alpha, a, transposeA ? m : k, b,
                transposeB ? k : n, beta, c, n);
        else
            GemmNaive(transposeA, transposeB, m, n, k, alpha, a, b, beta, c);
    }

    /// <inheritdoc/>
    public void ReluForward(ReadOnlySpan<T> x, Span<T> y)
    {
        KernelArguments.RequireLength(y.Length, x.Length, nameof(y), $"x ({x.Length})");
        if (_fast)
            // TensorPrimitives.Max has Math.Max semantics: NaN propagates and max(-0, +0) is +0,
            // exactly what the naive loop computes.
            TensorPrimitives.Max(x, T.Zero, y);
        else
            ReluForwardNaive(x, y);
    }

    /// <inheritdoc/>
    public void ReluBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
    {
        KernelArguments.RequireLength(dy.Length, x.Length, nameof(dy), $"x ({x.Length})");
        KernelArguments.RequireLength(dx.Length, x.Length, nameof(dx), $"x ({x.Length})");
        if (_fast)
            ReluBackwardVectorised(x, dy, dx);
        else
            ReluBackwardNaive(x, dy, dx);
    }

    // The losses cost O(n * classes) once per batch, next to O(n * classes * features) for the
    // affine layer before them, so the naive and fast backends share one implementation.

    /// <inheritdoc/>
    public T SoftmaxLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores)
    {
        ValidateLoss(n, classes, scores, labels, dscores);
        double loss = 0.0;
        double inverseN = 1.0 / n;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = scores.Slice(i * classes, classes);
            Span<T> grad = dscores.Slice(i * classes, classes);
            // Shifting by the row maximum keeps every exponent <= 0, so exp cannot overflow.
            double max = double.CreateChecked(row[0]);
            for (int j = 1; j < classes; j++)
                max = Math.Max(max, double.CreateChecked(row[j]));
            double sum = 0.0;
            for (int j = 0; j < classes; j++)
                sum += Math.Exp(double.CreateChecked(row[j]) - max);
            double logSum = Math.Log(sum);
            int label = labels[i];
            loss -= double.CreateChecked(row[label]) - max - logSum;
            for (int j = 0; j < classes; j++)
            {
                double probability = Math.Exp(double.CreateChecked(row[j]) - max - logSum);
                grad[j] = T.CreateChecked((probability - (j == label ? 1.0 : 0.0)) * inverseN);
            }
        }
        return T.CreateChecked(loss * inverseN);
    }

    /// <inheritdoc/>
    public T SvmLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores)
    {
        ValidateLoss(n, classes, scores, labels, dscores);
        double loss = 0.0;
        double inverseN = 1.0 / n;
        T share = T.CreateChecked(inverseN);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = scores.Slice(i * classes, classes);
            Span<T> grad = dscores.Slice(i * classes, classes);
            int label = labels[i];
            double correct = double.CreateChecked(row[label]);
            int positive = 0;
            for (int j = 0; j < classes; j++)
            {
                double margin = double.CreateChecked(row[j]) - correct + 1.0;
                if (j != label && margin > 0)
                {
                    loss += margin;
                    positive++;
                    grad[j] = share;
                }
                else
                {
                    grad[j] = T.Zero;
                }
            }
            grad[label] = T.CreateChecked(-positive * inverseN);
        }
        return T.CreateChecked(loss * inverseN);
    }

    // m*k and friends as an int; a product beyond int cannot match any span's length.
    private static int Product(int rows, int columns, string name)
    {
        long product = (long)rows * columns;
        if (product > Array.MaxLength)
            throw new ArgumentException(
                $"{name} would need {rows} x {columns} = {product} elements, more than an array can hold.", name);
        return (int)product;
    }

    // Every label is checked before anything is written, so a bad call leaves dscores untouched.
    private static void ValidateLoss(int n, int classes, ReadOnlySpan<T> scores, ReadOnlySpan<int> labels, Span<T> dscores)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        int length = Product(n, classes, nameof(scores));
        KernelArguments.RequireLength(scores.Length, length, nameof(scores), $"scores (n={n}, classes={classes})");
        KernelArguments.RequireLength(labels.Length, n, nameof(labels), $"labels (n={n})");
        KernelArguments.RequireLength(dscores.Length, length, nameof(dscores), $"dscores (n={n}, classes={classes})");
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentException(
                    $"labels[{i}] = {labels[i]} is outside [0, {classes}): row {i} has no such class.", nameof(labels));
        }
    }

    // The textbook triple loop in i, j, p order, one dot product per element of c.
    private static void GemmNaive(bool transposeA, bool transposeB, int m, int n, int k, T alpha, ReadOnlySpan<T> a,
        ReadOnlySpan<T> b, T beta, Span<T> c)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            T sum = T.Zero;
            for (int p = 0; p < k; p++)
                sum += (transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
            // beta = 0 must not read c, so NaN or garbage in it cannot leak into the result.
            c[i * n + j] = T.IsZero(beta) ? alpha * sum : alpha * sum + beta * c[i * n + j];
        }
    }

    private static void ReluForwardNaive(ReadOnlySpan<T> x, Span<T> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = T.IsNaN(x[i]) || x[i] > T.Zero ? x[i] : T.Zero;
    }

    private static void ReluBackwardNaive(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
    {
        for (int i = 0; i < x.Length; i++)
            dx[i] = x[i] > T.Zero ? dy[i] : T.Zero;
    }

    // Element i of dx is written only after element i of dy is read, so dx may alias dy.
    private static void ReluBackwardVectorised(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var mask = Vector.GreaterThan(new Vector<T>(x[i..]), Vector<T>.Zero);
                Vector.ConditionalSelect(mask, new Vector<T>(dy[i..]), Vector<T>.Zero).CopyTo(dx[i..]);
            }
        }
        for (; i < x.Length; i++)
            dx[i] = x[i] > T.Zero ? dy[i] : T.Zero;
    }
}
