using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Nnk.Interop;

/// <summary>
/// Finds <c>libnnk.so</c> for the <c>"nnk"</c> imports of this assembly: next to the assembly,
/// then under <c>runtimes/linux-x64/native/</c>, then at <c>NNK_NATIVE_PATH</c>. On failure the
/// exception lists every path tried and why it failed, as TorchSharp's loader does.
/// </summary>
internal static class NativeLibraryResolver
{
    internal const string LibraryName = "nnk";
    internal const string FileName = "libnnk.so";
    internal const string PathVariable = "NNK_NATIVE_PATH";

    private static readonly Lock Gate = new();
    private static nint handle;

    // A library may use a module initializer here: the resolver must be installed before the
    // first P/Invoke of this assembly, and no caller can be trusted to do it first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName)
        {
            return 0;
        }
        lock (Gate)
        {
            if (handle == 0)
            {
                handle = Load(Candidates());
            }
            return handle;
        }
    }

    /// <summary>The paths to try, in order, without duplicates.</summary>
    internal static IReadOnlyList<string> Candidates()
    {
        var directories = new List<string>();
        string? assemblyDirectory = Path.GetDirectoryName(typeof(NativeLibraryResolver).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDirectory))
        {
            directories.Add(assemblyDirectory);
        }
        directories.Add(AppContext.BaseDirectory);

        var candidates = new List<string>();
        foreach (string directory in directories)
        {
            candidates.Add(Path.Combine(directory, FileName));
        }
        foreach (string directory in directories)
        {
            candidates.Add(Path.Combine(directory, "runtimes", "linux-x64", "native", FileName));
        }
        string? fromEnvironment = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            candidates.Add(Directory.Exists(fromEnvironment) ? Path.Combine(fromEnvironment, FileName) : fromEnvironment);
        }
        return candidates.Select(Path.GetFullPath).Distinct().ToList();
    }

    /// <summary>Loads the first candidate that loads, or throws with the reason each one failed.</summary>
    internal static nint Load(IReadOnlyList<string> candidates)
    {
        var trace = new StringBuilder();
        foreach (string path in candidates)
        {
            if (!File.Exists(path))
            {
                trace.Append("\n  ").Append(path).Append(": file does not exist");
                continue;
            }
            try
            {
                return NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                // The runtime's message ends with the dlerror() text; the lines before it are generic advice.
                string reason = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
                trace.Append("\n  ").Append(path).Append(": ").Append(reason);
            }
        }
        throw new DllNotFoundException(
            $"Could not load {FileName}. Tried:{trace}\n" +
            $"Build it from the repository root with `cmake -S . -B build && cmake --build build` " +
            $"(or `dotnet build Native.sln`, which runs CMake and copies it next to the assemblies), " +
            $"or set {PathVariable} to the library file or the directory holding it.");
    }
}
