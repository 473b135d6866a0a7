namespace Nnk.Tests.Checkpoints;

/// <summary>A fresh directory under the system's temporary directory, deleted with its contents on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("nnk-ckpt-").FullName;

    public string Path { get; }

    /// <summary>The full path of <paramref name="name"/> inside this directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
