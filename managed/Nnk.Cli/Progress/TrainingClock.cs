using System.Diagnostics;

namespace Nnk.Cli.Progress;

/// <summary>
/// Times a training run from the solver's progress reports: wall time, the time of every completed
/// epoch (its iterations and its accuracy check), and throughput. The solver reports after each
/// iteration, so an epoch's time ends with its last report.
/// </summary>
internal sealed class TrainingClock
{
    private readonly Stopwatch _watch = new();
    private readonly List<double> _epochSeconds = [];
    private readonly int _batchSize;
    private double _lastEpochEnd;
    private int _startEpoch;
    private int _startIteration;

    /// <summary>Creates a stopped clock for minibatches of <paramref name="batchSize"/> inputs.</summary>
    public TrainingClock(int batchSize) => _batchSize = batchSize;

    /// <summary>Iterations run so far by this clock's run (after the iteration it started from).</summary>
    public int Iterations { get; private set; }

    /// <summary>Iterations of the whole run, from the first report; 0 before it.</summary>
    public int NumIterations { get; private set; }

    /// <summary>Epochs completed so far by this clock's run.</summary>
    public int Epochs => _epochSeconds.Count;

    /// <summary>Seconds each completed epoch took, in order.</summary>
    public IReadOnlyList<double> EpochSeconds => _epochSeconds;

    /// <summary>Wall time since <see cref="Start"/>, stopped by <see cref="Stop"/>.</summary>
    public TimeSpan Elapsed => _watch.Elapsed;

    /// <summary>Training inputs processed per second so far; 0 before the first iteration.</summary>
    public double ImagesPerSecond =>
        Iterations == 0 || _watch.Elapsed.TotalSeconds <= 0 ? 0 : (double)Iterations * _batchSize / _watch.Elapsed.TotalSeconds;

    /// <summary>Mean seconds per completed epoch; the whole elapsed time when no epoch completed.</summary>
    public double SecondsPerEpoch => Epochs == 0 ? _watch.Elapsed.TotalSeconds : _epochSeconds.Average();

    /// <summary>Sets where a resumed run starts, before the first report: only what follows is timed.</summary>
    /// <param name="epoch">Epochs already completed.</param>
    /// <param name="iteration">Iterations already run.</param>
    public void StartFrom(int epoch, int iteration)
    {
        _startEpoch = epoch;
        _startIteration = iteration;
    }

    /// <summary>Starts timing.</summary>
    public void Start() => _watch.Start();

    /// <summary>Stops timing; <see cref="Elapsed"/> keeps its value.</summary>
    public void Stop() => _watch.Stop();

    /// <summary>Takes one report of the solver.</summary>
    public void Observe(SolverProgress progress)
    {
        Iterations = progress.Iteration - _startIteration;
        NumIterations = progress.NumIterations;
        while (_epochSeconds.Count < progress.Epoch - _startEpoch)
        {
            double now = _watch.Elapsed.TotalSeconds;
            _epochSeconds.Add(now - _lastEpochEnd);
            _lastEpochEnd = now;
        }
    }
}
