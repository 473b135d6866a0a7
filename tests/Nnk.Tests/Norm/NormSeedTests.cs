using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>The seeds' batch, spatial batch, layer and group norm checks, on every backend.</summary>
public class NormSeedTests
{
    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNormForward_Train_NormalisesEachFeature_Float64(Backend backend)
    {
        var x = NormTestData.Shifted<double>([200, 3], seed: 1, scale: 4, shift: 10);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var (plain, _) = BatchNorm.Forward(x, Tensor<double>.Ones([3]), Tensor<double>.Zeros([3]), new BatchNormParam<double>(), kernels);
        var (mean, std) = NormTestData.ChannelStats(plain, 200, 3, 1);
        Assert.All(mean, m => Assert.True(Math.Abs(m) < 1e-7, $"mean {m:E3}"));
        Assert.All(std, s => Assert.True(Math.Abs(s - 1) < 1e-3, $"std {s}"));

        var gamma = Tensor<double>.FromArray([1.0, 2.0, 3.0], [3]);
        var beta = Tensor<double>.FromArray([11.0, 12.0, 13.0], [3]);
        var (scaled, _) = BatchNorm.Forward(x, gamma, beta, new BatchNormParam<double>(), kernels);
        (mean, std) = NormTestData.ChannelStats(scaled, 200, 3, 1);
        for (int d = 0; d < 3; d++)
        {
            Assert.True(Math.Abs(mean[d] - beta.Span[d]) < 1e-7, $"mean {mean[d]} vs beta {beta.Span[d]}");
            Assert.True(Math.Abs(std[d] - gamma.Span[d]) < 1e-3 * gamma.Span[d], $"std {std[d]} vs gamma {gamma.Span[d]}");
        }
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SpatialBatchNormForward_Train_NormalisesEachChannel_Float64(Backend backend)
    {
        var x = NormTestData.Shifted<double>([10, 3, 4, 5], seed: 2, scale: 4, shift: 10);
        var gamma = Tensor<double>.FromArray([3.0, 4.0, 5.0], [3]);
        var beta = Tensor<double>.FromArray([0.0, 1.0, 2.0], [3]);
        var (y, _) = SpatialBatchNorm.Forward(x, gamma, beta, new BatchNormParam<double>(), Kernels.For<double>(backend));
        var (mean, std) = NormTestData.ChannelStats(y, 10, 3, 20);
        for (int c = 0; c < 3; c++)
        {
            Assert.True(Math.Abs(mean[c] - beta.Span[c]) < 1e-7, $"mean {mean[c]} vs beta {beta.Span[c]}");
            Assert.True(Math.Abs(std[c] - gamma.Span[c]) < 1e-3 * gamma.Span[c], $"std {std[c]} vs gamma {gamma.Span[c]}");
        }
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void GroupNormForward_NormalisesEachSampleAndGroup_Float64(Backend backend)
    {
        var x = NormTestData.Shifted<double>([4, 6, 4, 5], seed: 3, scale: 4, shift: 10);
        var (y, _) = GroupNorm.Forward(x, Tensor<double>.Ones([6]), Tensor<double>.Zeros([6]), groups: 2,
            kernels: Kernels.For<double>(backend));
        var (mean, std) = NormTestData.GroupStats(y, 4, 6, 20, 2);
        Assert.All(mean, m => Assert.True(Math.Abs(m) < 1e-7, $"mean {m:E3}"));
        Assert.All(std, s => Assert.True(Math.Abs(s - 1) < 1e-3, $"std {s}"));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNorm_TestModeAfterWarmup_UsesRunningStatistics_Float64(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var bnParam = new BatchNormParam<double>();
        var gamma = Tensor<double>.Ones([3]);
        var beta = Tensor<double>.Zeros([3]);
        for (int t = 0; t < 50; t++)
            BatchNorm.Forward(NormTestData.Shifted<double>([200, 3], seed: 100 + t, scale: 4, shift: 10), gamma, beta, bnParam, kernels);

        bnParam.Mode = NormMode.Test;
        var runningMean = bnParam.RunningMean!.Span.ToArray();
        var (y, _) = BatchNorm.Forward(NormTestData.Shifted<double>([200, 3], seed: 99, scale: 4, shift: 10), gamma, beta, bnParam, kernels);

        var (mean, std) = NormTestData.ChannelStats(y, 200, 3, 1);
        Assert.All(mean, m => Assert.True(Math.Abs(m) < 0.2, $"test-time mean {m}"));
        Assert.All(std, s => Assert.True(Math.Abs(s - 1) < 0.1, $"test-time std {s}"));
        Assert.Equal(runningMean, bnParam.RunningMean!.Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SpatialBatchNorm_TestModeAfterWarmup_UsesRunningStatistics_Float64(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var bnParam = new BatchNormParam<double>();
        var gamma = Tensor<double>.Ones([3]);
        var beta = Tensor<double>.Zeros([3]);
        for (int t = 0; t < 50; t++)
            SpatialBatchNorm.Forward(NormTestData.Shifted<double>([10, 3, 4, 5], seed: 200 + t, scale: 2, shift: 10), gamma, beta, bnParam, kernels);

        bnParam.Mode = NormMode.Test;
        var (y, _) = SpatialBatchNorm.Forward(NormTestData.Shifted<double>([10, 3, 4, 5], seed: 199, scale: 2, shift: 10), gamma, beta, bnParam, kernels);
        var (mean, std) = NormTestData.ChannelStats(y, 10, 3, 20);
        Assert.All(mean, m => Assert.True(Math.Abs(m) < 0.2, $"test-time mean {m}"));
        Assert.All(std, s => Assert.True(Math.Abs(s - 1) < 0.1, $"test-time std {s}"));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNorm_RunningStatistics_FollowTheSeedsRule(Backend backend)
    {
        var x = NormTestData.Shifted<double>([50, 4], seed: 5, scale: 2, shift: 3);
        var bnParam = new BatchNormParam<double> { Momentum = 0.8 };
        bnParam.RunningMean = Tensor<double>.Full([4], 1.0);
        bnParam.RunningVar = Tensor<double>.Full([4], 2.0);
        BatchNorm.Forward(x, Tensor<double>.Ones([4]), Tensor<double>.Zeros([4]), bnParam, Kernels.For<double>(backend));

        var (mean, std) = NormTestData.ChannelStats(x, 50, 4, 1);
        for (int d = 0; d < 4; d++)
        {
            Assert.Equal(0.8 * 1.0 + 0.2 * mean[d], bnParam.RunningMean.Span[d], 1e-12);
            Assert.Equal(0.8 * 2.0 + 0.2 * std[d] * std[d], bnParam.RunningVar.Span[d], 1e-12);
        }
    }

    public static TheoryData<Backend, string> LayersOnBackends
    {
        get
        {
            var data = new TheoryData<Backend, string>();
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed, Backend.ManagedNaive })
                foreach (string layer in new[] { "batchnorm", "spatial", "layernorm", "groupnorm" })
                    data.Add(backend, layer);
            return data;
        }
    }

    // The seeds' gradient checks: batch norm (4, 5), spatial batch norm (2, 3, 4, 5), group norm
    // (2, 6, 4, 5) with G = 2, layer norm (4, 5).
    [Theory]
    [MemberData(nameof(LayersOnBackends))]
    public void NormBackward_MatchesNumericGradient_Float64(Backend backend, string layer)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        int[] shape = layer switch { "spatial" => [2, 3, 4, 5], "groupnorm" => [2, 6, 4, 5], _ => [4, 5] };
        int channels = shape[1];
        var x = NormTestData.Shifted<double>(shape, seed: 7, scale: 5, shift: 12);
        var gamma = Tensor<double>.RandN([channels], seed: 8);
        var beta = Tensor<double>.RandN([channels], seed: 9);
        var dout = Tensor<double>.RandN(shape, seed: 10);
        Func<Tensor<double>, Tensor<double>, Tensor<double>, (Tensor<double>, NormCache<double>)> forward = layer switch
        {
            "batchnorm" => (a, g, b) => BatchNorm.Forward(a, g, b, new BatchNormParam<double>(), kernels),
            "spatial" => (a, g, b) => SpatialBatchNorm.Forward(a, g, b, new BatchNormParam<double>(), kernels),
            "layernorm" => (a, g, b) => LayerNorm.Forward(a, g, b, kernels: kernels),
            _ => (a, g, b) => GroupNorm.Forward(a, g, b, groups: 2, kernels: kernels),
        };

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => forward(v, gamma, beta).Item1, x, dout);
        var dgammaNum = GradientCheck.EvalNumericalGradientArray(v => forward(x, v, beta).Item1, gamma, dout);
        var dbetaNum = GradientCheck.EvalNumericalGradientArray(v => forward(x, gamma, v).Item1, beta, dout);
        var (dx, dgamma, dbeta) = NormLayerBackward(dout, forward(x, gamma, beta).Item2);

        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-6, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
        Assert.True(GradientCheck.RelError(dgamma, dgammaNum) < 1e-8, $"dgamma rel_error {GradientCheck.RelError(dgamma, dgammaNum):E3}");
        Assert.True(GradientCheck.RelError(dbeta, dbetaNum) < 1e-8, $"dbeta rel_error {GradientCheck.RelError(dbeta, dbetaNum):E3}");
    }

    private static (Tensor<double>, Tensor<double>, Tensor<double>) NormLayerBackward(Tensor<double> dout, NormCache<double> cache) =>
        cache.PerGroup ? GroupNorm.Backward(dout, cache) : BatchNorm.Backward(dout, cache);

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void BatchNorm_LargeMeanFloat32_StillGivesUnitVariance(Backend backend)
    {
        var x = NormTestData.Shifted<float>([200, 3, 4, 4], seed: 11, scale: 1, shift: 1e4);
        var (y, _) = SpatialBatchNorm.Forward(x, Tensor<float>.Ones([3]), Tensor<float>.Zeros([3]), new BatchNormParam<float>(),
            Kernels.For<float>(backend));
        var (_, std) = NormTestData.ChannelStats(y, 200, 3, 16);
        Assert.All(std, s => Assert.True(Math.Abs(s * s - 1) < 1e-2, $"variance {s * s}"));
    }
}
