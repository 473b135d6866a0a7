namespace Nnk;

/// <summary>
/// The seeds' <c>optim_config</c>: the hyperparameters of an update rule. Every rule reads the ones
/// it uses at every step, so a change between steps (learning-rate decay, as the Solver does) takes
/// effect at the next step. The defaults are the seeds' (cs231n <c>optim.py</c>), except that the
/// learning rate defaults to 1e-2 for every rule, Adam included (cs231n's Adam uses 1e-3).
/// </summary>
public sealed class OptimConfig
{
    private double _learningRate = 1e-2;
    private double _momentum = 0.9;
    private double _decayRate = 0.99;
    private double _epsilon = 1e-8;
    private double _beta1 = 0.9;
    private double _beta2 = 0.999;

    /// <summary>Step size; positive and finite, 1e-2 by default for every rule. Used by every rule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = PositiveFinite(value, nameof(LearningRate));
    }

    /// <summary>Weight of the old velocity in sgd_momentum, in [0, 1); 0.9 by default:
    /// v = momentum*v - learning_rate*dw.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1).</exception>
    public double Momentum
    {
        get => _momentum;
        set => _momentum = UnitInterval(value, nameof(Momentum));
    }

    /// <summary>Weight of the old squared-gradient cache in rmsprop, in [0, 1); 0.99 by default:
    /// cache = decay_rate*cache + (1-decay_rate)*dw².</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1).</exception>
    public double DecayRate
    {
        get => _decayRate;
        set => _decayRate = UnitInterval(value, nameof(DecayRate));
    }

    /// <summary>Added to the root-mean-square denominator of rmsprop and adam so it is never zero;
    /// positive and finite, 1e-8 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public double Epsilon
    {
        get => _epsilon;
        set => _epsilon = PositiveFinite(value, nameof(Epsilon));
    }

    /// <summary>Decay of adam's first-moment estimate m, in [0, 1); 0.9 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1).</exception>
    public double Beta1
    {
        get => _beta1;
        set => _beta1 = UnitInterval(value, nameof(Beta1));
    }

    /// <summary>Decay of adam's second-moment estimate v, in [0, 1); 0.999 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1).</exception>
    public double Beta2
    {
        get => _beta2;
        set => _beta2 = UnitInterval(value, nameof(Beta2));
    }

    /// <summary>A new configuration with the same values, independent of this one.</summary>
    public OptimConfig Clone() => new()
    {
        _learningRate = _learningRate,
        _momentum = _momentum,
        _decayRate = _decayRate,
        _epsilon = _epsilon,
        _beta1 = _beta1,
        _beta2 = _beta2,
    };

    private static double PositiveFinite(double value, string property)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(property, value, $"{property} must be positive and finite; it was {value}.");
        return value;
    }

    private static double UnitInterval(double value, string property)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(property, value, $"{property} must lie in [0, 1); it was {value}.");
        return value;
    }
}
