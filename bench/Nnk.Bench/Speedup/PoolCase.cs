using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>A max-pooling shape on one backend.</summary>
public sealed class PoolCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PoolGeometry _geometry;
    private readonly IKernels<T> _kernels;
    private readonly Memory<T> _x, _dy, _y, _dx;
    private readonly Memory<int> _argmax;

    public PoolCase(PoolShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _kernels = kernels;
        _x = Tensor<T>.RandN(shape.Input, seed: 231).Memory;
        _dy = Tensor<T>.RandN([_geometry.N, _geometry.C, _geometry.OutH, _geometry.OutW], seed: 232).Memory;
        _y = AlignedMemory.Allocate<T>(_geometry.OutputLength);
        _dx = AlignedMemory.Allocate<T>(_geometry.InputLength);
        _argmax = AlignedMemory.Allocate<int>(_geometry.OutputLength);
        // Backward scatters through the indices of a forward pass.
        Forward();
    }

    public override IReadOnlyList<Memory<T>> ForwardOutputs => [_y];

    public override IReadOnlyList<Memory<T>> BackwardOutputs => [_dx];

    public override void Forward() => _kernels.MaxPool2dForward(_geometry, _x.Span, _y.Span, _argmax.Span);

    public override void Backward() => _kernels.MaxPool2dBackward(_geometry, _dy.Span, _argmax.Span, _dx.Span);
}
