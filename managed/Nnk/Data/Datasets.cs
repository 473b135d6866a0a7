using System.Numerics;

namespace Nnk;

/// <summary>
/// Loads MNIST, Fashion-MNIST or CIFAR-10 from a directory and returns its training, validation and
/// test splits, preprocessed as the seeds' <c>get_CIFAR10_data</c>: NCHW inputs of
/// float or double, the training split's mean image subtracted from all three.
/// </summary>
/// <remarks>
/// MNIST and Fashion-MNIST: <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each raw or gzip, looked for under its
/// own name and then with a <c>.gz</c> suffix. CIFAR-10: <c>data_batch_1.bin</c> ... <c>data_batch_5.bin</c>
/// and <c>test_batch.bin</c>, in the directory or in its <c>cifar-10-batches-bin</c> subdirectory.
/// </remarks>
public static class Datasets
{
    /// <summary>Loads a dataset and cuts it into preprocessed splits.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="kind">Which dataset the directory holds.</param>
    /// <param name="directory">The directory holding the dataset's files.</param>
    /// <param name="options">Split sizes and preprocessing; null for the dataset's defaults
    /// (see <see cref="DataSplitOptions"/>).</param>
    /// <returns>The splits; inputs (N, 1, 28, 28) for MNIST and Fashion-MNIST, (N, 3, 32, 32) for CIFAR-10.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or empty, or more rows were
    /// requested than the files hold (the message gives both counts).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined value.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists the names tried and the directory.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, images and labels differ in count, images
    /// have the wrong dimensions, or a label is 10 or more; the message names the files.</exception>
    public static DataSplits<T> Load<T>(DatasetKind kind, string directory, DataSplitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        SplitPlan plan = SplitPlan.Resolve(kind, options);
        DatasetFiles.RequireDirectory(directory);
        RawDataset raw = kind == DatasetKind.Cifar10
            ? Cifar10Dataset.Read(directory)
            : MnistDataset.Read(kind, directory);
        return SplitBuilder.Build<T>(raw, plan);
    }

    /// <summary>Loads MNIST; the same as <see cref="Load{T}"/> with <see cref="DatasetKind.Mnist"/>.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="directory">The directory holding the four IDX files.</param>
    /// <param name="options">Split sizes and preprocessing; null for 59000 / 1000 / 10000 rows scaled to [0, 1].</param>
    /// <returns>The splits, inputs (N, 1, 28, 28).</returns>
    public static DataSplits<T> LoadMnist<T>(string directory, DataSplitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Load<T>(DatasetKind.Mnist, directory, options);

    /// <summary>Loads Fashion-MNIST; the same as <see cref="Load{T}"/> with <see cref="DatasetKind.FashionMnist"/>.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="directory">The directory holding the four IDX files, for example
    /// <c>/usr/share/datasets/fashion-mnist</c>.</param>
    /// <param name="options">Split sizes and preprocessing; null for 59000 / 1000 / 10000 rows scaled to [0, 1].</param>
    /// <returns>The splits, inputs (N, 1, 28, 28).</returns>
    public static DataSplits<T> LoadFashionMnist<T>(string directory, DataSplitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Load<T>(DatasetKind.FashionMnist, directory, options);

    /// <summary>Loads CIFAR-10; the same as <see cref="Load{T}"/> with <see cref="DatasetKind.Cifar10"/>.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="directory">The directory holding the binary batches, or holding <c>cifar-10-batches-bin</c>.</param>
    /// <param name="options">Split sizes and preprocessing; null for 49000 / 1000 / 1000 rows, pixels 0 to 255.</param>
    /// <returns>The splits, inputs (N, 3, 32, 32).</returns>
    public static DataSplits<T> LoadCifar10<T>(string directory, DataSplitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Load<T>(DatasetKind.Cifar10, directory, options);
}
