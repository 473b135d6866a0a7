using System.Numerics;

namespace Nnk;

/// <summary>
/// A dataset cut into training, validation and test splits and preprocessed, as the dictionary the
/// seeds' <c>get_CIFAR10_data</c> returns: inputs NCHW with one label per input. Every input was
/// computed as <c>pixel * PixelScale - MeanImage</c>. Made by <see cref="Datasets"/>; the tensors and
/// arrays are the splits' own and are not copied by the properties.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class DataSplits<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal DataSplits(
        DatasetKind kind,
        Tensor<T> xTrain, int[] yTrain,
        Tensor<T> xVal, int[] yVal,
        Tensor<T> xTest, int[] yTest,
        T pixelScale, Tensor<T>? meanImage)
    {
        Kind = kind;
        XTrain = xTrain;
        YTrain = yTrain;
        XVal = xVal;
        YVal = yVal;
        XTest = xTest;
        YTest = yTest;
        PixelScale = pixelScale;
        MeanImage = meanImage;
    }

    /// <summary>The dataset the splits come from.</summary>
    public DatasetKind Kind { get; }

    /// <summary>Training inputs (N_train, C, H, W): the first N_train rows of the training files.</summary>
    public Tensor<T> XTrain { get; }

    /// <summary>N_train training labels in [0, <see cref="NumClasses"/>).</summary>
    public int[] YTrain { get; }

    /// <summary>Validation inputs (N_val, C, H, W): the N_val rows of the training files right after the training rows.</summary>
    public Tensor<T> XVal { get; }

    /// <summary>N_val validation labels in [0, <see cref="NumClasses"/>).</summary>
    public int[] YVal { get; }

    /// <summary>Test inputs (N_test, C, H, W): the first N_test rows of the test files.</summary>
    public Tensor<T> XTest { get; }

    /// <summary>N_test test labels in [0, <see cref="NumClasses"/>).</summary>
    public int[] YTest { get; }

    /// <summary>Number of classes: 10 for every supported dataset.</summary>
    public int NumClasses => 10;

    /// <summary>The shape of one input, (C, H, W): (1, 28, 28) for MNIST and Fashion-MNIST, (3, 32, 32)
    /// for CIFAR-10. A new array on every call.</summary>
    public int[] InputShape => XTrain.Shape.AsSpan()[1..].ToArray();

    /// <summary>The factor every pixel byte was multiplied by: 1/255 when the data was scaled to [0, 1], else 1.</summary>
    public T PixelScale { get; }

    /// <summary>The per-pixel mean (C, H, W) of the scaled training split, subtracted from all three splits;
    /// null when <see cref="DataSplitOptions.SubtractMean"/> was false. Preprocess a new input the same way
    /// before giving it to a model trained on these splits.</summary>
    public Tensor<T>? MeanImage { get; }

    /// <summary>The training and validation splits as a <see cref="Solver{T}"/>'s data (not copied).</summary>
    public SolverData<T> ToSolverData() => new(XTrain, YTrain, XVal, YVal);

    /// <summary>The dataset and split shapes, for example
    /// <c>Mnist: train (59000, 1, 28, 28), val (1000, 1, 28, 28), test (10000, 1, 28, 28)</c>.</summary>
    public override string ToString() => $"{Kind}: train {XTrain.Shape}, val {XVal.Shape}, test {XTest.Shape}";
}
