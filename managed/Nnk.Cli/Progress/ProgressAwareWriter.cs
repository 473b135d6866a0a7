using System.Text;

namespace Nnk.Cli.Progress;

/// <summary>
/// The training log's writer while a progress bar is on screen: each line first clears the bar,
/// then the bar is drawn again below it, so log lines and the bar never share a terminal line.
/// </summary>
internal sealed class ProgressAwareWriter : TextWriter
{
    private readonly TextWriter _inner;
    private readonly ProgressDisplay _display;

    /// <summary>Writes to <paramref name="inner"/> around <paramref name="display"/>'s bar.</summary>
    public ProgressAwareWriter(TextWriter inner, ProgressDisplay display)
    {
        _inner = inner;
        _display = display;
    }

    /// <inheritdoc/>
    public override Encoding Encoding => _inner.Encoding;

    /// <inheritdoc/>
    public override void Write(char value) => _inner.Write(value);

    /// <inheritdoc/>
    public override void Write(string? value) => _inner.Write(value);

    /// <inheritdoc/>
    public override void WriteLine(string? value)
    {
        _display.Clear();
        _inner.WriteLine(value);
        _inner.Flush();
        _display.Redraw();
    }

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();
}
