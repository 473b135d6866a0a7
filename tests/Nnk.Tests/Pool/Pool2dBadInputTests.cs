using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>Bad input to pooling becomes a clear exception on every backend, never a crash.</summary>
public class Pool2dBadInputTests
{
    private static readonly PoolGeometry Geometry = PoolGeometry.Create(new TensorShape([2, 3, 6, 6]), new PoolParam());

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Pool2dForward_WindowLargerThanPaddedInput_Throws(Backend backend)
    {
        var x = Tensor<float>.Zeros([1, 1, 3, 3]);
        var ex = Assert.Throws<ArgumentException>(() => MaxPool2d.Forward(x, new PoolParam(6, 6, 1, pad: 1), Kernels.For<float>(backend)));
        Assert.Contains("6x6", ex.Message);
        Assert.Contains("5x5", ex.Message);
        Assert.Throws<ArgumentException>(() => AvgPool2d.Forward(x, new PoolParam(2, 7, 1), Kernels.For<float>(backend)));
    }

    [Fact]
    public void PoolParam_PadNotSmallerThanWindow_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PoolParam(2, 2, stride: 2, pad: 2));
        Assert.Contains("smaller than the window", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PoolParam(0, 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PoolParam(2, 2, stride: 0));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Pool2dKernel_GeometryWithPadNotSmallerThanWindow_Throws(Backend backend)
    {
        PoolGeometry bad = Geometry with { PadH = 2 };
        Assert.Throws<ArgumentException>(() =>
            Kernels.For<double>(backend).AvgPool2dForward(bad, new double[216], new double[2 * 3 * 5 * 4]));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Pool2dKernel_WrongLengths_ThrowNamingCounts(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var ex = Assert.Throws<ArgumentException>(() => kernels.MaxPool2dForward(Geometry, new float[216], new float[54], new int[53]));
        Assert.Contains("53", ex.Message);
        Assert.Contains("54", ex.Message);
        Assert.Throws<ArgumentException>(() => kernels.MaxPool2dForward(Geometry, new float[215], new float[54], new int[54]));
        Assert.Throws<ArgumentException>(() => kernels.MaxPool2dBackward(Geometry, new float[54], new int[54], new float[217]));
        Assert.Throws<ArgumentException>(() => kernels.AvgPool2dBackward(Geometry, default, new float[216]));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void MaxPool2dBackward_IndexOutsideItsPlane_Throws(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        foreach (int badIndex in new[] { -1, 36 })
        {
            var argmax = new int[54];
            argmax[7] = badIndex;
            var ex = Assert.Throws<ArgumentException>(() => kernels.MaxPool2dBackward(Geometry, new double[54], argmax, new double[216]));
            Assert.Contains(badIndex.ToString(), ex.Message);
        }
    }

    [Fact]
    public void MaxPool2dBackward_DoutOfWrongShape_Throws()
    {
        var (_, cache) = MaxPool2d.Forward(Tensor<float>.Zeros([2, 3, 6, 6]), new PoolParam());
        var ex = Assert.Throws<ArgumentException>(() => MaxPool2d.Backward(Tensor<float>.Zeros([2, 3, 2, 2]), cache));
        Assert.Contains("(2, 3, 3, 3)", ex.Message);
    }
}
