using Nnk.Interop;

namespace Nnk;

/// <summary>Process-wide settings: threads, the default backend and the BLAS library.</summary>
public static class NnkRuntime
{
    private static int s_numThreads;

    /// <summary>Backend used when an operation is not given kernels explicitly; <see cref="Backend.Native"/> by default.</summary>
    public static Backend DefaultBackend { get; set; } = Backend.Native;

    /// <summary>
    /// Threads every kernel may use, on both backends (native OpenMP and BLAS together, and the
    /// managed parallel loops). Defaults to the native library's OpenMP default (OMP_NUM_THREADS
    /// or the core count), or the core count when the native library is absent.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int NumThreads
    {
        get
        {
            if (s_numThreads == 0)
                s_numThreads = NativeKernels.IsAvailable ? NnkNative.NumThreads : Environment.ProcessorCount;
            return s_numThreads;
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            if (NativeKernels.IsAvailable)
                NnkNative.NumThreads = value;
            s_numThreads = value;
        }
    }

    /// <summary>Version of the native library, for example <c>0.1.0</c>.</summary>
    public static string NativeVersion => NnkNative.Version;

    /// <summary>Name of the BLAS the native kernels use (<c>openblas</c>, <c>mkl</c> or a path); loads the default if none is loaded yet.</summary>
    public static string Blas
    {
        get
        {
            LoadDefaultBlasIfNone();
            return NnkNative.BlasName;
        }
    }

    /// <summary>
    /// Kernel family the BLAS reports running, as OpenBLAS names it (<c>SkylakeX</c> for its AVX-512
    /// kernels, <c>Haswell</c> or <c>Zen</c> for AVX2, ...); empty for a BLAS that reports none (MKL).
    /// nnk picks OpenBLAS's family from the CPU unless <c>OPENBLAS_CORETYPE</c> is set, so this shows
    /// whether a value inherited from the environment holds the kernels back. Loads the default BLAS
    /// if none is loaded yet.
    /// </summary>
    public static string BlasCore
    {
        get
        {
            LoadDefaultBlasIfNone();
            return NnkNative.BlasCore;
        }
    }

    private static void LoadDefaultBlasIfNone()
    {
        if (NnkNative.BlasName.Length == 0)
            NnkNative.SelectBlas(null);
    }

    /// <summary>
    /// Loads the BLAS the native kernels use: <c>openblas</c>, <c>mkl</c>, or a path to a shared
    /// library exporting <c>cblas_sgemm</c> and <c>cblas_dgemm</c>; null for the default
    /// (the NNK_BLAS environment variable, else OpenBLAS).
    /// </summary>
    /// <exception cref="InvalidOperationException">The library cannot be loaded; the message lists
    /// the paths tried and what to install.</exception>
    public static void SelectBlas(string? nameOrPath) => NnkNative.SelectBlas(nameOrPath);
}
