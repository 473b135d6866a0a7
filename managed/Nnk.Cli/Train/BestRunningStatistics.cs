using System.Numerics;

namespace Nnk.Cli.Train;

/// <summary>
/// Keeps a model's batch-norm running statistics from the moment the solver keeps its best parameters, and
/// puts them back with them. <see cref="Solver{T}"/> (as the seeds' Solver) restores only
/// <see cref="IModel{T}.Params"/> at the end of training, so a model whose best validation accuracy came
/// at an earlier check would otherwise normalise with the statistics of the last iteration: measured on
/// MNIST after 2 epochs of the BN-CNN, 97.47 % test accuracy instead of the 98.75 % those parameters give
/// with their own statistics. Checks before a resumed run's start are not seen; then the model keeps the
/// solver's behaviour.
/// </summary>
internal sealed class BestRunningStatistics<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IHasRunningStatistics<T>? _model;
    private readonly Dictionary<int, (T[] Mean, T[] Var)> _snapshot = [];
    private int _checksSeen;
    private bool _hasBest;
    private double _best;

    /// <summary>Watches <paramref name="model"/>, which <paramref name="solver"/> trains; call before training.</summary>
    public BestRunningStatistics(IModel<T> model, Solver<T> solver)
    {
        _model = model as IHasRunningStatistics<T>;
        _checksSeen = solver.ValAccHistory.Count;
        _hasBest = solver.BestParams.Count > 0;
        _best = solver.BestValAcc;
    }

    /// <summary>Takes the solver's state after one of its progress reports: when the report followed a check whose
    /// parameters the solver kept (the first check, or a validation accuracy above every earlier one), copies the
    /// running statistics.</summary>
    public void Observe(Solver<T> solver)
    {
        if (solver.ValAccHistory.Count == _checksSeen)
            return;
        _checksSeen = solver.ValAccHistory.Count;
        double valAcc = solver.ValAccHistory[^1];
        if (_hasBest && valAcc <= _best)
            return;
        _hasBest = true;
        _best = valAcc;
        if (_model is null)
            return;
        _snapshot.Clear();
        foreach ((int layer, BatchNormParam<T> bn) in _model.RunningStatistics)
        {
            if (bn.RunningMean is not null && bn.RunningVar is not null)
                _snapshot[layer] = (bn.RunningMean.Span.ToArray(), bn.RunningVar.Span.ToArray());
        }
    }

    /// <summary>Puts the copied statistics back, after the solver put back the best parameters.</summary>
    public void Restore()
    {
        if (_model is null)
            return;
        foreach ((int layer, (T[] mean, T[] var)) in _snapshot)
        {
            BatchNormParam<T> bn = _model.RunningStatistics[layer];
            mean.CopyTo(bn.RunningMean!.Span);
            var.CopyTo(bn.RunningVar!.Span);
        }
    }
}
