using System.Numerics;

namespace Nnk.Bench.Speedup;

/// <summary>A training-mode batch norm or group norm shape on one backend.</summary>
public sealed class NormCase<T> : BenchCase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly NormGeometry _geometry;
    private readonly bool _groupNorm;
    private readonly IKernels<T> _kernels;
    private readonly T[] _x, _dy, _gamma, _beta, _runningMean, _runningVar, _y, _dx, _dgamma, _dbeta, _mean, _invStd;

    public NormCase(NormShape shape, IKernels<T> kernels)
    {
        _geometry = shape.Geometry;
        _groupNorm = shape.Groups > 0;
        _kernels = kernels;
        NormGeometry g = _geometry;
        int statistics = _groupNorm ? g.N * g.Groups : g.C;
        _x = Tensor<T>.RandN([g.Length], seed: 231).Span.ToArray();
        _dy = Tensor<T>.RandN([g.Length], seed: 232).Span.ToArray();
        _gamma = Tensor<T>.RandN([g.C], seed: 233).Span.ToArray();
        _beta = Tensor<T>.RandN([g.C], seed: 234).Span.ToArray();
        _runningMean = new T[g.C];
        _runningVar = new T[g.C];
        _y = new T[g.Length];
        _dx = new T[g.Length];
        _dgamma = new T[g.C];
        _dbeta = new T[g.C];
        _mean = new T[statistics];
        _invStd = new T[statistics];
        // Backward uses the statistics of a forward pass.
        Forward();
    }

    public override IReadOnlyList<T[]> ForwardOutputs => [_y, _mean, _invStd];

    public override IReadOnlyList<T[]> BackwardOutputs => [_dx, _dgamma, _dbeta];

    public override void Forward()
    {
        if (_groupNorm)
            _kernels.GroupNormForward(_geometry, 1e-5, _x, _gamma, _beta, _y, _mean, _invStd);
        else
            _kernels.BatchNormForward(_geometry, NormMode.Train, 1e-5, 0.9, _x, _gamma, _beta, _runningMean, _runningVar,
                _y, _mean, _invStd);
    }

    public override void Backward()
    {
        if (_groupNorm)
            _kernels.GroupNormBackward(_geometry, _x, _gamma, _mean, _invStd, _dy, _dx, _dgamma, _dbeta);
        else
            _kernels.BatchNormBackward(_geometry, _x, _gamma, _mean, _invStd, _dy, _dx, _dgamma, _dbeta);
    }

    /// <summary>The seeds' simplified backward, for timing against the computation-graph backward.</summary>
    public void BackwardAlt() =>
        ((ManagedKernels<T>)_kernels).BatchNormBackwardAlt(_geometry, _x, _gamma, _mean, _invStd, _dy, _dx, _dgamma, _dbeta);
}
