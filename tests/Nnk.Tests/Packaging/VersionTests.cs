using System.Reflection;
using Nnk.Interop;

namespace Nnk.Tests.Packaging;

/// <summary>
/// The repository's VERSION file is the one source of the version: libnnk's <c>nnk_version()</c>,
/// the assemblies and the NuGet package (whose version is the informational version without its
/// <c>+commit</c> suffix) must all say the same.
/// </summary>
public class VersionTests
{
    [Fact]
    public void NativeVersion_MatchesVersionFile()
    {
        string expected = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "VERSION")).Trim();

        Assert.Equal(expected, NnkNative.Version);
        Assert.Equal(expected, NnkRuntime.NativeVersion);
    }

    [Theory]
    [InlineData(typeof(Tensor<float>))]
    [InlineData(typeof(NnkNative))]
    public void PackageVersionOfAssembly_MatchesNativeVersion(Type typeInAssembly)
    {
        Assembly assembly = typeInAssembly.Assembly;
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.NotNull(informational);
        string packageVersion = informational.Split('+')[0];

        Assert.Equal(NnkRuntime.NativeVersion, packageVersion);
        Assert.Equal(new Version(NnkRuntime.NativeVersion + ".0"), assembly.GetName().Version);
    }
}
