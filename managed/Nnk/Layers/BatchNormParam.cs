using System.Numerics;

namespace Nnk;

/// <summary>
/// The seeds' <c>bn_param</c>: mode, eps, momentum and the running statistics a batch-norm layer
/// keeps between calls. The running statistics start as zeros of the right length on the first
/// training-mode call, as in the seeds, and are updated in place by every training-mode call.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BatchNormParam<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private double _eps = 1e-5;
    private double _momentum = 0.9;

    /// <summary>Train (batch statistics, running statistics updated) or test (running statistics used).</summary>
    public NormMode Mode { get; set; } = NormMode.Train;

    /// <summary>Added to the variance before the square root; positive and finite, 1e-5 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public double Eps
    {
        get => _eps;
        set => _eps = NormChecks.Eps(value);
    }

    /// <summary>Weight of the old running statistics in [0, 1], 0.9 by default:
    /// running = momentum*running + (1-momentum)*batch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1].</exception>
    public double Momentum
    {
        get => _momentum;
        set
        {
            if (!(value >= 0 && value <= 1))
                throw new ArgumentOutOfRangeException(nameof(value), value, "Momentum must lie in [0, 1].");
            _momentum = value;
        }
    }

    /// <summary>Running mean per channel; null until the first training-mode call creates it.</summary>
    public Tensor<T>? RunningMean { get; set; }

    /// <summary>Running (biased) variance per channel; null until the first training-mode call creates it.</summary>
    public Tensor<T>? RunningVar { get; set; }
}

/// <summary>Checks shared by the normalisation layers.</summary>
internal static class NormChecks
{
    public static double Eps(double eps)
    {
        if (!(eps > 0) || double.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive and finite.");
        return eps;
    }
}
