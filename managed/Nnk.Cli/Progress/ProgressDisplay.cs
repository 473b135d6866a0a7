using System.Globalization;

namespace Nnk.Cli.Progress;

/// <summary>
/// Shows training progress on stderr: on a terminal, one bar line redrawn in place (iterations, epoch,
/// loss, images per second, time left) at most ten times a second; elsewhere (a log file, a pipe) a
/// plain line every <c>plainInterval</c>, so logs stay readable.
/// </summary>
internal sealed class ProgressDisplay
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _error;
    private readonly bool _terminal;
    private readonly TimeSpan _plainInterval;
    private readonly TrainingClock _clock;
    private TimeSpan _lastShown;
    private string? _bar;
    private SolverProgress _last;

    /// <summary>Creates the display.</summary>
    /// <param name="error">Where progress goes.</param>
    /// <param name="terminal">True to draw a bar in place, false for plain lines.</param>
    /// <param name="plainInterval">Time between plain lines.</param>
    /// <param name="clock">The run's clock, already observing the same reports.</param>
    public ProgressDisplay(TextWriter error, bool terminal, TimeSpan plainInterval, TrainingClock clock)
    {
        _error = error;
        _terminal = terminal;
        _plainInterval = plainInterval;
        _clock = clock;
    }

    /// <summary>Takes one report; draws when it is time to.</summary>
    public void Report(SolverProgress progress)
    {
        _last = progress;
        TimeSpan now = _clock.Elapsed;
        bool last = progress.Iteration == progress.NumIterations;
        if (_terminal)
        {
            if (last || _bar is null || now - _lastShown >= RedrawInterval)
            {
                _lastShown = now;
                _bar = Describe(progress, bar: true);
                Redraw();
            }
        }
        else if (now - _lastShown >= _plainInterval)
        {
            _lastShown = now;
            _error.WriteLine("progress: " + Describe(progress, bar: false));
        }
    }

    /// <summary>Removes the bar so that a log line can take its place (terminal only).</summary>
    public void Clear()
    {
        if (_terminal && _bar is not null)
            _error.Write("\r\u001b[2K");
    }

    /// <summary>Draws the bar again after <see cref="Clear"/> (terminal only).</summary>
    public void Redraw()
    {
        if (_terminal && _bar is not null)
        {
            _error.Write("\r\u001b[2K" + _bar);
            _error.Flush();
        }
    }

    /// <summary>Removes the bar for good at the end of the run.</summary>
    public void Finish()
    {
        Clear();
        _bar = null;
    }

    private string Describe(SolverProgress p, bool bar)
    {
        double fraction = p.NumIterations == 0 ? 0 : (double)p.Iteration / p.NumIterations;
        double perIteration = _clock.Iterations == 0 ? 0 : _clock.Elapsed.TotalSeconds / _clock.Iterations;
        var eta = TimeSpan.FromSeconds(perIteration * (p.NumIterations - p.Iteration));
        string counts = string.Create(CultureInfo.InvariantCulture,
            $"iteration {p.Iteration}/{p.NumIterations} ({fraction:P0}), epoch {p.Epoch}, loss {p.Loss:F4}, " +
            $"{_clock.ImagesPerSecond:F0} images/s, ETA {Format(eta)}");
        if (!bar)
            return counts;
        int filled = (int)Math.Round(fraction * BarWidth);
        return "[" + new string('#', filled) + new string('-', BarWidth - filled) + "] " + counts;
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1
        ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
