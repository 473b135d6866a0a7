using Nnk.Interop;

namespace Nnk.Tests.Interop;

public class NativeLibraryResolverTests
{
    [Fact]
    public void Candidates_StartNextToAssembly_ThenRuntimesFolder()
    {
        string directory = Path.GetDirectoryName(typeof(NnkNative).Assembly.Location)!;

        IReadOnlyList<string> candidates = NativeLibraryResolver.Candidates();

        Assert.Equal(Path.Combine(directory, "libnnk.so"), candidates[0]);
        Assert.Contains(Path.Combine(directory, "runtimes", "linux-x64", "native", "libnnk.so"), candidates);
    }

    [Fact]
    public void Load_ListsEveryPathTriedAndWhy_WhenNoneLoads()
    {
        string directory = Directory.CreateTempSubdirectory("nnk-resolver-").FullName;
        try
        {
            string missing = Path.Combine(directory, "missing", "libnnk.so");
            string notElf = Path.Combine(directory, "libnnk.so");
            File.WriteAllText(notElf, "not a shared library");

            var e = Assert.Throws<DllNotFoundException>(() => NativeLibraryResolver.Load([missing, notElf]));

            Assert.Contains($"{missing}: file does not exist", e.Message);
            Assert.Contains($"{notElf}: ", e.Message);
            Assert.Contains("cmake -S . -B build && cmake --build build", e.Message);
            Assert.Contains("NNK_NATIVE_PATH", e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
