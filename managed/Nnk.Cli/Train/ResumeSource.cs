using Nnk.Cli.Options;

namespace Nnk.Cli.Train;

/// <summary>The checkpoint <c>--resume</c> names, and the <c>nnk train</c> settings stored in it, if any.</summary>
/// <param name="Path">The checkpoint file.</param>
/// <param name="Settings">The settings of the run that wrote it; null for a checkpoint written otherwise, whose
/// model and options must then be given on the command line.</param>
internal sealed record ResumeSource(string Path, CheckpointSettings? Settings)
{
    /// <summary>Reads the checkpoint <paramref name="fileOrDirectory"/> names: a file, or a directory whose latest
    /// <c>*_epoch_N.safetensors</c> is taken.</summary>
    /// <exception cref="FileNotFoundException">No such file, or no checkpoint in the directory.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or its stored settings are unreadable.</exception>
    public static ResumeSource Open(string fileOrDirectory)
    {
        string path = fileOrDirectory;
        if (Directory.Exists(fileOrDirectory))
        {
            path = LatestIn(fileOrDirectory)
                ?? throw new FileNotFoundException($"--resume: the directory '{fileOrDirectory}' holds no *_epoch_N.safetensors checkpoint.");
        }
        else if (!File.Exists(fileOrDirectory))
        {
            throw new FileNotFoundException($"--resume: the checkpoint '{fileOrDirectory}' does not exist.", fileOrDirectory);
        }
        SafeTensorsFile file = SafeTensors.Read(path);
        return new ResumeSource(path, CheckpointSettings.FromMetadata(file.Metadata, path));
    }

    // Checkpoint.FindLatest wants the checkpoint name; nnk train names them after the model.
    private static string? LatestIn(string directory) =>
        Choices.Models.Keys.Append("checkpoint")
            .Select(name => Checkpoint.FindLatest(directory, name))
            .Where(path => path is not null)
            .OrderByDescending(path => File.GetLastWriteTimeUtc(path!))
            .FirstOrDefault();
}
