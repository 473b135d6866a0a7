using System.Numerics;

namespace Nnk;

/// <summary>
/// What every update rule shares: the length checks, the step count, the lazy creation of the
/// per-parameter state at the first step and its exposure to checkpoints, and the blocking of a
/// step. Subclasses only say what their state is and how one block of a step goes.
/// </summary>
/// <remarks>
/// A step runs block by block, so that a block's w, dw, state and scratch stay in L1 through every
/// pass a rule makes over them (Adam makes ten) instead of streaming whole arrays from memory ten
/// times; a large parameter's blocks are shared out over <see cref="NnkRuntime.NumThreads"/>
/// threads. Every element is updated by the same operations in the same order whatever the
/// blocking, so results do not depend on the thread count.
/// </remarks>
internal abstract unsafe class UpdateRule<T> : IUpdateRule<T>, IUpdateRuleState<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Elements per block: a float block of w, dw, two state arrays and the scratch is 40 KiB.
    private const int BlockLength = 2048;

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
        PrepareStep();
        int blocks = (w.Length + BlockLength - 1) / BlockLength;
        int workers = w.Length >= ParallelThreshold ? NnkRuntime.NumThreads : 1;
        fixed (T* pw = w)
        fixed (T* pdw = dw)
        {
            WorkerPool.ForChunks(blocks, workers, (this, (nint)pw, (nint)pdw, w.Length), static (in args, _, start, end) =>
            {
                var (rule, pw, pdw, length) = args;
                Span<T> scratch = stackalloc T[BlockLength];
                for (int b = start; b < end; b++)
                {
                    int offset = b * BlockLength, count = Math.Min(BlockLength, length - offset);
                    rule.Update(new Span<T>((T*)pw + offset, count), new ReadOnlySpan<T>((T*)pdw + offset, count),
                        offset, scratch[..count]);
                }
            });
        }
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

    /// <summary>
    /// Parameters with fewer elements than this step on the calling thread alone: waking a helper
    /// thread costs more than sharing the work saves. Rules making one or two passes per element
    /// raise it.
    /// </summary>
    protected virtual int ParallelThreshold => 1 << 16;

    /// <summary>Called once per step before its blocks, with <see cref="StepCount"/> counting this step: the place for per-step scalars.</summary>
    protected virtual void PrepareStep()
    {
    }

    /// <summary>
    /// One block of a step: <paramref name="w"/> and <paramref name="dw"/> are the elements
    /// [offset, offset + w.Length) of the parameter and its gradient, <paramref name="scratch"/> as
    /// long, free for the rule's use. Blocks may run concurrently, so this touches only its own elements.
    /// </summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> dw, int offset, Span<T> scratch);

    /// <summary>A hyperparameter, computed in double, as an element.</summary>
    protected static T Scalar(double value) => T.CreateChecked(value);
}
