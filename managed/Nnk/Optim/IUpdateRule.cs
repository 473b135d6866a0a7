using System.Numerics;

namespace Nnk;

/// <summary>
/// An update rule (the seeds' <c>sgd</c>, <c>sgd_momentum</c>, <c>rmsprop</c>, <c>adam</c>) bound to
/// one parameter: it owns that parameter's optimiser state (velocity, cache, moments, step count),
/// created as zeros at the first <see cref="Step"/>. Use one instance per parameter array;
/// <see cref="UpdateRules.Create{T}"/> makes them. Not thread-safe.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The seeds' name of the rule: "sgd", "sgd_momentum", "rmsprop" or "adam".</summary>
    string Name { get; }

    /// <summary>This rule's own hyperparameters, read at every step; changes take effect at the next step.</summary>
    OptimConfig Config { get; }

    /// <summary>
    /// Applies one update to the weights <paramref name="w"/> in place, given their gradient
    /// <paramref name="dw"/> of the same length. The first call sizes the state to
    /// <paramref name="w"/>; later calls allocate nothing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="w"/> and <paramref name="dw"/> differ in length,
    /// or <paramref name="w"/> differs in length from the parameter of the first call.</exception>
    void Step(Span<T> w, ReadOnlySpan<T> dw);
}
