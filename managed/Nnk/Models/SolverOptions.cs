namespace Nnk;

/// <summary>
/// The seeds' keyword arguments of <c>Solver</c>: update rule, its configuration, learning-rate
/// decay, batch size, epochs, accuracy sampling and printing. Every setter validates its value.
/// A <see cref="Solver{T}"/> reads the options once, when it is constructed.
/// </summary>
public sealed class SolverOptions
{
    private string _updateRule = "sgd";
    private OptimConfig _optimConfig = new();
    private double _lrDecay = 1.0;
    private int _batchSize = 100;
    private int _numEpochs = 10;
    private int? _numTrainSamples = 1000;
    private int? _numValSamples;
    private int _printEvery = 10;
    private TextWriter? _log;

    /// <summary>Name of the update rule, one of <see cref="UpdateRules.Names"/>; "sgd" by default.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    /// <exception cref="ArgumentException">The value is not a known rule; the message lists the known ones.</exception>
    public string UpdateRule
    {
        get => _updateRule;
        set
        {
            ArgumentNullException.ThrowIfNull(value, nameof(UpdateRule));
            if (!UpdateRules.Names.Contains(value))
                throw new ArgumentException(
                    $"Unknown update rule \"{value}\"; the known rules are {string.Join(", ", UpdateRules.Names)}.",
                    nameof(UpdateRule));
            _updateRule = value;
        }
    }

    /// <summary>Hyperparameters of the update rule; each parameter gets its own copy. Defaults of
    /// <see cref="Nnk.OptimConfig"/> unless set.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public OptimConfig OptimConfig
    {
        get => _optimConfig;
        set => _optimConfig = value ?? throw new ArgumentNullException(nameof(OptimConfig));
    }

    /// <summary>Factor applied to every parameter's learning rate at the end of each epoch, in (0, 1]; 1 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside (0, 1].</exception>
    public double LrDecay
    {
        get => _lrDecay;
        set => _lrDecay = value > 0 && value <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(LrDecay), value, $"LrDecay must lie in (0, 1]; it was {value}.");
    }

    /// <summary>Inputs per minibatch, at least 1; 100 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int BatchSize
    {
        get => _batchSize;
        set => _batchSize = AtLeastOne(value, nameof(BatchSize));
    }

    /// <summary>Passes over the training set, at least 1; 10 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int NumEpochs
    {
        get => _numEpochs;
        set => _numEpochs = AtLeastOne(value, nameof(NumEpochs));
    }

    /// <summary>Training inputs sampled (with replacement) to estimate training accuracy, at least 1;
    /// null for the whole set; 1000 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? NumTrainSamples
    {
        get => _numTrainSamples;
        set => _numTrainSamples = value is null ? null : AtLeastOne(value.Value, nameof(NumTrainSamples));
    }

    /// <summary>Validation inputs sampled (with replacement) to estimate validation accuracy, at least 1;
    /// null (the default) for the whole set.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? NumValSamples
    {
        get => _numValSamples;
        set => _numValSamples = value is null ? null : AtLeastOne(value.Value, nameof(NumValSamples));
    }

    /// <summary>When <see cref="Verbose"/>, the loss is printed at iterations 1, 1 + PrintEvery, ...;
    /// at least 1; 10 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int PrintEvery
    {
        get => _printEvery;
        set => _printEvery = AtLeastOne(value, nameof(PrintEvery));
    }

    /// <summary>Whether to print the loss and accuracy lines to <see cref="Log"/>; true by default.</summary>
    public bool Verbose { get; set; } = true;

    /// <summary>Seed of the generator (xoshiro256**) that samples minibatches and accuracy subsets; 0 by
    /// default. The same seed, model and data give the same training run, and a checkpoint stores the
    /// generator's state so that a resumed run draws what the uninterrupted one would have.</summary>
    public int Seed { get; set; }

    /// <summary>Where the progress lines go; <see cref="Console.Out"/> (as it is when read) unless set.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public TextWriter Log
    {
        get => _log ?? Console.Out;
        set => _log = value ?? throw new ArgumentNullException(nameof(Log));
    }

    /// <summary>Optional receiver of one <see cref="SolverProgress"/> after every iteration, for progress bars.</summary>
    public IProgress<SolverProgress>? Progress { get; set; }

    private static int AtLeastOne(int value, string property) => value >= 1
        ? value
        : throw new ArgumentOutOfRangeException(property, value, $"{property} must be at least 1; it was {value}.");
}

/// <summary>What <see cref="Solver{T}"/> reports to <see cref="SolverOptions.Progress"/> after each iteration.</summary>
/// <param name="Iteration">Iterations done so far, 1 to <paramref name="NumIterations"/>.</param>
/// <param name="NumIterations">Iterations in the whole run: epochs times iterations per epoch.</param>
/// <param name="Epoch">Epochs completed so far.</param>
/// <param name="Loss">The loss of this iteration's minibatch.</param>
public readonly record struct SolverProgress(int Iteration, int NumIterations, int Epoch, double Loss);
