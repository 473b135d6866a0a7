using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>The seeds' <c>sgd_momentum</c>: v = momentum*v - learning_rate*dw; w += v. State: the velocity v.</summary>
internal sealed class SgdMomentum<T>(OptimConfig config) : UpdateRule<T>(config) where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] s_stateNames = ["velocity"];

    private T[] _velocity = [];

    public override string Name => "sgd_momentum";

    // One pass (sgd) or three (sgd_momentum) per element: only large parameters are worth sharing out.
    protected override int ParallelThreshold => 1 << 18;

    public override IReadOnlyList<string> StateNames => s_stateNames;

    protected override void CreateState(int length) => _velocity = new T[length];

    protected override T[] StateArray(string name) => _velocity;

    protected override void Update(Span<T> w, ReadOnlySpan<T> dw, int offset, Span<T> scratch)
    {
        Span<T> v = _velocity.AsSpan(offset, w.Length);
        TensorPrimitives.Multiply(v, Scalar(Config.Momentum), v);
        TensorPrimitives.MultiplyAdd(dw, Scalar(-Config.LearningRate), v, v);
        TensorPrimitives.Add(w, v, w);
    }
}
