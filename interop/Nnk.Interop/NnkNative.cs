using System.Text;

namespace Nnk.Interop;

/// <summary>
/// Thin, checked access to libnnk over spans: pins buffers, checks their lengths against the
/// geometry, calls the generated <see cref="NativeMethods"/> and turns a failing status into an
/// exception carrying the native message. The library never keeps a pointer after a call
/// returns, so callers keep ownership of every buffer.
/// </summary>
internal static unsafe partial class NnkNative
{
    /// <summary>Version of the loaded libnnk as <c>"MAJOR.MINOR.PATCH"</c>.</summary>
    public static string Version => NnkErrors.Utf8(NativeMethods.nnk_version());

    /// <summary>
    /// Threads the kernels use, OpenMP and BLAS together (process-wide). Defaults to the OpenMP
    /// default (<c>OMP_NUM_THREADS</c> or the core count).
    /// </summary>
    /// <exception cref="ArgumentException">The value set is less than 1.</exception>
    public static int NumThreads
    {
        get => NativeMethods.nnk_get_num_threads();
        set => NnkErrors.ThrowIfFailed(NativeMethods.nnk_set_num_threads(value), nameof(value));
    }

    /// <summary>
    /// Name of the loaded BLAS (<c>"openblas"</c>, <c>"mkl"</c> or the path given to
    /// <see cref="SelectBlas"/>), or an empty string while none is loaded.
    /// </summary>
    public static string BlasName => NnkErrors.Utf8(NativeMethods.nnk_blas_name());

    /// <summary>
    /// Kernel family the loaded BLAS reports running (OpenBLAS's name: <c>"SkylakeX"</c>,
    /// <c>"Haswell"</c>, ...), or an empty string while none is loaded or for a BLAS that reports
    /// none (MKL).
    /// </summary>
    public static string BlasCore => NnkErrors.Utf8(NativeMethods.nnk_blas_core());

    /// <summary>
    /// Loads a BLAS for every later kernel call: <c>"openblas"</c>, <c>"mkl"</c>, a path to a shared
    /// library exporting <c>cblas_sgemm</c> and <c>cblas_dgemm</c>, or <see langword="null"/> for
    /// the default (the <c>NNK_BLAS</c> environment variable, else OpenBLAS). Kernels load the
    /// default lazily; call this to choose another or to see a loading error early.
    /// </summary>
    /// <param name="nameOrPath">A BLAS name or library path, or <see langword="null"/> for the default.</param>
    /// <exception cref="ArgumentException"><paramref name="nameOrPath"/> contains a NUL character or is rejected by the library.</exception>
    /// <exception cref="InvalidOperationException">The BLAS cannot be loaded; the message says what to install.</exception>
    public static void SelectBlas(string? nameOrPath)
    {
        if (nameOrPath is null)
        {
            NnkErrors.ThrowIfFailed(NativeMethods.nnk_blas_select(null), nameof(nameOrPath));
            return;
        }
        if (nameOrPath.Contains('\0'))
        {
            throw new ArgumentException("A BLAS name or path cannot contain a NUL character.", nameof(nameOrPath));
        }
        // NUL-terminated UTF-8, marshalled here so the generated import stays blittable.
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(nameOrPath) + 1];
        Encoding.UTF8.GetBytes(nameOrPath, utf8);
        fixed (byte* text = utf8)
        {
            NnkErrors.ThrowIfFailed(NativeMethods.nnk_blas_select((sbyte*)text), nameof(nameOrPath));
        }
    }

    /// <summary>
    /// Throws unless <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>, the
    /// two element types every kernel exists for, so that a wrapper's <c>typeof(T) == typeof(float)</c>
    /// test leaves only double for its else branch. The JIT folds all of these tests away.
    /// </summary>
    private static void ThrowIfUnsupported<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"libnnk kernels take float or double elements, not {typeof(T).Name}.");
        }
    }
}
