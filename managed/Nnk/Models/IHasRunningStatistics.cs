using System.Numerics;

namespace Nnk;

/// <summary>
/// A model with batch-norm layers, whose running means and variances are state beyond
/// <see cref="IModel{T}.Params"/>: training updates them and test mode normalises with them, so a
/// checkpoint saves and restores them (as <c>running_mean{k}</c> and <c>running_var{k}</c>) for a
/// resumed or reloaded model to behave as the original. <see cref="FullyConnectedNet{T}"/> and
/// <see cref="Sequential{T}"/> (for its <see cref="BatchNormLayer{T}"/> and
/// <see cref="SpatialBatchNormLayer{T}"/> stages) implement it.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IHasRunningStatistics<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The batch-norm parameters of every batch-norm layer, keyed by the layer's number in the model's
    /// parameter names: key k belongs to the layer scaled by <c>gamma{k}</c>. These are the model's own
    /// objects; their <see cref="BatchNormParam{T}.RunningMean"/> and <see cref="BatchNormParam{T}.RunningVar"/>
    /// may be null until the first training call creates them. Empty when the model has no batch norm.
    /// </summary>
    IReadOnlyDictionary<int, BatchNormParam<T>> RunningStatistics { get; }
}
