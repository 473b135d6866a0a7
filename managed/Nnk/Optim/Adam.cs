using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// The seeds' <c>adam</c>: t += 1; m = beta1*m + (1-beta1)*dw; v = beta2*v + (1-beta2)*dw²;
/// w -= learning_rate * (m/(1-beta1^t)) / (sqrt(v/(1-beta2^t)) + epsilon).
/// State: the moments m and v and the step count t (the base class's StepCount).
/// </summary>
internal sealed class Adam<T>(OptimConfig config) : UpdateRule<T>(config) where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] s_stateNames = ["m", "v"];

    private T[] _m = [];
    private T[] _v = [];
    // This step's bias corrections, as scalars.
    private T _secondMomentScale;
    private T _stepSize;

    public override string Name => "adam";

    public override IReadOnlyList<string> StateNames => s_stateNames;

    protected override void CreateState(int length)
    {
        _m = new T[length];
        _v = new T[length];
    }

    protected override T[] StateArray(string name) => name == "m" ? _m : _v;

    protected override void PrepareStep()
    {
        long t = StepCount;
        _secondMomentScale = Scalar(1 - Math.Pow(Config.Beta2, t));
        // The first-moment bias correction is folded into the scalar step size, saving a pass.
        _stepSize = Scalar(-Config.LearningRate / (1 - Math.Pow(Config.Beta1, t)));
    }

    protected override void Update(Span<T> w, ReadOnlySpan<T> dw, int offset, Span<T> s)
    {
        Span<T> m = _m.AsSpan(offset, w.Length), v = _v.AsSpan(offset, w.Length);
        double beta1 = Config.Beta1, beta2 = Config.Beta2;
        TensorPrimitives.Multiply(m, Scalar(beta1), m);
        TensorPrimitives.MultiplyAdd(dw, Scalar(1 - beta1), m, m);
        TensorPrimitives.Multiply(dw, dw, s);
        TensorPrimitives.Multiply(v, Scalar(beta2), v);
        TensorPrimitives.MultiplyAdd(s, Scalar(1 - beta2), v, v);
        TensorPrimitives.Divide(v, _secondMomentScale, s);
        TensorPrimitives.Sqrt(s, s);
        TensorPrimitives.Add(s, Scalar(Config.Epsilon), s);
        TensorPrimitives.Divide(m, s, s);
        TensorPrimitives.MultiplyAdd(s, _stepSize, w, w);
    }
}
