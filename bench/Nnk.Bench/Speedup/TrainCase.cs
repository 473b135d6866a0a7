using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>
/// One whole training step (forward, softmax loss, backward, update of every parameter) of a
/// standard network on one backend; the model keeps and reuses all its buffers.
/// </summary>
public sealed class TrainCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Sequential<T> _model;
    private readonly Tensor<T> _x;
    private readonly int[] _y;
    private readonly (Tensor<T> Value, Tensor<T> Grad, IUpdateRule<T> Rule)[] _parameters;
    private double _loss;

    public TrainCase(TrainShape shape, IKernels<T> kernels)
    {
        _model = shape.Build(kernels);
        _x = Tensor<T>.RandN(shape.Input, seed: 231);
        var random = new Random(232);
        _y = Enumerable.Range(0, shape.Input[0]).Select(_ => random.Next(10)).ToArray();
        // One forward-backward pass creates the gradient buffers the update rules read.
        IReadOnlyDictionary<string, Tensor<T>> grads = _model.Loss(_x, _y).Grads;
        _parameters = _model.Params
            .Select(p => (p.Value, grads[p.Key], UpdateRules.Create<T>(shape.UpdateRule)))
            .ToArray();
    }

    public override IReadOnlyList<Memory<T>> ForwardOutputs =>
        [new T[] { T.CreateChecked(_loss) }, .. _parameters.Select(p => p.Value.Clone().Memory)];

    public override IReadOnlyList<Memory<T>> BackwardOutputs => ForwardOutputs;

    /// <summary>One training step; the layers' gradient tensors are refilled by every Loss call.</summary>
    public override void Forward()
    {
        _loss = _model.Loss(_x, _y).Loss;
        foreach (var (value, grad, rule) in _parameters)
            rule.Step(value.Span, grad.Span);
    }

    public override void Backward() => Forward();
}
