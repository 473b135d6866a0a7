using System.Runtime.InteropServices;

namespace Nnk.Interop;

/// <summary>
/// Turns an <see cref="nnk_status"/> into an exception carrying the native message, the one
/// error path of every wrapper (TorchSharp's check-after-call, with a status instead of a flag).
/// </summary>
internal static unsafe class NnkErrors
{
    /// <summary>Throws unless <paramref name="status"/> is <see cref="nnk_status.NNK_OK"/>.</summary>
    /// <param name="status">What the native call returned.</param>
    /// <param name="paramName">The wrapper parameter to blame, when the call has only one suspect.</param>
    internal static void ThrowIfFailed(nnk_status status, string? paramName = null)
    {
        if (status != nnk_status.NNK_OK)
        {
            throw ToException(status, paramName);
        }
    }

    /// <summary>
    /// The exception for a failed call; its message is <c>nnk_last_error()</c> (thread-local, so
    /// it must be read on the thread that made the call, before any other native call) and the
    /// status name.
    /// </summary>
    internal static Exception ToException(nnk_status status, string? paramName = null)
    {
        string? detail = Utf8(NativeMethods.nnk_last_error());
        if (string.IsNullOrEmpty(detail))
        {
            detail = Utf8(NativeMethods.nnk_status_string(status));
        }
        string message = $"{detail} ({status})";
        return status switch
        {
            nnk_status.NNK_ERROR_NULL_POINTER => new ArgumentNullException(paramName, message),
            nnk_status.NNK_ERROR_INVALID_ARGUMENT or nnk_status.NNK_ERROR_BUFFER_SIZE => new ArgumentException(message, paramName),
            nnk_status.NNK_ERROR_OVERFLOW => new ArgumentOutOfRangeException(paramName, message),
            nnk_status.NNK_ERROR_BLAS_UNAVAILABLE => new InvalidOperationException(message),
            _ => new InvalidOperationException($"libnnk returned unknown status {(int)status}: {message}"),
        };
    }

    /// <summary>A native NUL-terminated UTF-8 string owned by the library, copied.</summary>
    internal static string Utf8(sbyte* text) => Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
}
