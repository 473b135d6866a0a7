namespace Nnk;

/// <summary>
/// The records of one CIFAR-10 binary batch file, split into labels and images. Returned by
/// <see cref="Cifar10File.Read"/>; immutable.
/// </summary>
public sealed class Cifar10Batch
{
    internal Cifar10Batch(byte[] labels, byte[] images)
    {
        Labels = labels;
        Images = images;
    }

    /// <summary>Number of records (images) in the batch; 10000 in each of the official files.</summary>
    public int Count => Labels.Length;

    /// <summary><see cref="Count"/> class labels, each 0 to 9. A read-only view, not a copy.</summary>
    public ReadOnlyMemory<byte> Labels { get; }

    /// <summary>
    /// <see cref="Count"/> images of <see cref="Cifar10File.ImageBytes"/> bytes each, every image in
    /// CHW order (3 x 32 x 32: the red plane, then green, then blue, each row-major), pixel values
    /// 0 to 255. A read-only view, not a copy.
    /// </summary>
    public ReadOnlyMemory<byte> Images { get; }

    /// <summary>The record count, for example <c>Cifar10Batch(10000 images)</c>.</summary>
    public override string ToString() => $"Cifar10Batch({Count} images)";
}
