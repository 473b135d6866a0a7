using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>A training-mode batch norm or group norm shape on one backend.</summary>
public sealed class NormCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NormGeometry _geometry;
    private readonly bool _groupNorm;
    private readonly IKernels<T> _kernels;
    private readonly Memory<T> _x, _dy, _gamma, _beta, _runningMean, _runningVar, _y, _dx, _dgamma, _dbeta, _mean, _invStd;

    public NormCase(NormShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _groupNorm = shape.Groups > 0;
        _kernels = kernels;
        NormGeometry g = _geometry;
        int statistics = _groupNorm ? g.N * g.Groups : g.C;
        _x = Tensor<T>.RandN([g.Length], seed: 231).Memory;
        _dy = Tensor<T>.RandN([g.Length], seed: 232).Memory;
        _gamma = Tensor<T>.RandN([g.C], seed: 233).Memory;
        _beta = Tensor<T>.RandN([g.C], seed: 234).Memory;
        _runningMean = AlignedMemory.Allocate<T>(g.C);
        _runningVar = AlignedMemory.Allocate<T>(g.C);
        _y = AlignedMemory.Allocate<T>(g.Length);
        _dx = AlignedMemory.Allocate<T>(g.Length);
        _dgamma = AlignedMemory.Allocate<T>(g.C);
        _dbeta = AlignedMemory.Allocate<T>(g.C);
        _mean = AlignedMemory.Allocate<T>(statistics);
        _invStd = AlignedMemory.Allocate<T>(statistics);
        // Backward uses the statistics of a forward pass.
        Forward();
    }

    public override IReadOnlyList<Memory<T>> ForwardOutputs => [_y, _mean, _invStd];

    public override IReadOnlyList<Memory<T>> BackwardOutputs => [_dx, _dgamma, _dbeta];

    public override void Forward()
    {
        if (_groupNorm)
            _kernels.GroupNormForward(_geometry,
                1e-5, _x.Span, _gamma.Span, _beta.Span, _y.Span, _mean.Span, _invStd.Span);
        else
            _kernels.BatchNormForward(_geometry,
                NormMode.Train, 1e-5, 0.9, _x.Span, _gamma.Span, _beta.Span, _runningMean.Span, _runningVar.Span,
                _y.Span, _mean.Span, _invStd.Span);
    }

    public override void Backward()
    {
        if (_groupNorm)
            _kernels.GroupNormBackward(_geometry,
                _x.Span, _gamma.Span, _mean.Span, _invStd.Span, _dy.Span, _dx.Span, _dgamma.Span, _dbeta.Span);
        else
            _kernels.BatchNormBackward(_geometry,
                _x.Span, _gamma.Span, _mean.Span, _invStd.Span, _dy.Span, _dx.Span, _dgamma.Span, _dbeta.Span);
    }

    /// <summary>The seeds' simplified backward, for timing against the computation-graph backward.</summary>
    public void BackwardAlt() =>
        ((ManagedKernels<T>)_kernels).BatchNormBackwardAlt(_geometry,
            _x.Span, _gamma.Span, _mean.Span, _invStd.Span, _dy.Span, _dx.Span, _dgamma.Span, _dbeta.Span);
}
