using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// Cuts a <see cref="RawDataset"/> into splits and preprocesses them exactly as the seeds'
/// <c>get_CIFAR10_data</c>: validation = training-file rows [num_training, num_training +
/// num_validation), training = rows [0, num_training), test = test-file rows [0, num_test); the
/// per-pixel mean of the training split is subtracted from all three.
/// </summary>
internal static class SplitBuilder
{
    public static DataSplits<T> Build<T>(RawDataset raw, SplitPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int trainRows = raw.TrainLabels.Length, testRows = raw.TestLabels.Length;
        if ((long)plan.NumTraining + plan.NumValidation > trainRows)
            throw new ArgumentException(
                $"{plan.NumTraining} training + {plan.NumValidation} validation rows = {(long)plan.NumTraining + plan.NumValidation} " +
                $"were requested, but the {raw.Name} training data ({raw.TrainSource}) holds only {trainRows}; " +
                "lower DataSplitOptions.NumTraining or NumValidation.", "options");
        if (plan.NumTest > testRows)
            throw new ArgumentException(
                $"{plan.NumTest} test rows were requested, but the {raw.Name} test data ({raw.TestSource}) holds only " +
                $"{testRows}; lower DataSplitOptions.NumTest.", "options");

        int sampleLength = raw.SampleShape.Aggregate(1, (product, d) => product * d);
        double scale = plan.Scale ? 1.0 / 255.0 : 1.0;
        ReadOnlySpan<byte> trainImages = raw.TrainImages.Span;
        double[] mean = plan.SubtractMean
            ? PixelMean(trainImages[..(plan.NumTraining * sampleLength)], sampleLength, scale)
            : new double[sampleLength];
        var negativeMean = new T[sampleLength];
        for (int p = 0; p < sampleLength; p++)
            negativeMean[p] = T.CreateChecked(-mean[p]);
        var pixelScale = T.CreateChecked(scale);

        Tensor<T> xTrain = Preprocess(trainImages, 0, plan.NumTraining, raw.SampleShape, pixelScale, negativeMean);
        Tensor<T> xVal = Preprocess(trainImages, plan.NumTraining, plan.NumValidation, raw.SampleShape, pixelScale, negativeMean);
        Tensor<T> xTest = Preprocess(raw.TestImages.Span, 0, plan.NumTest, raw.SampleShape, pixelScale, negativeMean);
        int[] yTrain = Labels(raw.TrainLabels.Span.Slice(0, plan.NumTraining));
        int[] yVal = Labels(raw.TrainLabels.Span.Slice(plan.NumTraining, plan.NumValidation));
        int[] yTest = Labels(raw.TestLabels.Span[..plan.NumTest]);
        Tensor<T>? meanImage = plan.SubtractMean
            ? new Tensor<T>(Array.ConvertAll(mean, T.CreateChecked), raw.SampleShape)
            : null;
        return new DataSplits<T>(raw.Kind, xTrain, yTrain, xVal, yVal, xTest, yTest, pixelScale, meanImage);
    }

    // Sums bytes exactly in integers, so the mean is the correctly rounded double of the exact mean,
    // whatever T is; numpy's np.mean over float64 pixels gives the same to within rounding.
    private static double[] PixelMean(ReadOnlySpan<byte> rows, int sampleLength, double scale)
    {
        var sums = new long[sampleLength];
        int count = rows.Length / sampleLength;
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<byte> row = rows.Slice(r * sampleLength, sampleLength);
            for (int p = 0; p < row.Length; p++)
                sums[p] += row[p];
        }
        var mean = new double[sampleLength];
        for (int p = 0; p < sampleLength; p++)
            mean[p] = sums[p] / (double)count * scale;
        return mean;
    }

    // Each row becomes byte * pixelScale - mean: a vectorised conversion, then one fused multiply-add
    // while the row is still in cache.
    private static Tensor<T> Preprocess<T>(
        ReadOnlySpan<byte> images, int firstRow, int rows, int[] sampleShape, T pixelScale, T[] negativeMean)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int sampleLength = negativeMean.Length;
        T[] data = GC.AllocateUninitializedArray<T>(rows * sampleLength);
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = data.AsSpan(r * sampleLength, sampleLength);
            TensorPrimitives.ConvertTruncating(images.Slice((firstRow + r) * sampleLength, sampleLength), row);
            TensorPrimitives.MultiplyAdd(row, pixelScale, negativeMean, row);
        }
        return new Tensor<T>(data, [rows, .. sampleShape]);
    }

    private static int[] Labels(ReadOnlySpan<byte> labels)
    {
        var result = new int[labels.Length];
        TensorPrimitives.ConvertTruncating(labels, result.AsSpan());
        return result;
    }
}
