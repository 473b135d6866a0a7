namespace Nnk;

/// <summary>
/// Reads and writes CIFAR-10 binary batches (<c>data_batch_1.bin</c> ... <c>data_batch_5.bin</c>,
/// <c>test_batch.bin</c>): a sequence of records, each one label byte (0 to 9) followed by a
/// 3 x 32 x 32 image in CHW order.
/// </summary>
public static class Cifar10File
{
    /// <summary>Colour channels of an image.</summary>
    public const int Channels = 3;

    /// <summary>Image height in pixels.</summary>
    public const int Height = 32;

    /// <summary>Image width in pixels.</summary>
    public const int Width = 32;

    /// <summary>Bytes of one image: <see cref="Channels"/> x <see cref="Height"/> x <see cref="Width"/> = 3072.</summary>
    public const int ImageBytes = Channels * Height * Width;

    /// <summary>Bytes of one record: the label byte and the image, 3073.</summary>
    public const int RecordBytes = 1 + ImageBytes;

    /// <summary>Number of classes; labels lie in [0, <see cref="NumClasses"/>).</summary>
    public const int NumClasses = 10;

    /// <summary>Reads a whole batch file, checking its length and every label.</summary>
    /// <param name="path">The batch file to read.</param>
    /// <returns>The labels and images, which the result owns.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file is empty, its length is not a multiple of
    /// <see cref="RecordBytes"/>, or a label is 10 or more; the message names the file and gives the
    /// expected and the actual value.</exception>
    public static Cifar10Batch Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The CIFAR-10 batch '{path}' does not exist.", path);
        long length = new FileInfo(path).Length;
        if (length == 0 || length % RecordBytes != 0)
            throw new InvalidDataException(
                $"'{path}' has {length} bytes, but a CIFAR-10 batch is a non-zero whole number of {RecordBytes}-byte " +
                $"records (1 label byte and {ImageBytes} pixel bytes): {length} = {length / RecordBytes} x {RecordBytes} " +
                $"+ {length % RecordBytes}.");
        if (length / RecordBytes * ImageBytes > Array.MaxLength)
            throw new InvalidDataException(
                $"'{path}' holds {length / RecordBytes} records, whose images exceed {Array.MaxLength} bytes, " +
                "the most one array can hold.");

        byte[] records = File.ReadAllBytes(path);
        if (records.Length != length)
            throw new InvalidDataException(
                $"'{path}' changed while it was read: it had {length} bytes, then {records.Length}.");
        int count = records.Length / RecordBytes;
        var labels = new byte[count];
        var images = new byte[(long)count * ImageBytes];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> record = records.AsSpan(i * RecordBytes, RecordBytes);
            if (record[0] >= NumClasses)
                throw new InvalidDataException(
                    $"'{path}' record {i} (byte offset {(long)i * RecordBytes}) has label {record[0]}; " +
                    $"CIFAR-10 labels are 0 to {NumClasses - 1}.");
            labels[i] = record[0];
            record[1..].CopyTo(images.AsSpan(i * ImageBytes, ImageBytes));
        }
        return new Cifar10Batch(labels, images);
    }

    /// <summary>Writes records as a CIFAR-10 batch file, replacing any file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="labels">One label per image, each 0 to 9; at least one.</param>
    /// <param name="images"><paramref name="labels"/>.Length images of <see cref="ImageBytes"/> bytes,
    /// each in CHW order.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, there are no labels,
    /// a label is 10 or more, or the image bytes are not <see cref="ImageBytes"/> per label.</exception>
    public static void Write(string path, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> images)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (labels.IsEmpty)
            throw new ArgumentException("A CIFAR-10 batch needs at least one record, but no labels were given.", nameof(labels));
        if (images.Length != (long)labels.Length * ImageBytes)
            throw new ArgumentException(
                $"{labels.Length} labels need {(long)labels.Length * ImageBytes} image bytes ({ImageBytes} each), " +
                $"but {images.Length} were given.", nameof(images));
        int bad = labels.IndexOfAnyInRange((byte)NumClasses, byte.MaxValue);
        if (bad >= 0)
            throw new ArgumentException(
                $"Label {bad} is {labels[bad]}; CIFAR-10 labels are 0 to {NumClasses - 1}.", nameof(labels));

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        for (int i = 0; i < labels.Length; i++)
        {
            file.WriteByte(labels[i]);
            file.Write(images.Slice(i * ImageBytes, ImageBytes));
        }
    }
}
