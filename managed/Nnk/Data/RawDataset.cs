namespace Nnk;

/// <summary>
/// A dataset as its files hold it, before splitting: every training and test image as bytes, one
/// image after another, each of <see cref="SampleShape"/>, and one label byte per image. The
/// sources describe the files for error messages.
/// </summary>
internal sealed record RawDataset(
    DatasetKind Kind,
    string Name,
    int[] SampleShape,
    ReadOnlyMemory<byte> TrainImages,
    ReadOnlyMemory<byte> TrainLabels,
    string TrainSource,
    ReadOnlyMemory<byte> TestImages,
    ReadOnlyMemory<byte> TestLabels,
    string TestSource);
