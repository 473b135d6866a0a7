using System.Numerics;

namespace Nnk;

/// <summary>
/// The optimiser state of one update rule, as a checkpoint saves and restores it: the named state
/// arrays (sgd_momentum's "velocity", rmsprop's "cache", adam's "m" and "v"; none for sgd) and the
/// number of steps taken (adam's t). Scratch space is not state. Every rule that
/// <see cref="UpdateRules.Create{T}"/> makes implements it.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
internal interface IUpdateRuleState<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Names of the state arrays, the same for every instance of a rule; empty for sgd.</summary>
    IReadOnlyList<string> StateNames { get; }

    /// <summary>Steps applied so far.</summary>
    long StepCount { get; }

    /// <summary>Length of the parameter the state is sized for; -1 before the first step or <see cref="ResetState"/>.</summary>
    int StateLength { get; }

    /// <summary>The live state array called <paramref name="name"/>: <see cref="StateLength"/> elements, or
    /// empty while the state does not exist yet. Writing to it changes the rule's state.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="StateNames"/>.</exception>
    Span<T> State(string name);

    /// <summary>Replaces the state by zeros sized for a parameter of <paramref name="length"/> elements and
    /// sets the step count, so that the caller can then fill each <see cref="State"/> array.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> or <paramref name="stepCount"/> is negative.</exception>
    void ResetState(int length, long stepCount);
}
