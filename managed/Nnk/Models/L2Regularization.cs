using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>The seeds' L2 term, shared by every model: 0.5 * reg * sum(W^2) in the loss, reg * W in the gradient.</summary>
internal static class L2Regularization
{
    /// <summary>Adds reg * w to dw in place and returns this weight's term of the loss.</summary>
    public static double Apply<T>(double reg, Tensor<T> w, Tensor<T> dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.MultiplyAdd(w.Span, T.CreateChecked(reg), dw.Span, dw.Span);
        return 0.5 * reg * double.CreateChecked(TensorPrimitives.SumOfSquares<T>(w.Span));
    }
}
