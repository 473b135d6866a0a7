using Nnk.Cli.Options;

namespace Nnk.Cli.Runtime;

/// <summary>Applies <see cref="RuntimeSettings"/> to the process and reports what is in force.</summary>
internal static class RuntimeSetup
{
    /// <summary>Sets the thread count, loads the BLAS asked for (native backend) and returns what runs.</summary>
    /// <exception cref="InvalidOperationException">The BLAS or the native library cannot be loaded; the message says
    /// what was tried.</exception>
    public static RuntimeInfo Apply(RuntimeSettings settings)
    {
        if (settings.Threads is int threads)
            NnkRuntime.NumThreads = threads;
        string? blas = null, core = null;
        if (settings.Backend == Backend.Native)
        {
            if (settings.Blas is not null)
                NnkRuntime.SelectBlas(settings.Blas);
            blas = NnkRuntime.Blas;
            core = NnkRuntime.BlasCore;
        }
        return new RuntimeInfo(settings.BackendName, blas, NnkRuntime.NumThreads, settings.DTypeName, core);
    }
}

/// <summary>What a run uses, as reports and summaries name it.</summary>
/// <param name="Backend">native or managed.</param>
/// <param name="Blas">The BLAS the native kernels call; null on the managed backend, which calls none.</param>
/// <param name="Threads">Threads the kernels may use.</param>
/// <param name="DType">float32 or float64.</param>
/// <param name="BlasCore">The kernel family the BLAS reports (OpenBLAS's SkylakeX, Haswell, ...); null or empty when
/// there is none to report.</param>
internal sealed record RuntimeInfo(string Backend, string? Blas, int Threads, string DType, string? BlasCore = null)
{
    /// <summary>For example <c>native backend, BLAS openblas (SkylakeX kernels), 2 threads, float32</c>.</summary>
    public override string ToString() =>
        $"{Backend} backend, {(Blas is null ? "no BLAS" : $"BLAS {Blas}{(string.IsNullOrEmpty(BlasCore) ? "" : $" ({BlasCore} kernels)")}")}, " +
        $"{Threads} thread{(Threads == 1 ? "" : "s")}, {DType}";
}
