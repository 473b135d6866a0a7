using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>The seeds' <c>sgd</c>: w -= learning_rate * dw. No state.</summary>
internal sealed class Sgd<T>(OptimConfig config) : UpdateRule<T>(config) where T : unmanaged, IFloatingPointIeee754<T>
{
    public override string Name => "sgd";

    // One pass (sgd) or three (sgd_momentum) per element: only large parameters are worth sharing out.
    protected override int ParallelThreshold => 1 << 19;

    public override IReadOnlyList<string> StateNames => [];

    protected override void CreateState(int length)
    {
    }

    protected override T[] StateArray(string name) => throw new UnreachableException();

    protected override void Update(Span<T> w, ReadOnlySpan<T> dw, int offset, Span<T> scratch) =>
        TensorPrimitives.MultiplyAdd(dw, Scalar(-Config.LearningRate), w, w);
}
