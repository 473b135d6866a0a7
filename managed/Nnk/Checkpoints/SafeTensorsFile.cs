namespace Nnk;

/// <summary>What <see cref="SafeTensors.Read"/> returns: the tensors and the string metadata of one file.</summary>
public sealed class SafeTensorsFile
{
    internal SafeTensorsFile(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The full path the file was read from, for messages.</summary>
    public string Path { get; }

    /// <summary>The tensors by name, in the order their data lies in the file.</summary>
    public IReadOnlyDictionary<string, SafeTensor> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
