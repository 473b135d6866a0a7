namespace Nnk;

/// <summary>
/// Reads CIFAR-10 from its binary batches (<c>data_batch_1.bin</c> ... <c>data_batch_5.bin</c> as the
/// training data, in that order, and <c>test_batch.bin</c>), found in the directory itself or in its
/// <c>cifar-10-batches-bin</c> subdirectory (the name the official archive unpacks to).
/// </summary>
internal static class Cifar10Dataset
{
    private const string Name = "CIFAR-10";
    private const string ArchiveDirectory = "cifar-10-batches-bin";
    private const int TrainingBatches = 5;

    public static RawDataset Read(string directory)
    {
        var trainPaths = new string[TrainingBatches];
        for (int b = 0; b < TrainingBatches; b++)
            trainPaths[b] = Find(directory, $"data_batch_{b + 1}.bin", "training batch");
        string testPath = Find(directory, "test_batch.bin", "test batch");

        Cifar10Batch[] batches = Array.ConvertAll(trainPaths, Cifar10File.Read);
        Cifar10Batch test = Cifar10File.Read(testPath);

        long total = batches.Sum(batch => (long)batch.Count);
        if (total * Cifar10File.ImageBytes > Array.MaxLength)
            throw new InvalidDataException(
                $"The {Name} training batches in '{Path.GetDirectoryName(trainPaths[0])}' hold {total} images, more than " +
                $"one array can hold ({Array.MaxLength / Cifar10File.ImageBytes}).");
        var labels = new byte[total];
        var images = new byte[total * Cifar10File.ImageBytes];
        int offset = 0;
        foreach (Cifar10Batch batch in batches)
        {
            batch.Labels.Span.CopyTo(labels.AsSpan(offset));
            batch.Images.Span.CopyTo(images.AsSpan(offset * Cifar10File.ImageBytes));
            offset += batch.Count;
        }

        return new RawDataset(DatasetKind.Cifar10, Name, [Cifar10File.Channels, Cifar10File.Height, Cifar10File.Width],
            images, labels, string.Join(", ", trainPaths.Select(p => $"'{p}'")),
            test.Images, test.Labels, $"'{testPath}'");
    }

    private static string Find(string directory, string fileName, string what) =>
        DatasetFiles.Find(directory, Name, what, fileName, Path.Combine(ArchiveDirectory, fileName));
}
