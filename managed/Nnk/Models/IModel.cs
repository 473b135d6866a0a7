using System.Numerics;

namespace Nnk;

/// <summary>
/// What a <see cref="Solver{T}"/> trains: a model with named parameters (<c>W1</c>, <c>b1</c>,
/// <c>gamma1</c>, ...) and a loss, as the seeds' model classes.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The learnable parameters by name; the solver updates these tensors in place.</summary>
    IReadOnlyDictionary<string, Tensor<T>> Params { get; }

    /// <summary>
    /// With labels <paramref name="y"/>: a training-mode forward and backward pass, returning the
    /// loss (data loss plus regularisation) and the gradient of every parameter by name. Without
    /// labels (null): a test-mode forward pass returning the class scores (N, classes).
    /// </summary>
    /// <param name="x">A batch of inputs, first dimension N.</param>
    /// <param name="y">N labels in [0, classes), or null for scores only.</param>
    /// <exception cref="ArgumentException">x has the wrong shape or a label is out of range.</exception>
    LossResult<T> Loss(Tensor<T> x, int[]? y);
}

/// <summary>What <see cref="IModel{T}.Loss"/> returns: the loss and gradients (training) or the scores (test). A struct, so that returning it allocates nothing in a training step.</summary>
/// <param name="Loss">Data loss plus regularisation; NaN when only scores were asked for.</param>
/// <param name="Grads">Gradient of every parameter by name; empty when only scores were asked for.</param>
/// <param name="Scores">Class scores (N, classes) when only scores were asked for, else null.</param>
public readonly record struct LossResult<T>(double Loss, IReadOnlyDictionary<string, Tensor<T>> Grads, Tensor<T>? Scores)
    where T : unmanaged, IFloatingPointIeee754<T>;
