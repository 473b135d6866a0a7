using System.Collections.ObjectModel;
using System.Numerics;

namespace Nnk;

/// <summary>Creates update rules by the seeds' names, as the Solver's <c>update_rule</c> argument does.</summary>
public static class UpdateRules
{
    private static readonly ReadOnlyCollection<string> s_names =
        Array.AsReadOnly(new[] { "sgd", "sgd_momentum", "rmsprop", "adam" });

    /// <summary>The known rule names, exactly as in the seeds: "sgd", "sgd_momentum", "rmsprop", "adam".</summary>
    public static IReadOnlyList<string> Names => s_names;

    /// <summary>
    /// A new update rule for one parameter. <paramref name="config"/> is cloned, so each rule (and so
    /// each parameter) has its own; null means the defaults of <see cref="OptimConfig"/>.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="name">One of <see cref="Names"/>, matched exactly (ordinal, case-sensitive).</param>
    /// <param name="config">Hyperparameters to copy; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="Names"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static IUpdateRule<T> Create<T>(string name, OptimConfig? config = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(name);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"IUpdateRule<{typeof(T).Name}> is not supported: use float or double.");
        OptimConfig own = config?.Clone() ?? new OptimConfig();
        return name switch
        {
            "sgd" => new Sgd<T>(own),
            "sgd_momentum" => new SgdMomentum<T>(own),
            "rmsprop" => new RmsProp<T>(own),
            "adam" => new Adam<T>(own),
            _ => throw new ArgumentException(
                $"Unknown update rule \"{name}\"; the known rules are {string.Join(", ", s_names)}.", nameof(name)),
        };
    }
}
