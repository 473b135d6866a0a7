using System.Numerics;
using Nnk;

namespace Nnk.Bench.Speedup;

/// <summary>A convolution shape on one backend.</summary>
public sealed class ConvCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvGeometry _geometry;
    private readonly IKernels<T> _kernels;
    private readonly T[] _x, _w, _b, _dy;
    private readonly T[] _forwardWorkspace, _backwardWorkspace;

    public ConvCase(ConvShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _kernels = kernels;
        _x = Tensor<T>.RandN(shape.Input, seed: 231).Span.ToArray();
        _w = Tensor<T>.RandN(shape.Weights, seed: 232).Span.ToArray();
        _b = Tensor<T>.RandN([_geometry.F], seed: 233).Span.ToArray();
        _dy = Tensor<T>.RandN([_geometry.N, _geometry.F, _geometry.OutH, _geometry.OutW], seed: 234).Span.ToArray();
        Y = new T[_geometry.OutputLength];
        Dx = new T[_geometry.InputLength];
        Dw = new T[_geometry.WeightLength];
        Db = new T[_geometry.F];
        _forwardWorkspace = new T[kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Forward)];
        _backwardWorkspace = new T[kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Backward)];
    }

    public T[] Y { get; }
    public T[] Dx { get; }
    public T[] Dw { get; }
    public T[] Db { get; }

    public override IReadOnlyList<T[]> ForwardOutputs => [Y];

    public override IReadOnlyList<T[]> BackwardOutputs => [Dx, Dw, Db];

    public override void Forward() => _kernels.Conv2dForward(_geometry, _x, _w, _b, Y, _forwardWorkspace);

    public override void Backward() => _kernels.Conv2dBackward(_geometry, _x, _w, _dy, Dx, Dw, Db, _backwardWorkspace);
}
