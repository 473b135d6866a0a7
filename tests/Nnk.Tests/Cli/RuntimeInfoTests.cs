using Nnk.Cli.Runtime;

namespace Nnk.Tests.Cli;

/// <summary>The line the nnk command prints about what runs names the BLAS's kernel family when it
/// reports one, so that kernels held back by an inherited OPENBLAS_CORETYPE show.</summary>
public class RuntimeInfoTests
{
    [Theory]
    [InlineData("native", "openblas", 2, "float32", "SkylakeX", "native backend, BLAS openblas (SkylakeX kernels), 2 threads, float32")]
    [InlineData("native", "openblas", 1, "float64", "Haswell", "native backend, BLAS openblas (Haswell kernels), 1 thread, float64")]
    [InlineData("native", "mkl", 2, "float32", "", "native backend, BLAS mkl, 2 threads, float32")]
    [InlineData("native", "mkl", 2, "float32", null, "native backend, BLAS mkl, 2 threads, float32")]
    [InlineData("managed", null, 1, "float64", null, "managed backend, no BLAS, 1 thread, float64")]
    public void ToString_NamesBackendBlasKernelsThreadsAndType(string backend, string? blas, int threads, string dtype,
        string? core, string expected) =>
        Assert.Equal(expected, new RuntimeInfo(backend, blas, threads, dtype, core).ToString());
}
