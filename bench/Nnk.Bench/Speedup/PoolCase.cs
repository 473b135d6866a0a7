using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>A max-pooling shape on one backend.</summary>
public sealed class PoolCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PoolGeometry _geometry;
    private readonly IKernels<T> _kernels;
    private readonly T[] _x, _dy, _y, _dx;
    private readonly int[] _argmax;

    public PoolCase(PoolShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _kernels = kernels;
        _x = Tensor<T>.RandN(shape.Input, seed: 231).Span.ToArray();
        _dy = Tensor<T>.RandN([_geometry.N, _geometry.C, _geometry.OutH, _geometry.OutW], seed: 232).Span.ToArray();
        _y = new T[_geometry.OutputLength];
        _dx = new T[_geometry.InputLength];
        _argmax = new int[_geometry.OutputLength];
        // Backward scatters through the indices of a forward pass.
        Forward();
    }

    public override IReadOnlyList<T[]> ForwardOutputs => [_y];

    public override IReadOnlyList<T[]> BackwardOutputs => [_dx];

    public override void Forward() => _kernels.MaxPool2dForward(_geometry, _x, _y, _argmax);

    public override void Backward() => _kernels.MaxPool2dBackward(_geometry, _dy, _argmax, _dx);
}
