using System.Numerics;

namespace Nnk;

/// <summary>
/// The seeds' gradient-checking helpers: <c>rel_error</c> and centred-difference numeric
/// gradients (<c>eval_numerical_gradient</c>, <c>eval_numerical_gradient_array</c>), in float64.
/// </summary>
public static class GradientCheck
{
    /// <summary>
    /// max over elements of |x - y| / max(1e-8, |x| + |y|), as the seeds' <c>rel_error</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double RelError<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : IFloatingPointIeee754<T>
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"x has {x.Length} elements but y has {y.Length}.", nameof(y));
        double worst = 0.0;
        for (int i = 0; i < x.Length; i++)
        {
            double a = double.CreateChecked(x[i]), b = double.CreateChecked(y[i]);
            double error = Math.Abs(a - b) / Math.Max(1e-8, Math.Abs(a) + Math.Abs(b));
            // A NaN anywhere must fail a check, not vanish in Math.Max.
            if (double.IsNaN(error))
                return double.NaN;
            worst = Math.Max(worst, error);
        }
        return worst;
    }

    /// <summary><see cref="RelError{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/> of two tensors of the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static double RelError<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Shape != y.Shape)
            throw new ArgumentException($"x has shape {x.Shape} but y has shape {y.Shape}.", nameof(y));
        return RelError<T>(x.Span, y.Span);
    }

    /// <summary>
    /// Numeric gradient of sum(f(x) * dout) with respect to x by centred differences with step
    /// <paramref name="h"/>, as the seeds' <c>eval_numerical_gradient_array</c>. x is perturbed in
    /// place and restored.
    /// </summary>
    public static Tensor<double> EvalNumericalGradientArray(Func<Tensor<double>, Tensor<double>> f,
        Tensor<double> x, Tensor<double> dout, double h = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dout);
        var grad = new Tensor<double>(x.Shape);
        for (int i = 0; i < x.Length; i++)
        {
            double old = x.Span[i];
            x.Span[i] = old + h;
            double[] plus = Evaluate(f, x, dout).Span.ToArray();
            x.Span[i] = old - h;
            Tensor<double> minus = Evaluate(f, x, dout);
            x.Span[i] = old;
            // Differences first, then the weighted sum, as the seeds do: outputs that do not move
            // cancel exactly instead of losing the change in a large sum.
            double sum = 0.0;
            for (int j = 0; j < plus.Length; j++)
                sum += (plus[j] - minus.Span[j]) * dout.Span[j];
            grad.Span[i] = sum / (2.0 * h);
        }
        return grad;
    }

    private static Tensor<double> Evaluate(Func<Tensor<double>, Tensor<double>> f, Tensor<double> x, Tensor<double> dout)
    {
        Tensor<double> output = f(x);
        if (output.Shape != dout.Shape)
            throw new ArgumentException($"f returned shape {output.Shape} but dout has shape {dout.Shape}.", nameof(dout));
        return output;
    }

    /// <summary>
    /// Numeric gradient of a scalar function at x by centred differences, as the seeds'
    /// <c>eval_numerical_gradient</c>. x is perturbed in place and restored.
    /// </summary>
    public static Tensor<double> EvalNumericalGradient(Func<Tensor<double>, double> f, Tensor<double> x, double h = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        var grad = new Tensor<double>(x.Shape);
        for (int i = 0; i < x.Length; i++)
        {
            double old = x.Span[i];
            x.Span[i] = old + h;
            double plus = f(x);
            x.Span[i] = old - h;
            double minus = f(x);
            x.Span[i] = old;
            grad.Span[i] = (plus - minus) / (2.0 * h);
        }
        return grad;
    }
}
