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
    private string? _checkpointDirectory;
    private string _checkpointName = "checkpoint";
    private int _checkpointEvery = 1;
    private IReadOnlyDictionary<string, string> _checkpointMetadata = new Dictionary<string, string>();

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

    /// <summary>
    /// Where the solver writes a checkpoint (<see cref="Solver{T}.SaveCheckpoint"/>) at the end of every
    /// <see cref="CheckpointEvery"/>-th epoch, named by <see cref="Checkpoint.FileName"/> as
    /// <c>{CheckpointName}_epoch_{epoch}.safetensors</c>; created if missing. Null (the default) for no checkpoints.
    /// </summary>
    /// <exception cref="ArgumentException">The value is empty.</exception>
    public string? CheckpointDirectory
    {
        get => _checkpointDirectory;
        set
        {
            if (value is { Length: 0 })
                throw new ArgumentException("CheckpointDirectory must be a path or null for no checkpoints; it was empty.", nameof(CheckpointDirectory));
            _checkpointDirectory = value;
        }
    }

    /// <summary>Start of every checkpoint's file name, the seeds' <c>checkpoint_name</c>; "checkpoint" by default.
    /// It must be a plain file name, without directory separators.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    /// <exception cref="ArgumentException">The value is empty or holds a character not allowed in a file name.</exception>
    public string CheckpointName
    {
        get => _checkpointName;
        set
        {
            ArgumentNullException.ThrowIfNull(value, nameof(CheckpointName));
            if (value.Length == 0 || value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || value.Contains('/') || value.Contains('\\'))
                throw new ArgumentException(
                    $"CheckpointName must be a non-empty file name without directory separators; it was \"{value}\".", nameof(CheckpointName));
            _checkpointName = value;
        }
    }

    /// <summary>Epochs between checkpoints, at least 1; 1 (every epoch) by default. A checkpoint is written
    /// at the end of each epoch whose number is a multiple of it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int CheckpointEvery
    {
        get => _checkpointEvery;
        set => _checkpointEvery = AtLeastOne(value, nameof(CheckpointEvery));
    }

    /// <summary>
    /// Extra strings stored in the <c>__metadata__</c> of every checkpoint the solver writes, for example how
    /// to rebuild the model; read them back with <see cref="SafeTensors.Read"/>. Copied when set; keys must not
    /// be ones the checkpoint itself uses (<see cref="Checkpoint.ReservedMetadataKeys"/>). Empty by default.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value, or a value in it, is null.</exception>
    /// <exception cref="ArgumentException">A key is one the checkpoint itself uses.</exception>
    public IReadOnlyDictionary<string, string> CheckpointMetadata
    {
        get => _checkpointMetadata;
        set
        {
            ArgumentNullException.ThrowIfNull(value, nameof(CheckpointMetadata));
            foreach ((string key, string item) in value)
            {
                if (Checkpoint.ReservedMetadataKeys.Contains(key))
                    throw new ArgumentException(
                        $"CheckpointMetadata may not use the key \"{key}\"; the checkpoint itself writes " +
                        $"{string.Join(", ", Checkpoint.ReservedMetadataKeys)}.", nameof(CheckpointMetadata));
                if (item is null)
                    throw new ArgumentNullException(nameof(CheckpointMetadata), $"CheckpointMetadata[\"{key}\"] is null.");
            }
            _checkpointMetadata = new Dictionary<string, string>(value, StringComparer.Ordinal).AsReadOnly();
        }
    }

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
