using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>Bad input to the normalisation layers becomes a clear exception on every backend.</summary>
public class NormBadInputTests
{
    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void GroupNorm_ChannelsNotDivisibleByGroups_Throws(Backend backend)
    {
        var ex = Assert.Throws<ArgumentException>(() => GroupNorm.Forward(Tensor<float>.Zeros([2, 6, 3, 3]),
            Tensor<float>.Ones([6]), Tensor<float>.Zeros([6]), groups: 4, kernels: Kernels.For<float>(backend)));
        Assert.Contains("6 channels", ex.Message);
        Assert.Contains("4", ex.Message);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNorm_GammaOfWrongLength_Throws(Backend backend)
    {
        var ex = Assert.Throws<ArgumentException>(() => SpatialBatchNorm.Forward(Tensor<float>.Zeros([2, 3, 4, 4]),
            Tensor<float>.Ones([4]), Tensor<float>.Zeros([3]), new BatchNormParam<float>(), Kernels.For<float>(backend)));
        Assert.Equal("gamma", ex.ParamName);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-5)]
    [InlineData(double.NaN)]
    public void BatchNormParam_NonPositiveEps_Throws(double eps)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormParam<double> { Eps = eps });
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerNorm.Forward(Tensor<double>.Zeros([2, 3]),
            Tensor<double>.Ones([3]), Tensor<double>.Zeros([3]), eps));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    public void BatchNormParam_MomentumOutsideUnitInterval_Throws(double momentum) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormParam<float> { Momentum = momentum });

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNorm_RunningStatisticsOfWrongLength_Throws(Backend backend)
    {
        var bnParam = new BatchNormParam<double> { RunningMean = Tensor<double>.Zeros([4]), RunningVar = Tensor<double>.Zeros([5]) };
        var ex = Assert.Throws<ArgumentException>(() => BatchNorm.Forward(Tensor<double>.Zeros([2, 5]),
            Tensor<double>.Ones([5]), Tensor<double>.Zeros([5]), bnParam, Kernels.For<double>(backend)));
        Assert.Equal("RunningMean", ex.ParamName);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void NormKernels_BadEpsMomentumOrLengths_Throw(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        NormGeometry g = NormGeometry.Create(2, 3, 4, 3);
        float[] x = new float[24], c = new float[3], y = new float[24];
        Assert.ThrowsAny<ArgumentException>(() =>
            kernels.BatchNormForward(g, NormMode.Train, 0.0, 0.9, x, c, c, new float[3], new float[3], y, new float[3], new float[3]));
        Assert.ThrowsAny<ArgumentException>(() =>
            kernels.BatchNormForward(g, NormMode.Train, 1e-5, 2.0, x, c, c, new float[3], new float[3], y, new float[3], new float[3]));
        Assert.ThrowsAny<ArgumentException>(() =>
            kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, x, c, c, new float[2], new float[3], y, new float[3], new float[3]));
        Assert.ThrowsAny<ArgumentException>(() =>
            kernels.GroupNormForward(g, 1e-5, x, c, c, y, new float[3], new float[6]));
        Assert.ThrowsAny<ArgumentException>(() =>
            kernels.GroupNormBackward(g, x, c, new float[6], new float[6], new float[23], y, c, c));
    }

    [Fact]
    public void BatchNorm_TestModeWithoutRunningStatistics_Throws()
    {
        var bnParam = new BatchNormParam<float> { Mode = NormMode.Test };
        var ex = Assert.Throws<InvalidOperationException>(() => BatchNorm.Forward(Tensor<float>.Zeros([2, 3]),
            Tensor<float>.Ones([3]), Tensor<float>.Zeros([3]), bnParam));
        Assert.Contains("running statistics", ex.Message);
    }
}
