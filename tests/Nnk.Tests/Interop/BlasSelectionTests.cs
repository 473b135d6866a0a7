using Nnk.Interop;

namespace Nnk.Tests.Interop;

/// <summary>
/// A BLAS that cannot be loaded surfaces as an <see cref="InvalidOperationException"/> carrying the
/// native message: the paths tried and what to install. A failed selection keeps the BLAS in use.
/// (tests/consumer/run.sh also runs an app with OpenBLAS hidden and checks what the user sees.)
/// </summary>
public class BlasSelectionTests
{
    [Fact]
    public void SelectBlas_MissingLibrary_ThrowsInvalidOperationNamingPathAndSymbols_AndKeepsCurrentBlas()
    {
        string before = NnkRuntime.Blas;
        const string missing = "/nonexistent/libcblas-for-nnk-tests.so";

        var e = Assert.Throws<InvalidOperationException>(() => NnkRuntime.SelectBlas(missing));

        Assert.Contains(missing, e.Message);
        Assert.Contains("cblas_sgemm and cblas_dgemm", e.Message);
        Assert.Contains(nameof(nnk_status.NNK_ERROR_BLAS_UNAVAILABLE), e.Message);
        Assert.Equal(before, NnkRuntime.Blas);
    }

    // OpenBLAS reports the kernel family it runs; the process's OPENBLAS_CORETYPE (if any) chose it,
    // else nnk did from the CPU. The C tests check which family each case gives.
    [Fact]
    public void BlasCore_OfOpenblas_NamesTheFamilyItRuns_AndFollowsASwitch()
    {
        string before = NnkRuntime.Blas;
        try
        {
            NnkRuntime.SelectBlas("openblas");
            string core = NnkRuntime.BlasCore;
            Assert.False(string.IsNullOrWhiteSpace(core));
            string? forced = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
            if (forced is "Haswell" or "SkylakeX")
                Assert.Equal(forced, core);
        }
        finally
        {
            NnkRuntime.SelectBlas(before);
        }
    }

    // MKL is optional: where it is absent, the message must name the Debian package to install.
    [Fact]
    public void SelectBlas_Mkl_LoadsOrThrowsNamingPackageToInstall()
    {
        string before = NnkRuntime.Blas;
        try
        {
            NnkRuntime.SelectBlas("mkl");
            Assert.Equal("mkl", NnkRuntime.Blas);
        }
        catch (InvalidOperationException e)
        {
            Assert.Contains("BLAS mkl unavailable", e.Message);
            Assert.Contains("libmkl-rt", e.Message);
            Assert.Equal(before, NnkRuntime.Blas);
        }
        finally
        {
            NnkRuntime.SelectBlas(before);
        }
    }
}
