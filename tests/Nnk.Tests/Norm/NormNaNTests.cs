using System.Numerics;
using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>
/// A NaN or an infinity in one channel's values makes that channel's batch statistics NaN (the
/// variance is NaN; the mean is NaN or the infinity) and every output of the channel NaN, on every
/// backend alike; the other channels are untouched. The native kernel used to clamp a NaN variance
/// to 0, which left save_invstd at 1/sqrt(eps) and the running variance finite.
/// </summary>
public class NormNaNTests
{
    public static TheoryData<Backend, double, int> Cases
    {
        get
        {
            var data = new TheoryData<Backend, double, int>();
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed, Backend.ManagedNaive })
                foreach (double special in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
                    foreach (int spatial in new[] { 1, 6 }) // (N, D) batch norm, and spatial batch norm
                        data.Add(backend, special, spatial);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BatchNormTrain_SpecialInAChannel_MakesItsStatisticsAndOutputsNaN_Float64(Backend backend,
        double special, int spatial) => AssertChannelNaN<double>(backend, special, spatial);

    [Theory]
    [MemberData(nameof(Cases))]
    public void BatchNormTrain_SpecialInAChannel_MakesItsStatisticsAndOutputsNaN_Float32(Backend backend,
        double special, int spatial) => AssertChannelNaN<float>(backend, special, spatial);

    private static void AssertChannelNaN<T>(Backend backend, double special, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int bad = 1;
        var g = NormGeometry.Create(4, 3, spatial);
        T[] x = Tensor<T>.RandN([g.Length], seed: 3).Span.ToArray();
        x[(2 * g.C + bad) * spatial] = T.CreateChecked(special); // sample 2, channel 1
        T[] gamma = [T.One, T.One, T.One], beta = new T[3], y = new T[g.Length];
        T[] runningMean = new T[3], runningVar = [T.One, T.One, T.One], mean = new T[3], invStd = new T[3];
        Kernels.For<T>(backend).BatchNormForward(g, NormMode.Train, 1e-5, 0.9, x, gamma, beta, runningMean,
            runningVar, y, mean, invStd);

        string where = $"{backend}, {typeof(T).Name}, special {special}, spatial {spatial}";
        for (int ch = 0; ch < g.C; ch++)
        {
            if (ch != bad)
            {
                Assert.True(T.IsFinite(invStd[ch]) && T.IsFinite(runningVar[ch]) && T.IsFinite(mean[ch]), $"channel {ch}: {where}");
                continue;
            }
            Assert.True(T.IsNaN(invStd[ch]), $"save_invstd {invStd[ch]}, expected NaN: {where}");
            Assert.True(T.IsNaN(runningVar[ch]), $"running_var {runningVar[ch]}, expected NaN: {where}");
            T expectedMean = T.CreateChecked(special);
            Assert.True(T.IsNaN(expectedMean) ? T.IsNaN(mean[ch]) : mean[ch] == expectedMean,
                $"save_mean {mean[ch]}, expected {special}: {where}");
        }
        for (int i = 0; i < g.Length; i++)
        {
            bool inBad = i / spatial % g.C == bad;
            Assert.True(inBad ? T.IsNaN(y[i]) : T.IsFinite(y[i]), $"y[{i}] = {y[i]}: {where}");
        }
    }
}
