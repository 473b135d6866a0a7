namespace Nnk;

/// <summary>
/// Reads MNIST or Fashion-MNIST from its four IDX files (<c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>,
/// each raw or with a <c>.gz</c> suffix) and checks that they form a dataset.
/// </summary>
internal static class MnistDataset
{
    private const int Side = 28;
    private const int NumClasses = 10;

    public static RawDataset Read(DatasetKind kind, string directory)
    {
        string name = kind == DatasetKind.FashionMnist ? "Fashion-MNIST" : "MNIST";
        var (trainImages, trainLabels, trainSource) = ReadPair(directory, name, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
        var (testImages, testLabels, testSource) = ReadPair(directory, name, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
        return new RawDataset(kind, name, [1, Side, Side],
            trainImages, trainLabels, trainSource, testImages, testLabels, testSource);
    }

    private static (ReadOnlyMemory<byte> Images, ReadOnlyMemory<byte> Labels, string Source) ReadPair(
        string directory, string name, string imagesName, string labelsName)
    {
        string imagesPath = DatasetFiles.Find(directory, name, "images", imagesName, imagesName + ".gz");
        string labelsPath = DatasetFiles.Find(directory, name, "labels", labelsName, labelsName + ".gz");
        IdxArray images = IdxFile.Read(imagesPath);
        IdxArray labels = IdxFile.Read(labelsPath);

        TensorShape imageDims = images.Dimensions;
        if (imageDims.Rank != 3 || imageDims[1] != Side || imageDims[2] != Side)
            throw new InvalidDataException(
                $"'{imagesPath}' has dimensions {imageDims}, but {name} images are (N, {Side}, {Side}) " +
                $"(their labels are in '{labelsPath}').");
        if (labels.Dimensions.Rank != 1)
            throw new InvalidDataException(
                $"'{labelsPath}' has dimensions {labels.Dimensions}, but {name} labels are (N,) " +
                $"(one per image of '{imagesPath}').");
        if (labels.Dimensions[0] != imageDims[0])
            throw new InvalidDataException(
                $"'{imagesPath}' holds {imageDims[0]} images but '{labelsPath}' holds {labels.Dimensions[0]} labels; " +
                "there must be one label per image.");
        int bad = labels.Data.Span.IndexOfAnyInRange((byte)NumClasses, byte.MaxValue);
        if (bad >= 0)
            throw new InvalidDataException(
                $"'{labelsPath}' gives image {bad} of '{imagesPath}' the label {labels.Data.Span[bad]}; " +
                $"{name} labels are 0 to {NumClasses - 1}.");
        return (images.Data, labels.Data, $"'{imagesPath}' and '{labelsPath}'");
    }
}
