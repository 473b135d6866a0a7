namespace Nnk;

/// <summary>
/// <see cref="DataSplitOptions"/> with every default filled in for one dataset: the split sizes and
/// preprocessing <see cref="SplitBuilder"/> carries out.
/// </summary>
internal readonly record struct SplitPlan(int NumTraining, int NumValidation, int NumTest, bool SubtractMean, bool Scale)
{
    /// <summary>The seeds' <c>get_CIFAR10_data</c> defaults for CIFAR-10 (49000 / 1000 / 1000, unscaled);
    /// for the MNIST family all 60000 training images but the last 1000, the whole test set, scaled to [0, 1]
    /// as the MNIST seed does.</summary>
    public static SplitPlan Resolve(DatasetKind kind, DataSplitOptions? options)
    {
        options ??= new DataSplitOptions();
        SplitPlan defaults = kind switch
        {
            DatasetKind.Mnist or DatasetKind.FashionMnist => new SplitPlan(59000, 1000, 10000, true, true),
            DatasetKind.Cifar10 => new SplitPlan(49000, 1000, 1000, true, false),
            _ => throw new ArgumentOutOfRangeException(
                nameof(kind), kind, $"Unknown dataset {kind}; expected one of {string.Join(", ", Enum.GetNames<DatasetKind>())}."),
        };
        return new SplitPlan(
            options.NumTraining ?? defaults.NumTraining,
            options.NumValidation ?? defaults.NumValidation,
            options.NumTest ?? defaults.NumTest,
            options.SubtractMean,
            options.Scale ?? defaults.Scale);
    }
}
