namespace Nnk.Tests.Cli;

/// <summary>Where the built <c>nnk</c> apphost is: next to Nnk.Cli.dll, in this test assembly's configuration.</summary>
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
                    string path = System.IO.Path.Combine(directory.FullName, "managed", "Nnk.Cli", "bin", configuration, "net10.0", "nnk");
                    Assert.True(File.Exists(path), $"the nnk executable should have been built at {path}");
                    return path;
                }
            }
            throw new InvalidOperationException($"No Native.sln above {AppContext.BaseDirectory}.");
        }
    }
}
