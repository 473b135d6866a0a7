using System.Numerics;

namespace Nnk;

/// <summary>
/// What every update rule shares: the length checks and the lazy creation of the per-parameter
/// state at the first step. Subclasses only say how big their state is and how one step goes.
/// </summary>
internal abstract class UpdateRule<T> : IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int _length = -1;

    protected UpdateRule(OptimConfig config) => Config = config;

    public abstract string Name { get; }

    public OptimConfig Config { get; }

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
        Update(w, dw);
    }

    /// <summary>Allocates the zero state for a parameter of <paramref name="length"/> elements.</summary>
    protected abstract void CreateState(int length);

    /// <summary>One step; lengths are already checked and the state exists.</summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> dw);

    /// <summary>A hyperparameter, computed in double, as an element.</summary>
    protected static T Scalar(double value) => T.CreateChecked(value);
}
