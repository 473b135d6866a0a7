using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// The seeds' <c>rmsprop</c>: cache = decay_rate*cache + (1-decay_rate)*dw²;
/// w -= learning_rate*dw / (sqrt(cache) + epsilon). State: the cache.
/// </summary>
internal sealed class RmsProp<T>(OptimConfig config) : UpdateRule<T>(config) where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] s_stateNames = ["cache"];

    private T[] _cache = [];

    public override string Name => "rmsprop";

    public override IReadOnlyList<string> StateNames => s_stateNames;

    protected override void CreateState(int length) => _cache = new T[length];

    protected override T[] StateArray(string name) => _cache;

    protected override void Update(Span<T> w, ReadOnlySpan<T> dw, int offset, Span<T> s)
    {
        Span<T> cache = _cache.AsSpan(offset, w.Length);
        double decayRate = Config.DecayRate;
        TensorPrimitives.Multiply(dw, dw, s);
        TensorPrimitives.Multiply(cache, Scalar(decayRate), cache);
        TensorPrimitives.MultiplyAdd(s, Scalar(1 - decayRate), cache, cache);
        TensorPrimitives.Sqrt(cache, s);
        TensorPrimitives.Add(s, Scalar(Config.Epsilon), s);
        TensorPrimitives.Divide(dw, s, s);
        TensorPrimitives.MultiplyAdd(s, Scalar(-Config.LearningRate), w, w);
    }
}
