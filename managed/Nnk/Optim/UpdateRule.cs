using System.Numerics;

namespace Nnk;

/// <summary>
/// What every update rule shares: the length checks, the step count, the lazy creation of the
/// per-parameter state at the first step and its exposure to checkpoints. Subclasses only say
/// what their state is and how one step goes.
/// </summary>
internal abstract class UpdateRule<T> : IUpdateRule<T>, IUpdateRuleState<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int _length = -1;

    protected UpdateRule(OptimConfig config) => Config = config;

    public abstract string Name { get; }

    public OptimConfig Config { get; }

    public abstract IReadOnlyList<string> StateNames { get; }

    public long StepCount { get; private set; }

    public int StateLength => _length;

    public void Step(Span<T> w, ReadOnlySpan<T> dw)
    {
        if (w.Length != dw.Length)
            throw new ArgumentException(
                $"{Name}: w has {w.Length} elements but dw has {dw.Length}; they must have the same length.", nameof(dw));
        if (_length < 0)
        {
            CreateState(w.Length);
            _length = w.Length;
        }
        else if (w.Length != _length)
        {
            throw new ArgumentException(
                $"{Name}: this rule holds state for a parameter of {_length} elements but w has {w.Length}; " +
                "use one update rule per parameter.", nameof(w));
        }
        StepCount++;
        Update(w, dw);
    }

    public Span<T> State(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!StateNames.Contains(name))
            throw new ArgumentException(
                $"{Name} has no state called \"{name}\"; its state is [{string.Join(", ", StateNames)}].", nameof(name));
        return _length < 0 ? [] : StateArray(name);
    }

    public void ResetState(int length, long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        CreateState(length);
        _length = length;
        StepCount = stepCount;
    }

    /// <summary>Allocates the zero state for a parameter of <paramref name="length"/> elements.</summary>
    protected abstract void CreateState(int length);

    /// <summary>The state array called <paramref name="name"/>, one of <see cref="StateNames"/>; the state exists.</summary>
    protected abstract T[] StateArray(string name);

    /// <summary>One step; lengths are already checked, the state exists and <see cref="StepCount"/> counts this step.</summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> dw);

    /// <summary>A hyperparameter, computed in double, as an element.</summary>
    protected static T Scalar(double value) => T.CreateChecked(value);
}
