namespace Nnk.Tests;

/// <summary>The repository checkout the tests run from (the directory holding <c>Native.sln</c>).</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Native.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Native.sln above {AppContext.BaseDirectory}.");
    }
}
