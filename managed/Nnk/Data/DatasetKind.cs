namespace Nnk;

/// <summary>The image-classification datasets <see cref="Datasets"/> can load; each has 10 classes.</summary>
public enum DatasetKind
{
    /// <summary>Handwritten digits: 28 x 28 greyscale, 60000 training and 10000 test images, in IDX files.</summary>
    Mnist,

    /// <summary>Zalando's clothing images, laid out exactly as <see cref="Mnist"/> (IDX files of the same names).</summary>
    FashionMnist,

    /// <summary>32 x 32 colour images, 50000 training (five batches) and 10000 test, in CIFAR-10 binary batches.</summary>
    Cifar10,
}
