using System.Numerics;

namespace Nnk;

/// <summary>
/// The seeds' <c>data</c> dictionary for a <see cref="Solver{T}"/>: training and validation inputs
/// with one label per input. The arrays and tensors are referenced, not copied, and the solver only
/// reads them.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed record SolverData<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Checks that every input has a label and that both sets hold inputs of one shape.</summary>
    /// <param name="xTrain">Training inputs (N_train, d1, ..., dk), rank at least 2.</param>
    /// <param name="yTrain">N_train training labels in [0, classes).</param>
    /// <param name="xVal">Validation inputs (N_val, d1, ..., dk), the same (d1, ..., dk) as <paramref name="xTrain"/>.</param>
    /// <param name="yVal">N_val validation labels in [0, classes).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A tensor has rank below 2, a label count differs from its tensor's
    /// first dimension, or the two sets' inputs differ in shape; the message gives the shapes.</exception>
    public SolverData(Tensor<T> xTrain, int[] yTrain, Tensor<T> xVal, int[] yVal)
    {
        Validate(xTrain, yTrain, nameof(xTrain), nameof(yTrain));
        Validate(xVal, yVal, nameof(xVal), nameof(yVal));
        if (!xTrain.Shape.AsSpan()[1..].SequenceEqual(xVal.Shape.AsSpan()[1..]))
            throw new ArgumentException(
                $"xVal {xVal.Shape} must hold inputs of the same shape as xTrain {xTrain.Shape}; " +
                "only the first dimension may differ.", nameof(xVal));
        XTrain = xTrain;
        YTrain = yTrain;
        XVal = xVal;
        YVal = yVal;
    }

    /// <summary>Training inputs (N_train, d1, ..., dk); minibatches are sampled from its rows.</summary>
    public Tensor<T> XTrain { get; }

    /// <summary>N_train training labels.</summary>
    public int[] YTrain { get; }

    /// <summary>Validation inputs (N_val, d1, ..., dk).</summary>
    public Tensor<T> XVal { get; }

    /// <summary>N_val validation labels.</summary>
    public int[] YVal { get; }

    private static void Validate(Tensor<T> x, int[] y, string xName, string yName)
    {
        ArgumentNullException.ThrowIfNull(x, xName);
        ArgumentNullException.ThrowIfNull(y, yName);
        if (x.Shape.Rank < 2)
            throw new ArgumentException($"{xName} must have shape (N, d1, ..., dk), but its shape is {x.Shape}.", xName);
        if (y.Length != x.Shape[0])
            throw new ArgumentException(
                $"{yName} has {y.Length} labels but {xName} {x.Shape} holds {x.Shape[0]} inputs; they must match.", yName);
    }
}
