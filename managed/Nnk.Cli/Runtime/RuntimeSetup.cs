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
        string? blas = null;
        if (settings.Backend == Backend.Native)
        {
            if (settings.Blas is not null)
                NnkRuntime.SelectBlas(settings.Blas);
            blas = NnkRuntime.Blas;
        }
        return new RuntimeInfo(settings.BackendName, blas, NnkRuntime.NumThreads, settings.DTypeName);
    }
}

/// <summary>What a run uses, as reports and summaries name it.</summary>
/// <param name="Backend">native or managed.</param>
/// <param name="Blas">The BLAS the native kernels call; null on the managed backend, which calls none.</param>
/// <param name="Threads">Threads the kernels may use.</param>
/// <param name="DType">float32 or float64.</param>
internal sealed record RuntimeInfo(string Backend, string? Blas, int Threads, string DType)
{
    /// <summary>For example <c>native backend, openblas, 2 threads, float32</c>.</summary>
    public override string ToString() =>
        $"{Backend} backend, {(Blas is null ? "no BLAS" : $"BLAS {Blas}")}, {Threads} thread{(Threads == 1 ? "" : "s")}, {DType}";
}
