using System.Numerics;
using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>
/// The managed normalisation kernels through <see cref="IKernels{T}"/>: the fast path against the
/// naive reference, the seed's graph and simplified backward passes against each other and a
/// numeric gradient, the statistics they produce, the running averages and the argument checks.
/// </summary>
public class ManagedNormalizationTests
{
    // (N, C, Spatial, Groups): one value per channel or group, C = 1, G = C, G = 1, Spatial 1 and
    // more, and widths that leave tails after the eight-wide vector loops.
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        { 1, 3, 1, 1 }, { 1, 1, 1, 1 }, { 1, 5, 1, 5 }, { 6, 1, 1, 1 }, { 3, 1, 13, 1 }, { 4, 6, 9, 6 },
        { 4, 6, 9, 1 }, { 3, 8, 5, 4 }, { 37, 21, 1, 3 }, { 5, 19, 1, 19 }, { 2, 12, 30, 3 }, { 8, 16, 1, 4 },
        { 1, 4, 17, 2 }, { 9, 40, 1, 1 }, { 5, 16, 12, 4 },
    };

    public static TheoryData<bool> BothKernels => new() { false, true };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormForward_FastMatchesNaive_Float64(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<double>(NormGeometry.Create(n, c, spatial, groups), BatchForwardOutputs, 1e-12);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormForward_FastMatchesNaive_Float32(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<float>(NormGeometry.Create(n, c, spatial, groups), BatchForwardOutputs, 1e-5);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormBackward_FastMatchesNaive_Float64(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<double>(NormGeometry.Create(n, c, spatial, groups), BatchBackwardOutputs, 1e-12);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormBackward_FastMatchesNaive_Float32(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<float>(NormGeometry.Create(n, c, spatial, groups), BatchBackwardOutputs, 1e-5);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GroupNormForward_FastMatchesNaive_Float64(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<double>(NormGeometry.Create(n, c, spatial, groups), GroupForwardOutputs, 1e-12);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GroupNormForward_FastMatchesNaive_Float32(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<float>(NormGeometry.Create(n, c, spatial, groups), GroupForwardOutputs, 1e-5);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GroupNormBackward_FastMatchesNaive_Float64(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<double>(NormGeometry.Create(n, c, spatial, groups), GroupBackwardOutputs, 1e-12);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GroupNormBackward_FastMatchesNaive_Float32(int n, int c, int spatial, int groups) =>
        AssertFastMatchesNaive<float>(NormGeometry.Create(n, c, spatial, groups), GroupBackwardOutputs, 1e-5);

    [Theory]
    [InlineData(100, 500, 1)]
    [InlineData(2, 3, 20)]
    [InlineData(1, 4, 1)]
    public void BatchNormBackwardAlt_MatchesGraphBackward_Float64(int n, int c, int spatial)
    {
        // The seed's cell: x = 5*randn + 12, the simplified backward against the graph.
        NormGeometry g = NormGeometry.Create(n, c, spatial);
        var data = NormData<double>.Create(g, seed: 231, scale: 5, shift: 12);
        var (mean, invStd) = TrainForward(ManagedKernels<double>.Naive, g, data);
        var graph = new Gradients<double>(g);
        var alt = new Gradients<double>(g);
        ManagedKernels<double>.Naive.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, graph.Dx, graph.Dgamma, graph.Dbeta);
        ManagedKernels<double>.Naive.BatchNormBackwardAlt(g, data.X, data.Gamma, mean, invStd, data.Dy, alt.Dx, alt.Dgamma, alt.Dbeta);
        Assert.True(GradientCheck.RelError<double>(alt.Dx, graph.Dx) < 1e-10, "dx");
        Assert.True(GradientCheck.RelError<double>(alt.Dgamma, graph.Dgamma) < 1e-10, "dgamma");
        Assert.True(GradientCheck.RelError<double>(alt.Dbeta, graph.Dbeta) < 1e-10, "dbeta");
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void BatchNormBackward_MatchesNumericGradient_Float64(bool fast)
    {
        // The seed's check: N, D = 4, 5; x = 5*randn + 12; dx, dgamma, dbeta against centred differences.
        IKernels<double> kernels = Managed<double>(fast);
        NormGeometry g = NormGeometry.Create(4, 5, 1);
        var data = NormData<double>.Create(g, seed: 231, scale: 5, shift: 12);
        AssertMatchesNumericGradient(g, data, (x, gamma, beta) =>
        {
            var y = new double[g.Length];
            kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, x, gamma, beta, new double[g.C], new double[g.C],
                y, new double[g.C], new double[g.C]);
            return y;
        }, (gradients) =>
        {
            var (mean, invStd) = TrainForward(kernels, g, data);
            kernels.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, gradients.Dx, gradients.Dgamma, gradients.Dbeta);
        });
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void GroupNormBackward_MatchesNumericGradient_Float64(bool fast)
    {
        // The seed's check: N, C, H, W = 2, 6, 4, 5 and G = 2.
        IKernels<double> kernels = Managed<double>(fast);
        NormGeometry g = NormGeometry.Create(2, 6, 20, 2);
        var data = NormData<double>.Create(g, seed: 231, scale: 5, shift: 12);
        int statistics = g.N * g.Groups;
        AssertMatchesNumericGradient(g, data, (x, gamma, beta) =>
        {
            var y = new double[g.Length];
            kernels.GroupNormForward(g, 1e-5, x, gamma, beta, y, new double[statistics], new double[statistics]);
            return y;
        }, (gradients) =>
        {
            double[] mean = new double[statistics], invStd = new double[statistics];
            kernels.GroupNormForward(g, 1e-5, data.X, data.Gamma, data.Beta, new double[g.Length], mean, invStd);
            kernels.GroupNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, gradients.Dx, gradients.Dgamma, gradients.Dbeta);
        });
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void BatchNormForward_TrainMode_GivesZeroMeanUnitStd_Float64(bool fast)
    {
        // gamma = 1, beta = 0: each channel of y has mean 0 and (biased) std 1, up to eps.
        foreach (NormGeometry g in new[] { NormGeometry.Create(200, 3, 1), NormGeometry.Create(2, 3, 20) })
        {
            var data = NormData<double>.Create(g, seed: 231, scale: 4, shift: 10);
            var y = new double[g.Length];
            Managed<double>(fast).BatchNormForward(g, NormMode.Train, 1e-5, 0.9, data.X, Filled(g.C, 1.0), new double[g.C],
                new double[g.C], new double[g.C], y, new double[g.C], new double[g.C]);
            for (int ch = 0; ch < g.C; ch++)
            {
                var (mean, std) = Moments(y, g, ch);
                Assert.True(Math.Abs(mean) < 1e-7, $"channel {ch} of {g}: mean {mean:E3}");
                Assert.True(Math.Abs(std - 1.0) < 1e-3, $"channel {ch} of {g}: std {std}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void GroupNormForward_GivesZeroMeanUnitStdPerGroup_Float64(bool fast)
    {
        NormGeometry g = NormGeometry.Create(2, 6, 20, 2);
        var data = NormData<double>.Create(g, seed: 231, scale: 4, shift: 10);
        var y = new double[g.Length];
        int length = g.ChannelsPerGroup * g.Spatial;
        Managed<double>(fast).GroupNormForward(g, 1e-5, data.X, Filled(g.C, 1.0), new double[g.C], y,
            new double[g.N * g.Groups], new double[g.N * g.Groups]);
        for (int item = 0; item < g.N * g.Groups; item++)
        {
            var (mean, std) = MeanStd(y.AsSpan(item * length, length));
            Assert.True(Math.Abs(mean) < 1e-7, $"group {item}: mean {mean:E3}");
            Assert.True(Math.Abs(std - 1.0) < 1e-3, $"group {item}: std {std}");
        }
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void BatchNormForward_TrainMode_UpdatesRunningStatisticsByTheRule_Float64(bool fast)
    {
        IKernels<double> kernels = Managed<double>(fast);
        NormGeometry g = NormGeometry.Create(7, 9, 3);
        var data = NormData<double>.Create(g, seed: 3, scale: 2, shift: 1);
        double[] oldMean = Tensor<double>.RandN([g.C], seed: 4).Span.ToArray();
        double[] oldVar = Tensor<double>.RandN([g.C], seed: 5).Span.ToArray().Select(Math.Abs).ToArray();

        // momentum 0 leaves exactly the batch statistics: 0*old + 1*batch.
        double[] batchMean = (double[])oldMean.Clone(), batchVar = (double[])oldVar.Clone(), saveMean = new double[g.C];
        kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.0, data.X, data.Gamma, data.Beta, batchMean, batchVar,
            new double[g.Length], saveMean, new double[g.C]);
        Assert.Equal(saveMean, batchMean);

        double[] runningMean = (double[])oldMean.Clone(), runningVar = (double[])oldVar.Clone();
        kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, data.X, data.Gamma, data.Beta, runningMean, runningVar,
            new double[g.Length], new double[g.C], new double[g.C]);
        for (int ch = 0; ch < g.C; ch++)
        {
            Assert.Equal(0.9 * oldMean[ch] + (1 - 0.9) * batchMean[ch], runningMean[ch]);
            Assert.Equal(0.9 * oldVar[ch] + (1 - 0.9) * batchVar[ch], runningVar[ch]);
        }
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void BatchNormForward_TestMode_UsesAndKeepsRunningStatistics_Float64(bool fast)
    {
        IKernels<double> kernels = Managed<double>(fast);
        NormGeometry g = NormGeometry.Create(5, 4, 6);
        var data = NormData<double>.Create(g, seed: 8, scale: 2, shift: 1);
        double[] runningMean = Tensor<double>.RandN([g.C], seed: 9).Span.ToArray();
        double[] runningVar = Tensor<double>.RandN([g.C], seed: 10).Span.ToArray().Select(v => v * v + 0.5).ToArray();
        double[] meanBefore = (double[])runningMean.Clone(), varBefore = (double[])runningVar.Clone();
        var y = new double[g.Length];

        kernels.BatchNormForward(g, NormMode.Test, 1e-5, 0.9, data.X, data.Gamma, data.Beta, runningMean, runningVar,
            y, [], []);

        Assert.Equal(meanBefore, runningMean);
        Assert.Equal(varBefore, runningVar);
        var expected = new double[g.Length];
        for (int k = 0; k < g.Length; k++)
        {
            int ch = k / g.Spatial % g.C;
            expected[k] = data.Gamma[ch] * (data.X[k] - runningMean[ch]) / Math.Sqrt(runningVar[ch] + 1e-5) + data.Beta[ch];
        }
        Assert.True(BackendData.MaxAbsErrorRelativeToScale<double>(y, expected) < 1e-12);
    }

    [Theory]
    [InlineData(1 << 18, 2, 1, 1, false)]
    [InlineData(64, 2, 4096, 1, false)]
    [InlineData(2, 1 << 18, 1, 1, true)]
    [InlineData(2, 4, 1 << 17, 2, true)]
    public void Forward_Float32WithLargeMean_KeepsVariance(int n, int c, int spatial, int groups, bool groupNorm)
    {
        // x = 1e4 + randn in float, each statistic over 2^18 values: sums of x^2 in float would
        // cancel the variance away.
        NormGeometry g = NormGeometry.Create(n, c, spatial, groups);
        float[] x = Tensor<float>.RandN([g.Length], seed: 17).Span.ToArray().Select(v => 1e4f + v).ToArray();
        var y = new float[g.Length];
        int statistics = groupNorm ? g.N * g.Groups : g.C, length = g.Length / statistics;
        float[] mean = new float[statistics], invStd = new float[statistics];
        if (groupNorm)
            ManagedKernels<float>.Fast.GroupNormForward(g, 1e-5, x, Filled(g.C, 1f), new float[g.C], y, mean, invStd);
        else
            ManagedKernels<float>.Fast.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, x, Filled(g.C, 1f), new float[g.C],
                new float[g.C], new float[g.C], y, mean, invStd);
        for (int j = 0; j < statistics; j++)
        {
            double[] values = groupNorm ? Widen(x.AsSpan(j * length, length)) : ChannelValues(x, g, j);
            double[] normalised = groupNorm ? Widen(y.AsSpan(j * length, length)) : ChannelValues(y, g, j);
            var (trueMean, trueStd) = MeanStd(values);
            double variance = 1.0 / ((double)invStd[j] * invStd[j]) - 1e-5;
            Assert.True(Math.Abs(variance - 1.0) < 1e-2, $"statistic {j}: variance {variance}");
            Assert.True(Math.Abs(variance - trueStd * trueStd) < 1e-3, $"statistic {j}: variance {variance}, data {trueStd * trueStd}");
            Assert.True(Math.Abs(mean[j] - trueMean) < 1e-2, $"statistic {j}: mean {mean[j]}, data {trueMean}");
            var (_, std) = MeanStd(normalised);
            Assert.True(Math.Abs(std * std - 1.0) < 1e-2, $"statistic {j}: variance of y {std * std}");
        }
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void GroupNorm_ChannelsNotDivisibleByGroups_ThrowsNamingGeometry(bool fast)
    {
        var g = new NormGeometry { N = 2, C = 6, Spatial = 9, Groups = 4 };
        var ex = Assert.Throws<ArgumentException>(() => Managed<float>(fast).GroupNormForward(g, 1e-5, new float[108],
            new float[6], new float[6], new float[108], new float[8], new float[8]));
        Assert.Equal("geometry", ex.ParamName);
        Assert.Contains("6 channels", ex.Message);
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void BatchNorm_GammaOfWrongLength_ThrowsWithExpectedAndActual(bool fast)
    {
        NormGeometry g = NormGeometry.Create(2, 3, 4);
        var ex = Assert.Throws<ArgumentException>(() => Managed<float>(fast).BatchNormForward(g, NormMode.Train, 1e-5, 0.9,
            new float[24], new float[4], new float[3], new float[3], new float[3], new float[24], new float[3], new float[3]));
        Assert.Equal("gamma", ex.ParamName);
        Assert.Contains("4 elements", ex.Message);
        Assert.Contains("needs 3", ex.Message);
    }

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.0)]
    [InlineData(true, -1e-5)]
    [InlineData(true, double.NaN)]
    [InlineData(true, double.PositiveInfinity)]
    public void Norm_EpsNotPositiveAndFinite_ThrowsNamingEps(bool fast, double eps)
    {
        NormGeometry g = NormGeometry.Create(2, 3, 4);
        var batch = Assert.ThrowsAny<ArgumentException>(() => Managed<float>(fast).BatchNormForward(g, NormMode.Train, eps, 0.9,
            new float[24], new float[3], new float[3], new float[3], new float[3], new float[24], new float[3], new float[3]));
        Assert.Equal("eps", batch.ParamName);
        var group = Assert.ThrowsAny<ArgumentException>(() => Managed<float>(fast).GroupNormForward(g, eps,
            new float[24], new float[3], new float[3], new float[24], new float[2], new float[2]));
        Assert.Equal("eps", group.ParamName);
    }

    [Theory]
    [InlineData(false, -0.1)]
    [InlineData(true, -0.1)]
    [InlineData(true, 1.5)]
    [InlineData(true, double.NaN)]
    public void BatchNorm_MomentumOutsideUnitInterval_ThrowsNamingMomentum(bool fast, double momentum)
    {
        NormGeometry g = NormGeometry.Create(2, 3, 4);
        var ex = Assert.ThrowsAny<ArgumentException>(() => Managed<float>(fast).BatchNormForward(g, NormMode.Train, 1e-5, momentum,
            new float[24], new float[3], new float[3], new float[3], new float[3], new float[24], new float[3], new float[3]));
        Assert.Equal("momentum", ex.ParamName);
    }

    [Theory]
    [InlineData(false, "runningMean")]
    [InlineData(true, "runningMean")]
    [InlineData(true, "runningVar")]
    public void BatchNorm_RunningStatisticsOfWrongLength_ThrowsNamingThem(bool fast, string name)
    {
        NormGeometry g = NormGeometry.Create(2, 3, 4);
        float[] runningMean = new float[name == "runningMean" ? 2 : 3], runningVar = new float[name == "runningVar" ? 4 : 3];
        var ex = Assert.Throws<ArgumentException>(() => Managed<float>(fast).BatchNormForward(g, NormMode.Test, 1e-5, 0.9,
            new float[24], new float[3], new float[3], runningMean, runningVar, new float[24], [], []));
        Assert.Equal(name, ex.ParamName);
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void NormBackward_WrongLengths_ThrowNamingTheArgument(bool fast)
    {
        IKernels<float> kernels = Managed<float>(fast);
        NormGeometry g = NormGeometry.Create(2, 6, 4, 3);
        float[] x = new float[48], c = new float[6], stats = new float[6];
        Assert.Equal("dx", Assert.Throws<ArgumentException>(() =>
            kernels.BatchNormBackward(g, x, c, c, c, x, new float[47], c, c)).ParamName);
        Assert.Equal("saveInvStd", Assert.Throws<ArgumentException>(() =>
            kernels.BatchNormBackward(g, x, c, c, new float[5], x, x, c, c)).ParamName);
        Assert.Equal("saveMean", Assert.Throws<ArgumentException>(() =>
            kernels.GroupNormBackward(g, x, c, new float[7], stats, x, x, c, c)).ParamName);
        Assert.Equal("mode", Assert.ThrowsAny<ArgumentException>(() => kernels.BatchNormForward(g, (NormMode)7, 1e-5, 0.9,
            x, c, c, c, c, x, c, c)).ParamName);
    }

    [Theory]
    [MemberData(nameof(BothKernels))]
    public void NormBackward_EmptyOutputs_AreSkippedAndOthersStillWritten(bool fast)
    {
        IKernels<double> kernels = Managed<double>(fast);
        NormGeometry g = NormGeometry.Create(3, 5, 4);
        var data = NormData<double>.Create(g, seed: 12, scale: 1, shift: 0);
        var (mean, invStd) = TrainForward(kernels, g, data);
        var all = new Gradients<double>(g);
        kernels.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, all.Dx, all.Dgamma, all.Dbeta);
        var dgammaOnly = new double[g.C];
        kernels.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, [], dgammaOnly, []);
        Assert.Equal(all.Dgamma, dgammaOnly);
        var dxOnly = new double[g.Length];
        kernels.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, dxOnly, [], []);
        Assert.Equal(all.Dx, dxOnly);
    }

    internal static IKernels<T> Managed<T>(bool fast) where T : unmanaged, IFloatingPointIeee754<T> =>
        fast ? ManagedKernels<T>.Fast : ManagedKernels<T>.Naive;

    // Batch norm train forward (y, saved and running statistics) and test forward (y).
    internal static T[][] BatchForwardOutputs<T>(IKernels<T> kernels, NormGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = NormData<T>.Create(g, seed: g.N * 31 + g.C, scale: 3, shift: 2);
        T[] runningMean = Tensor<T>.RandN([g.C], seed: 7).Span.ToArray(), runningVar = Filled(g.C, T.One);
        T[] y = new T[g.Length], saveMean = new T[g.C], saveInvStd = new T[g.C], yTest = new T[g.Length];
        kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, data.X, data.Gamma, data.Beta, runningMean, runningVar,
            y, saveMean, saveInvStd);
        kernels.BatchNormForward(g, NormMode.Test, 1e-5, 0.9, data.X, data.Gamma, data.Beta, runningMean, runningVar,
            yTest, [], []);
        return [y, saveMean, saveInvStd, runningMean, runningVar, yTest];
    }

    // Batch norm backward of the naive forward's statistics: dx, dgamma, dbeta.
    internal static T[][] BatchBackwardOutputs<T>(IKernels<T> kernels, NormGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = NormData<T>.Create(g, seed: g.N * 31 + g.C, scale: 3, shift: 2);
        var (mean, invStd) = TrainForward(ManagedKernels<T>.Naive, g, data);
        var gradients = new Gradients<T>(g);
        kernels.BatchNormBackward(g, data.X, data.Gamma, mean, invStd, data.Dy, gradients.Dx, gradients.Dgamma, gradients.Dbeta);
        return [gradients.Dx, gradients.Dgamma, gradients.Dbeta];
    }

    internal static T[][] GroupForwardOutputs<T>(IKernels<T> kernels, NormGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = NormData<T>.Create(g, seed: g.N * 31 + g.C, scale: 3, shift: 2);
        T[] y = new T[g.Length], saveMean = new T[g.N * g.Groups], saveInvStd = new T[g.N * g.Groups];
        kernels.GroupNormForward(g, 1e-5, data.X, data.Gamma, data.Beta, y, saveMean, saveInvStd);
        return [y, saveMean, saveInvStd];
    }

    internal static T[][] GroupBackwardOutputs<T>(IKernels<T> kernels, NormGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = NormData<T>.Create(g, seed: g.N * 31 + g.C, scale: 3, shift: 2);
        T[] saveMean = new T[g.N * g.Groups], saveInvStd = new T[g.N * g.Groups];
        ManagedKernels<T>.Naive.GroupNormForward(g, 1e-5, data.X, data.Gamma, data.Beta, new T[g.Length], saveMean, saveInvStd);
        var gradients = new Gradients<T>(g);
        kernels.GroupNormBackward(g, data.X, data.Gamma, saveMean, saveInvStd, data.Dy, gradients.Dx, gradients.Dgamma, gradients.Dbeta);
        return [gradients.Dx, gradients.Dgamma, gradients.Dbeta];
    }

    private static void AssertFastMatchesNaive<T>(NormGeometry g, Func<IKernels<T>, NormGeometry, T[][]> run, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[][] expected = run(ManagedKernels<T>.Naive, g), actual = run(ManagedKernels<T>.Fast, g);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = BackendData.MaxAbsErrorRelativeToScale<T>(actual[i], expected[i]);
            Assert.True(error < tolerance, $"output {i} of {g} differs by {error:E3} (tolerance {tolerance:E0})");
        }
    }

    private static (T[] Mean, T[] InvStd) TrainForward<T>(IKernels<T> kernels, NormGeometry g, NormData<T> data)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] mean = new T[g.C], invStd = new T[g.C];
        kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, data.X, data.Gamma, data.Beta, new T[g.C], new T[g.C],
            new T[g.Length], mean, invStd);
        return (mean, invStd);
    }

    private static void AssertMatchesNumericGradient(NormGeometry g, NormData<double> data,
        Func<double[], double[], double[], double[]> forward, Action<Gradients<double>> backward)
    {
        var dout = new Tensor<double>(data.Dy, [g.Length]);
        Func<Tensor<double>, Tensor<double>> Output(Func<double[], double[]> f) => t => new Tensor<double>(f(t.Span.ToArray()), [g.Length]);
        var dxNum = GradientCheck.EvalNumericalGradientArray(Output(x => forward(x, data.Gamma, data.Beta)),
            new Tensor<double>((double[])data.X.Clone(), [g.Length]), dout);
        var dgammaNum = GradientCheck.EvalNumericalGradientArray(Output(gamma => forward(data.X, gamma, data.Beta)),
            new Tensor<double>((double[])data.Gamma.Clone(), [g.C]), dout);
        var dbetaNum = GradientCheck.EvalNumericalGradientArray(Output(beta => forward(data.X, data.Gamma, beta)),
            new Tensor<double>((double[])data.Beta.Clone(), [g.C]), dout);
        var gradients = new Gradients<double>(g);
        backward(gradients);
        Assert.True(GradientCheck.RelError<double>(gradients.Dx, dxNum.Span) < 1e-6, "dx");
        Assert.True(GradientCheck.RelError<double>(gradients.Dgamma, dgammaNum.Span) < 1e-8, "dgamma");
        Assert.True(GradientCheck.RelError<double>(gradients.Dbeta, dbetaNum.Span) < 1e-8, "dbeta");
    }

    private static T[] Filled<T>(int length, T value)
    {
        var array = new T[length];
        array.AsSpan().Fill(value);
        return array;
    }

    private static double[] Widen(ReadOnlySpan<float> values)
    {
        var wide = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
            wide[i] = values[i];
        return wide;
    }

    private static double[] ChannelValues<T>(T[] values, NormGeometry g, int ch) where T : IFloatingPointIeee754<T>
    {
        var channel = new double[g.N * g.Spatial];
        for (int i = 0; i < g.N; i++)
            for (int s = 0; s < g.Spatial; s++)
                channel[i * g.Spatial + s] = double.CreateChecked(values[(i * g.C + ch) * g.Spatial + s]);
        return channel;
    }

    private static (double Mean, double Std) Moments(double[] values, NormGeometry g, int ch) =>
        MeanStd(ChannelValues(values, g, ch));

    private static (double Mean, double Std) MeanStd(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (double v in values)
            sum += v;
        double mean = sum / values.Length, squares = 0;
        foreach (double v in values)
            squares += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(squares / values.Length));
    }

    /// <summary>Inputs of one normalisation: x = scale*randn + shift, gamma, beta and dy from fixed seeds.</summary>
    internal sealed record NormData<T>(T[] X, T[] Gamma, T[] Beta, T[] Dy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static NormData<T> Create(NormGeometry g, int seed, double scale, double shift)
        {
            T[] x = Tensor<T>.RandN([g.Length], seed).Span.ToArray();
            for (int i = 0; i < x.Length; i++)
                x[i] = T.CreateChecked(scale) * x[i] + T.CreateChecked(shift);
            return new NormData<T>(x, Tensor<T>.RandN([g.C], seed + 1).Span.ToArray(),
                Tensor<T>.RandN([g.C], seed + 2).Span.ToArray(), Tensor<T>.RandN([g.Length], seed + 3).Span.ToArray());
        }
    }

    /// <summary>dx, dgamma and dbeta buffers for one geometry.</summary>
    internal sealed class Gradients<T>(NormGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] Dx { get; } = new T[g.Length];
        public T[] Dgamma { get; } = new T[g.C];
        public T[] Dbeta { get; } = new T[g.C];
    }
}

/// <summary>The fast managed normalisation gives bit-identical results with 1 and 2 threads.</summary>
[Collection("NumThreads")]
public class ManagedNormalizationThreadingTests
{
    [Theory]
    [InlineData(37, 70, 1, 1)]
    [InlineData(6, 5, 33, 1)]
    [InlineData(5, 12, 10, 3)]
    [InlineData(9, 40, 1, 1)]
    [InlineData(11, 24, 1, 6)]
    [InlineData(5, 16, 12, 4)]
    [InlineData(3, 8, 16, 2)]
    public void Norm_OneAndTwoThreads_GiveIdenticalResults(int n, int c, int spatial, int groups)
    {
        NormGeometry g = NormGeometry.Create(n, c, spatial, groups);
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 1;
            float[][] one = RunAll<float>(g);
            double[][] oneDouble = RunAll<double>(g);
            NnkRuntime.NumThreads = 2;
            float[][] two = RunAll<float>(g);
            double[][] twoDouble = RunAll<double>(g);
            for (int i = 0; i < one.Length; i++)
            {
                Assert.True(one[i].AsSpan().SequenceEqual(two[i]), $"float output {i} of {g} differs between 1 and 2 threads");
                Assert.True(oneDouble[i].AsSpan().SequenceEqual(twoDouble[i]), $"double output {i} of {g} differs between 1 and 2 threads");
            }
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    private static TElement[][] RunAll<TElement>(NormGeometry g) where TElement : unmanaged, IFloatingPointIeee754<TElement>
    {
        IKernels<TElement> fast = ManagedKernels<TElement>.Fast;
        return
        [
            .. ManagedNormalizationTests.BatchForwardOutputs(fast, g),
            .. ManagedNormalizationTests.BatchBackwardOutputs(fast, g),
            .. ManagedNormalizationTests.GroupForwardOutputs(fast, g),
            .. ManagedNormalizationTests.GroupBackwardOutputs(fast, g),
        ];
    }
}
