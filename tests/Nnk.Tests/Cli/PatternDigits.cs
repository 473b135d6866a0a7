using Nnk;

namespace Nnk.Tests.Cli;

/// <summary>
/// A small MNIST-format dataset a network can learn in a few iterations: an image of class k (0..9)
/// is noise in 0..59 with a bright horizontal bar on rows 3 + 2k and 4 + 2k.
/// </summary>
internal static class PatternDigits
{
    public const int Side = 28;

    /// <summary>Writes the four IDX files (raw) into <paramref name="directory"/>, creating it.</summary>
    public static void Write(string directory, int train = 300, int test = 50)
    {
        Directory.CreateDirectory(directory);
        (byte[] trainImages, byte[] trainLabels) = Make(train, seed: 11);
        (byte[] testImages, byte[] testLabels) = Make(test, seed: 12);
        IdxFile.Write(Path.Combine(directory, "train-images-idx3-ubyte"), [train, Side, Side], trainImages, gzip: false);
        IdxFile.Write(Path.Combine(directory, "train-labels-idx1-ubyte"), [train], trainLabels, gzip: false);
        IdxFile.Write(Path.Combine(directory, "t10k-images-idx3-ubyte"), [test, Side, Side], testImages, gzip: false);
        IdxFile.Write(Path.Combine(directory, "t10k-labels-idx1-ubyte"), [test], testLabels, gzip: false);
    }

    private static (byte[] Images, byte[] Labels) Make(int count, int seed)
    {
        var random = new Random(seed);
        var images = new byte[count * Side * Side];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % 10;
            labels[i] = (byte)label;
            Span<byte> image = images.AsSpan(i * Side * Side, Side * Side);
            for (int p = 0; p < image.Length; p++)
                image[p] = (byte)random.Next(60);
            for (int row = 3 + 2 * label; row <= 4 + 2 * label; row++)
                image.Slice(row * Side, Side).Fill(255);
        }
        return (images, labels);
    }
}
