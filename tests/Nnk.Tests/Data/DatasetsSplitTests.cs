using Nnk;

namespace Nnk.Tests.Data;

/// <summary>
/// <see cref="Datasets"/> on small generated MNIST-format and CIFAR-10 sets: the split rows and
/// shapes of the seeds' <c>get_CIFAR10_data</c>, mean subtraction and scaling checked numerically
/// against the raw bytes, the file names accepted, and the solver data.
/// </summary>
public class DatasetsSplitTests
{
    private const int Train = 60, Test = 20, NumTraining = 50, NumValidation = 10;

    private static DataSplitOptions SmallSplits(int numTest = Test) =>
        new() { NumTraining = NumTraining, NumValidation = NumValidation, NumTest = numTest };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadMnist_SmallSet_CutsTrainValTestRowsAsGetCifar10Data(bool gzip)
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteMnist(dir.Path, Train, Test, gzip);

        DataSplits<double> splits = Datasets.LoadMnist<double>(dir.Path, SmallSplits(numTest: 15));

        Assert.Equal([NumTraining, 1, 28, 28], splits.XTrain.Shape);
        Assert.Equal([NumValidation, 1, 28, 28], splits.XVal.Shape);
        Assert.Equal([15, 1, 28, 28], splits.XTest.Shape);
        Assert.Equal(raw.TrainLabels[..NumTraining].Select(b => (int)b), splits.YTrain);
        Assert.Equal(raw.TrainLabels[NumTraining..].Select(b => (int)b), splits.YVal);
        Assert.Equal(raw.TestLabels[..15].Select(b => (int)b), splits.YTest);
        Assert.Equal([1, 28, 28], splits.InputShape);
        Assert.Equal(10, splits.NumClasses);
        Assert.Equal(DatasetKind.Mnist, splits.Kind);
    }

    [Fact]
    public void LoadMnist_Defaults_ScaleTo01AndSubtractTrainingMeanFromEverySplit_Float64()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteMnist(dir.Path, Train, Test);

        DataSplits<double> splits = Datasets.LoadMnist<double>(dir.Path, SmallSplits());

        double[] mean = PixelMean(raw.TrainImages, NumTraining, SyntheticData.MnistPixels, scale: 1.0 / 255);
        Assert.Equal(1.0 / 255, splits.PixelScale);
        AssertClose(mean, splits.MeanImage!.Span, 1e-15, "MeanImage");
        AssertPreprocessed(raw.TrainImages, 0, splits.XTrain.Span, 1.0 / 255, mean, 1e-15, "XTrain");
        AssertPreprocessed(raw.TrainImages, NumTraining, splits.XVal.Span, 1.0 / 255, mean, 1e-15, "XVal");
        AssertPreprocessed(raw.TestImages, 0, splits.XTest.Span, 1.0 / 255, mean, 1e-15, "XTest");
        double[] trainMean = PixelMean(splits.XTrain.Span.ToArray(), NumTraining, SyntheticData.MnistPixels);
        Assert.True(trainMean.Max(Math.Abs) < 1e-15, $"the training split's per-pixel mean reaches {trainMean.Max(Math.Abs)}; expected 0 within 1e-15");
    }

    [Fact]
    public void LoadFashionMnist_Float32_TrainingMeanIsZeroAndValShiftedBySameMean()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteMnist(dir.Path, Train, Test, gzip: true);

        DataSplits<float> splits = Datasets.LoadFashionMnist<float>(dir.Path, SmallSplits());

        Assert.Equal(DatasetKind.FashionMnist, splits.Kind);
        double[] mean = PixelMean(raw.TrainImages, NumTraining, SyntheticData.MnistPixels, scale: 1.0 / 255);
        AssertPreprocessed(raw.TrainImages, NumTraining, splits.XVal.Span, 1.0 / 255, mean, 1e-6, "XVal");
        AssertPreprocessed(raw.TestImages, 0, splits.XTest.Span, 1.0 / 255, mean, 1e-6, "XTest");
        double[] trainMean = PixelMean(splits.XTrain.Span.ToArray().Select(v => (double)v).ToArray(), NumTraining, SyntheticData.MnistPixels);
        Assert.True(trainMean.Max(Math.Abs) < 1e-6, $"the training split's per-pixel mean reaches {trainMean.Max(Math.Abs)}; expected 0 within 1e-6");
    }

    [Fact]
    public void LoadMnist_NoMeanNoScale_GivesTheRawBytesExactly()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteMnist(dir.Path, Train, Test);
        DataSplitOptions options = SmallSplits();
        options.SubtractMean = false;
        options.Scale = false;

        DataSplits<float> splits = Datasets.LoadMnist<float>(dir.Path, options);

        Assert.Null(splits.MeanImage);
        Assert.Equal(1f, splits.PixelScale);
        Assert.Equal(raw.TrainImages[..(NumTraining * 784)].Select(b => (float)b), splits.XTrain.Span.ToArray());
        Assert.Equal(raw.TrainImages[(NumTraining * 784)..].Select(b => (float)b), splits.XVal.Span.ToArray());
        Assert.Equal(raw.TestImages.Select(b => (float)b), splits.XTest.Span.ToArray());
    }

    [Fact]
    public void LoadCifar10_FiveBatchesAndTest_ConcatenatesInOrderUnscaledMinusTrainingMean()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteCifar10(dir.Path, perBatch: 4, test: 6);
        var options = new DataSplitOptions { NumTraining = 15, NumValidation = 5, NumTest = 6 };

        DataSplits<double> splits = Datasets.LoadCifar10<double>(dir.Path, options);

        Assert.Equal([15, 3, 32, 32], splits.XTrain.Shape);
        Assert.Equal([5, 3, 32, 32], splits.XVal.Shape);
        Assert.Equal([6, 3, 32, 32], splits.XTest.Shape);
        Assert.Equal([3, 32, 32], splits.InputShape);
        Assert.Equal(raw.TrainLabels[..15].Select(b => (int)b), splits.YTrain);
        Assert.Equal(raw.TrainLabels[15..].Select(b => (int)b), splits.YVal);
        Assert.Equal(raw.TestLabels.Select(b => (int)b), splits.YTest);
        Assert.Equal(1.0, splits.PixelScale);
        double[] mean = PixelMean(raw.TrainImages, 15, Cifar10File.ImageBytes, scale: 1.0);
        AssertPreprocessed(raw.TrainImages, 0, splits.XTrain.Span, 1.0, mean, 1e-12, "XTrain");
        AssertPreprocessed(raw.TrainImages, 15, splits.XVal.Span, 1.0, mean, 1e-12, "XVal");
        AssertPreprocessed(raw.TestImages, 0, splits.XTest.Span, 1.0, mean, 1e-12, "XTest");
    }

    [Fact]
    public void LoadCifar10_BatchesInArchiveSubdirectory_AreFound()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteCifar10(Path.Combine(dir.Path, "cifar-10-batches-bin"), perBatch: 2, test: 3);
        var options = new DataSplitOptions { NumTraining = 8, NumValidation = 2, NumTest = 3, Scale = true };

        DataSplits<float> splits = Datasets.Load<float>(DatasetKind.Cifar10, dir.Path, options);

        Assert.Equal(raw.TestLabels.Select(b => (int)b), splits.YTest);
        Assert.Equal(1f / 255, splits.PixelScale);
    }

    [Fact]
    public void LoadMnist_RawAndGzipBothPresent_PrefersTheRawFile()
    {
        using var dir = new TempDirectory();
        var raw = SyntheticData.WriteMnist(dir.Path, Train, Test);
        File.WriteAllBytes(Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz"), [0x1f, 0x8b, 0xff]);

        DataSplits<float> splits = Datasets.LoadMnist<float>(dir.Path, SmallSplits());

        Assert.Equal(raw.TrainLabels[..NumTraining].Select(b => (int)b), splits.YTrain);
    }

    [Fact]
    public void ToSolverData_ReferencesTheTrainingAndValidationSplits()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, Train, Test);
        DataSplits<float> splits = Datasets.LoadMnist<float>(dir.Path, SmallSplits());

        SolverData<float> data = splits.ToSolverData();

        Assert.Same(splits.XTrain, data.XTrain);
        Assert.Same(splits.YTrain, data.YTrain);
        Assert.Same(splits.XVal, data.XVal);
        Assert.Same(splits.YVal, data.YVal);
    }

    private static double[] PixelMean(IReadOnlyList<byte> images, int rows, int pixels, double scale)
    {
        var mean = new double[pixels];
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < pixels; p++)
                mean[p] += images[r * pixels + p] * scale;
        return Array.ConvertAll(mean, m => m / rows);
    }

    private static double[] PixelMean(double[] values, int rows, int pixels)
    {
        var mean = new double[pixels];
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < pixels; p++)
                mean[p] += values[r * pixels + p];
        return Array.ConvertAll(mean, m => m / rows);
    }

    private static void AssertPreprocessed<T>(
        byte[] images, int firstRow, ReadOnlySpan<T> actual, double scale, double[] mean, double tolerance, string name)
        where T : System.Numerics.INumberBase<T>
    {
        int pixels = mean.Length;
        for (int i = 0; i < actual.Length; i++)
        {
            double expected = images[firstRow * pixels + i] * scale - mean[i % pixels];
            double got = double.CreateChecked(actual[i]);
            if (Math.Abs(got - expected) > tolerance)
                Assert.Fail($"{name}[{i}] is {got} but pixel * {scale} - mean is {expected}; tolerance {tolerance}");
        }
    }

    private static void AssertClose<T>(double[] expected, ReadOnlySpan<T> actual, double tolerance, string name)
        where T : System.Numerics.INumberBase<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(double.CreateChecked(actual[i]) - expected[i]) > tolerance)
                Assert.Fail($"{name}[{i}] is {actual[i]} but expected {expected[i]}; tolerance {tolerance}");
    }
}
