using System.Numerics;

namespace Nnk;

/// <summary>
/// Classification losses as the seeds' <c>softmax_loss</c> and <c>svm_loss</c>: scores (N, C) and
/// one label in [0, C) per row give the mean loss over the N rows and its gradient.
/// </summary>
public static class Loss
{
    /// <summary>Softmax cross-entropy: mean over rows of -log(softmax(scores)[label]).</summary>
    /// <param name="scores">Class scores (N, C).</param>
    /// <param name="labels">N labels, each in [0, C).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <returns>The mean loss and its gradient with respect to scores (N, C).</returns>
    /// <exception cref="ArgumentException">scores is not 2-D, or labels has the wrong length or a label out of range.</exception>
    public static (double Loss, Tensor<T> Dscores) Softmax<T>(Tensor<T> scores, int[] labels, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(scores, labels);
        kernels ??= Kernels.Default<T>();
        var dscores = new Tensor<T>(scores.Shape);
        T loss = kernels.SoftmaxLoss(scores.Shape[0], scores.Shape[1], scores.Span, labels, dscores.Span);
        return (double.CreateChecked(loss), dscores);
    }

    /// <summary>Multiclass SVM loss, margin 1: mean over rows of the sum over wrong classes of max(0, s_j - s_label + 1).</summary>
    /// <param name="scores">Class scores (N, C).</param>
    /// <param name="labels">N labels, each in [0, C).</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <returns>The mean loss and its gradient with respect to scores (N, C).</returns>
    /// <exception cref="ArgumentException">scores is not 2-D, or labels has the wrong length or a label out of range.</exception>
    public static (double Loss, Tensor<T> Dscores) Svm<T>(Tensor<T> scores, int[] labels, IKernels<T>? kernels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(scores, labels);
        kernels ??= Kernels.Default<T>();
        var dscores = new Tensor<T>(scores.Shape);
        T loss = kernels.SvmLoss(scores.Shape[0], scores.Shape[1], scores.Span, labels, dscores.Span);
        return (double.CreateChecked(loss), dscores);
    }

    // Checked here as well as in the kernels so every backend gives the same message.
    private static void Validate<T>(Tensor<T> scores, int[] labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Shape.Rank != 2)
            throw new ArgumentException($"scores must have shape (N, C), but its shape is {scores.Shape}.", nameof(scores));
        int n = scores.Shape[0], classes = scores.Shape[1];
        if (labels.Length != n)
            throw new ArgumentException(
                $"labels has {labels.Length} entries but scores {scores.Shape} has {n} rows.", nameof(labels));
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentException(
                    $"labels[{i}] = {labels[i]} is outside [0, {classes}) for scores {scores.Shape}.", nameof(labels));
        }
    }
}
