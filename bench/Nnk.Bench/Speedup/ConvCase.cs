using Nnk;

namespace Nnk.Bench.Speedup;

/// <summary>
/// Inputs and preallocated outputs of one convolution shape on one backend, so timed calls run
/// the kernel alone: no allocation, no shape checks beyond the kernel's own.
/// </summary>
public sealed class ConvCase
{
    private readonly ConvGeometry _geometry;
    private readonly IKernels<float> _kernels;
    private readonly float[] _x, _w, _b, _dy;
    private readonly float[] _forwardWorkspace, _backwardWorkspace;

    public ConvCase(ConvShape shape, IKernels<float> kernels)
    {
        _geometry = shape.Geometry;
        _kernels = kernels;
        _x = Tensor<float>.RandN(shape.Input, seed: 231).Span.ToArray();
        _w = Tensor<float>.RandN(shape.Weights, seed: 232).Span.ToArray();
        _b = Tensor<float>.RandN([_geometry.F], seed: 233).Span.ToArray();
        _dy = Tensor<float>.RandN([_geometry.N, _geometry.F, _geometry.OutH, _geometry.OutW], seed: 234).Span.ToArray();
        Y = new float[_geometry.OutputLength];
        Dx = new float[_geometry.InputLength];
        Dw = new float[_geometry.WeightLength];
        Db = new float[_geometry.F];
        _forwardWorkspace = new float[kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Forward)];
        _backwardWorkspace = new float[kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Backward)];
    }

    public float[] Y { get; }
    public float[] Dx { get; }
    public float[] Dw { get; }
    public float[] Db { get; }

    public void Forward() => _kernels.Conv2dForward(_geometry, _x, _w, _b, Y, _forwardWorkspace);

    public void Backward() => _kernels.Conv2dBackward(_geometry, _x, _w, _dy, Dx, Dw, Db, _backwardWorkspace);
}
