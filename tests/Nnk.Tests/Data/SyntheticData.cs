using Nnk;

namespace Nnk.Tests.Data;

/// <summary>Small datasets in the real file formats, with seeded pixels and labels 0..9.</summary>
internal static class SyntheticData
{
    public const int MnistPixels = 28 * 28;

    public static byte[] Pixels(int images, int pixelsPerImage, int seed)
    {
        var bytes = new byte[images * pixelsPerImage];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Labels(int count, int seed)
    {
        var random = new Random(seed);
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
            labels[i] = (byte)random.Next(10);
        return labels;
    }

    /// <summary>The four MNIST IDX files in <paramref name="directory"/>; returns what they hold.</summary>
    public static DatasetBytes WriteMnist(string directory, int train, int test, bool gzip = false)
    {
        var data = new DatasetBytes(Pixels(train, MnistPixels, 1), Labels(train, 2), Pixels(test, MnistPixels, 3), Labels(test, 4));
        string suffix = gzip ? ".gz" : "";
        IdxFile.Write(Path.Combine(directory, "train-images-idx3-ubyte" + suffix), [train, 28, 28], data.TrainImages, gzip);
        IdxFile.Write(Path.Combine(directory, "train-labels-idx1-ubyte" + suffix), [train], data.TrainLabels, gzip);
        IdxFile.Write(Path.Combine(directory, "t10k-images-idx3-ubyte" + suffix), [test, 28, 28], data.TestImages, gzip);
        IdxFile.Write(Path.Combine(directory, "t10k-labels-idx1-ubyte" + suffix), [test], data.TestLabels, gzip);
        return data;
    }

    /// <summary>Five training batches of <paramref name="perBatch"/> records and a test batch in
    /// <paramref name="directory"/>; returns what they hold, the training batches concatenated in order.</summary>
    public static DatasetBytes WriteCifar10(string directory, int perBatch, int test)
    {
        Directory.CreateDirectory(directory);
        byte[] trainImages = Pixels(5 * perBatch, Cifar10File.ImageBytes, 5);
        byte[] trainLabels = Labels(5 * perBatch, 6);
        for (int b = 0; b < 5; b++)
            Cifar10File.Write(Path.Combine(directory, $"data_batch_{b + 1}.bin"),
                trainLabels.AsSpan(b * perBatch, perBatch),
                trainImages.AsSpan(b * perBatch * Cifar10File.ImageBytes, perBatch * Cifar10File.ImageBytes));
        var data = new DatasetBytes(trainImages, trainLabels, Pixels(test, Cifar10File.ImageBytes, 7), Labels(test, 8));
        Cifar10File.Write(Path.Combine(directory, "test_batch.bin"), data.TestLabels, data.TestImages);
        return data;
    }

    /// <summary>A dataset's bytes as its files hold them: images one after another, one label per image.</summary>
    public sealed record DatasetBytes(byte[] TrainImages, byte[] TrainLabels, byte[] TestImages, byte[] TestLabels);
}
