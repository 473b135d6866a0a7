using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>Bad input to convolution becomes a clear exception on every backend, never a crash.</summary>
public class Conv2dBadInputTests
{
    private static readonly ConvGeometry Geometry =
        ConvGeometry.Create(new TensorShape([2, 3, 5, 5]), new TensorShape([4, 3, 3, 3]), new ConvParam(1, 1));

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dForward_ChannelMismatch_ThrowsNamingBothShapes(Backend backend)
    {
        var x = Tensor<float>.Zeros([2, 3, 5, 5]);
        var w = Tensor<float>.Zeros([4, 2, 3, 3]);
        var ex = Assert.Throws<ArgumentException>(() =>
            Conv2d.Forward(x, w, null, new ConvParam(), Kernels.For<float>(backend)));
        Assert.Contains("(4, 2, 3, 3)", ex.Message);
        Assert.Contains("(2, 3, 5, 5)", ex.Message);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dForward_KernelLargerThanPaddedInput_Throws(Backend backend)
    {
        var x = Tensor<float>.Zeros([1, 1, 3, 3]);
        var w = Tensor<float>.Zeros([1, 1, 7, 7]);
        var ex = Assert.Throws<ArgumentException>(() =>
            Conv2d.Forward(x, w, null, new ConvParam(stride: 1, pad: 1), Kernels.For<float>(backend)));
        Assert.Contains("7x7", ex.Message);
        Assert.Contains("5x5", ex.Message);
    }

    [Fact]
    public void Conv2dForward_BiasOfWrongLength_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Conv2d.Forward(
            Tensor<float>.Zeros([1, 3, 5, 5]), Tensor<float>.Zeros([4, 3, 3, 3]), Tensor<float>.Zeros([3]), new ConvParam()));
        Assert.Equal("b", ex.ParamName);
    }

    [Fact]
    public void Conv2dBackward_DoutOfWrongShape_Throws()
    {
        var (_, cache) = Conv2d.Forward(Tensor<double>.Zeros([1, 3, 5, 5]), Tensor<double>.Zeros([4, 3, 3, 3]), null,
            new ConvParam(pad: 1));
        var ex = Assert.Throws<ArgumentException>(() => Conv2d.Backward(Tensor<double>.Zeros([1, 4, 3, 3]), cache));
        Assert.Contains("(1, 4, 5, 5)", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void TensorShape_ZeroOrNegativeSize_Throws(int size)
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor<float>.Zeros([2, size, 4]));
        Assert.Contains($"(2, {size}, 4)", ex.Message);
    }

    [Fact]
    public void ConvParam_ZeroStrideOrNegativePad_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvParam(stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvParam(pad: -1));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dKernel_MismatchedLengths_ThrowNamingCounts(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var workspace = new float[kernels.Conv2dWorkspaceLength(Geometry, ConvPass.Forward)];
        var ex = Assert.Throws<ArgumentException>(() => kernels.Conv2dForward(Geometry, new float[149],
            new float[108], default, new float[200], workspace));
        Assert.Contains("149", ex.Message);
        Assert.Contains("150", ex.Message);
        Assert.Throws<ArgumentException>(() => kernels.Conv2dForward(Geometry, new float[150], new float[108],
            new float[3], new float[200], workspace));
        Assert.Throws<ArgumentException>(() => kernels.Conv2dBackward(Geometry, new float[150], new float[108],
            new float[200], new float[150], new float[107], default, new float[10_000]));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dKernel_EmptyRequiredSpans_Throw(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var workspace = new double[Math.Max(1, kernels.Conv2dWorkspaceLength(Geometry, ConvPass.Backward))];
        Assert.Throws<ArgumentException>(() =>
            kernels.Conv2dForward(Geometry, default, new double[108], default, new double[200], workspace));
        Assert.Throws<ArgumentException>(() =>
            kernels.Conv2dForward(Geometry, new double[150], new double[108], default, default, workspace));
        Assert.Throws<ArgumentException>(() =>
            kernels.Conv2dBackward(Geometry, new double[150], new double[108], default, new double[150], default, default, workspace));
    }

    [Theory]
    [InlineData(Backend.Native)]
    [InlineData(Backend.Managed)]
    public void Conv2dKernel_WorkspaceTooSmall_Throws(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var ex = Assert.Throws<ArgumentException>(() => kernels.Conv2dForward(Geometry, new float[150],
            new float[108], default, new float[200], new float[10]));
        Assert.Contains("10", ex.Message);
    }

    [Fact]
    public void ConvGeometry_ProductLargerThanAnArray_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => ConvGeometry.Create(
            new TensorShape([1, 1, 46341, 46341]), new TensorShape([4, 1, 1, 1]), new ConvParam()));
        Assert.Contains("more elements than an array can hold", ex.Message);
    }
}
