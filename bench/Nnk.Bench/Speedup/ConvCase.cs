using System.Numerics;
using Nnk;

namespace Nnk.Bench.Speedup;

/// <summary>A convolution shape on one backend.</summary>
public sealed class ConvCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvGeometry _geometry;
    private readonly IKernels<T> _kernels;
    private readonly Memory<T> _x, _w, _b, _dy;
    private readonly Memory<T> _forwardWorkspace, _backwardWorkspace;

    public ConvCase(ConvShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _kernels = kernels;
        _x = Tensor<T>.RandN(shape.Input, seed: 231).Memory;
        _w = Tensor<T>.RandN(shape.Weights, seed: 232).Memory;
        _b = Tensor<T>.RandN([_geometry.F], seed: 233).Memory;
        _dy = Tensor<T>.RandN([_geometry.N, _geometry.F, _geometry.OutH, _geometry.OutW], seed: 234).Memory;
        Y = AlignedMemory.Allocate<T>(_geometry.OutputLength);
        Dx = AlignedMemory.Allocate<T>(_geometry.InputLength);
        Dw = AlignedMemory.Allocate<T>(_geometry.WeightLength);
        Db = AlignedMemory.Allocate<T>(_geometry.F);
        _forwardWorkspace = AlignedMemory.Allocate<T>(kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Forward));
        _backwardWorkspace = AlignedMemory.Allocate<T>(kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Backward));
    }

    public Memory<T> Y { get; }
    public Memory<T> Dx { get; }
    public Memory<T> Dw { get; }
    public Memory<T> Db { get; }

    public override IReadOnlyList<Memory<T>> ForwardOutputs => [Y];

    public override IReadOnlyList<Memory<T>> BackwardOutputs => [Dx, Dw, Db];

    public override void Forward() => _kernels.Conv2dForward(_geometry,
        _x.Span, _w.Span, _b.Span, Y.Span, _forwardWorkspace.Span);

    public override void Backward() => _kernels.Conv2dBackward(_geometry,
        _x.Span, _w.Span, _dy.Span, Dx.Span, Dw.Span, Db.Span, _backwardWorkspace.Span);
}
