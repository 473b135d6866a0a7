namespace Nnk;

/// <summary>Finds a dataset's files in the directory the user named, trying each accepted name in turn.</summary>
internal static class DatasetFiles
{
    /// <exception cref="ArgumentException">The directory is null or empty.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static void RequireDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The dataset directory '{directory}' does not exist.");
    }

    /// <summary>The first of <paramref name="candidates"/> (paths relative to <paramref name="directory"/>)
    /// that exists.</summary>
    /// <exception cref="FileNotFoundException">None exists; the message lists every name tried and the directory.</exception>
    public static string Find(string directory, string datasetName, string what, params ReadOnlySpan<string> candidates)
    {
        foreach (string candidate in candidates)
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException(
            $"The {datasetName} {what} file is missing from '{directory}': tried {string.Join(", ", candidates.ToArray())}.",
            Path.Combine(directory, candidates[0]));
    }
}
