namespace Nnk;

/// <summary>
/// How <see cref="Datasets"/> cuts a dataset into training, validation and test splits and
/// preprocesses it, as the seeds' <c>get_CIFAR10_data(num_training, num_validation, num_test,
/// subtract_mean)</c>. A null value means the dataset's default. Every setter validates its value.
/// </summary>
/// <remarks>
/// Defaults: CIFAR-10 49000 / 1000 / 1000 rows, unscaled (pixels 0 to 255 as in the seeds);
/// MNIST and Fashion-MNIST 59000 / 1000 / 10000 rows, scaled to [0, 1]. Both subtract the mean image.
/// </remarks>
public sealed class DataSplitOptions
{
    private int? _numTraining;
    private int? _numValidation;
    private int? _numTest;

    /// <summary>Training rows: the first this many rows of the training files, at least 1; null for the
    /// dataset's default (49000 for CIFAR-10, 59000 for MNIST and Fashion-MNIST).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? NumTraining
    {
        get => _numTraining;
        set => _numTraining = NullOrAtLeastOne(value, nameof(NumTraining));
    }

    /// <summary>Validation rows: the rows of the training files right after the training rows, at least 1;
    /// null for the dataset's default (1000).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? NumValidation
    {
        get => _numValidation;
        set => _numValidation = NullOrAtLeastOne(value, nameof(NumValidation));
    }

    /// <summary>Test rows: the first this many rows of the test files, at least 1; null for the dataset's
    /// default (1000 for CIFAR-10, 10000 for MNIST and Fashion-MNIST).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? NumTest
    {
        get => _numTest;
        set => _numTest = NullOrAtLeastOne(value, nameof(NumTest));
    }

    /// <summary>True (the default) to subtract the per-pixel mean of the training split from all three
    /// splits, as the seeds' <c>subtract_mean</c>.</summary>
    public bool SubtractMean { get; set; } = true;

    /// <summary>
    /// True to scale pixel bytes to [0, 1] (divide by 255) before the mean is taken, false to keep them
    /// as 0 to 255, null (the default) for the dataset's convention: scaled for MNIST and Fashion-MNIST
    /// (as the MNIST seed's <c>/255</c>), unscaled for CIFAR-10 (as the seeds' <c>get_CIFAR10_data</c>,
    /// whose learning rates and weight scales assume 0 to 255 minus the mean).
    /// </summary>
    public bool? Scale { get; set; }

    private static int? NullOrAtLeastOne(int? value, string name) =>
        value is null or >= 1
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1 or null for the dataset's default; it was {value}.");
}
