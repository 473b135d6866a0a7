namespace Nnk.Tests.Cli;

/// <summary>
/// Where the built <c>nnk</c> apphost is: next to Nnk.Cli.dll, in this test assembly's configuration,
/// else in Release or Debug (the sanitized run copies the test assembly out of its bin folder).
/// </summary>
internal static class NnkExecutable
{
    public static string Path
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // .../bin/<Configuration>/net10.0/
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(directory.FullName, "Native.sln")))
                {
                    string[] candidates = [.. new[] { configuration, "Release", "Debug" }.Distinct()
                        .Select(c => System.IO.Path.Combine(directory.FullName, "managed", "Nnk.Cli", "bin", c, "net10.0", "nnk"))];
                    string? path = candidates.FirstOrDefault(File.Exists);
                    Assert.True(path is not null, $"the nnk executable should have been built at {candidates[0]}");
                    return path!;
                }
            }
            throw new InvalidOperationException($"No Native.sln above {AppContext.BaseDirectory}.");
        }
    }
}
