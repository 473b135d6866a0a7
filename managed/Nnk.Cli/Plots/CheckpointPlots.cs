using Nnk.Cli.Data;
using Nnk.Cli.Options;
using Nnk.Cli.Reports;
using Nnk.Cli.Train;

namespace Nnk.Cli.Plots;

/// <summary>
/// Draws the training figures from a Solver checkpoint: <c>history.loss</c>, <c>history.train_acc</c> and
/// <c>history.val_acc</c> for training.png, and <c>best.W1</c> (else <c>W1</c>) for filters.png. A fully
/// connected W1 needs the input shape, which a checkpoint of <c>nnk train</c> gives through its stored settings.
/// </summary>
internal static class CheckpointPlots
{
    /// <summary>Writes the figures of the checkpoint <paramref name="path"/> into <paramref name="directory"/>.</summary>
    /// <returns>The paths written.</returns>
    /// <exception cref="InvalidDataException">The file is not valid safetensors or holds no solver histories.</exception>
    public static IReadOnlyList<string> Save(string path, string directory)
    {
        SafeTensorsFile file = SafeTensors.Read(path);
        var history = new TrainHistory(History(file, "loss"), History(file, "train_acc"), History(file, "val_acc"));
        CheckpointSettings? settings = CheckpointSettings.FromMetadata(file.Metadata, path);
        int[]? inputShape = settings is not null && Choices.Datasets.TryGetValue(settings.Dataset, out DatasetKind dataset)
            ? DatasetShapes.InputShape(dataset)
            : null;
        FilterSet? filters = file.Tensors.TryGetValue("best.W1", out SafeTensor? w1) || file.Tensors.TryGetValue("W1", out w1)
            ? w1.DType switch
            {
                SafeTensorsDType.F32 => FirstLayerFilters.FromWeights(w1.ToTensor<float>(), inputShape),
                SafeTensorsDType.F64 => FirstLayerFilters.FromWeights(w1.ToTensor<double>(), inputShape),
                _ => null,
            }
            : null;
        string title = settings is null
            ? Path.GetFileName(path)
            : $"{settings.Model} on {settings.Dataset} ({Path.GetFileName(path)})";
        return ReportPlots.SaveTraining(directory, title, history, filters);
    }

    private static double[] History(SafeTensorsFile file, string name)
    {
        if (!file.Tensors.TryGetValue("history." + name, out SafeTensor? tensor) || tensor.DType != SafeTensorsDType.F64)
            throw new InvalidDataException(
                $"'{file.Path}' holds no F64 tensor \"history.{name}\"; nnk plot reads checkpoints written by the Solver (nnk train --checkpoint).");
        return tensor.ToArray<double>();
    }
}
