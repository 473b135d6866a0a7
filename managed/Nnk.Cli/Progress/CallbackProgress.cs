namespace Nnk.Cli.Progress;

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread, unlike
/// <see cref="Progress{T}"/>, which posts to a synchronisation context or the thread pool.</summary>
internal sealed class CallbackProgress<T> : IProgress<T>
{
    private readonly Action<T> _callback;

    /// <summary>Calls <paramref name="callback"/> with every report.</summary>
    public CallbackProgress(Action<T> callback) => _callback = callback;

    /// <inheritdoc/>
    public void Report(T value) => _callback(value);
}
