using System.Numerics;
using Nnk;

namespace Nnk.Tests.Norm;

/// <summary>Native and fast managed normalisation agree with the naive reference, at 1 and 2 threads.</summary>
[Collection("NumThreads")]
public class NormAgreementTests
{
    // (N, C, Spatial, Groups), including one value per channel, C = 1, G = C and G = 1.
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        { 1, 3, 1, 1 }, { 1, 1, 1, 1 }, { 5, 1, 7, 1 }, { 4, 6, 9, 6 }, { 4, 6, 9, 1 }, { 3, 8, 5, 4 },
        { 100, 50, 1, 5 }, { 7, 32, 16, 4 }, { 2, 12, 30, 3 }, { 9, 5, 1, 5 }, { 5, 16, 12, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Norm_NativeAndManagedMatchNaive_Float64(int n, int c, int spatial, int groups) =>
        AssertAgreement<double>(NormGeometry.Create(n, c, spatial, groups), 1e-10);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Norm_NativeAndManagedMatchNaive_Float32(int n, int c, int spatial, int groups) =>
        AssertAgreement<float>(NormGeometry.Create(n, c, spatial, groups), 2e-4);

    private static void AssertAgreement<T>(NormGeometry g, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var expected = Run(g, Kernels.For<T>(Backend.ManagedNaive));
        int saved = NnkRuntime.NumThreads;
        try
        {
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
            {
                NnkRuntime.NumThreads = 1;
                var one = Run(g, Kernels.For<T>(backend));
                NnkRuntime.NumThreads = 2;
                var two = Run(g, Kernels.For<T>(backend));
                for (int i = 0; i < expected.Length; i++)
                {
                    string where = $"output {i} on {backend}, {typeof(T).Name}, {g}";
                    Assert.True(one[i].AsSpan().SequenceEqual(two[i]), $"1 and 2 threads differ: {where}");
                    double error = BackendData.MaxAbsErrorRelativeToScale<T>(one[i], expected[i]);
                    Assert.True(error < tolerance, $"differs by {error:E3} (tolerance {tolerance:E1}): {where}");
                }
            }
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    // Batch norm train forward (y, saved statistics, running statistics), test forward, backward;
    // group norm forward and backward.
    private static T[][] Run<T>(NormGeometry g, IKernels<T> kernels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = NormTestData.Shifted<T>([g.N, g.C, g.Spatial], seed: g.N * 31 + g.C, scale: 3, shift: 2).Span.ToArray();
        var dy = Tensor<T>.RandN([g.Length], seed: 5).Span.ToArray();
        var gamma = Tensor<T>.RandN([g.C], seed: 6).Span.ToArray();
        var beta = Tensor<T>.RandN([g.C], seed: 7).Span.ToArray();
        var runningMean = Tensor<T>.RandN([g.C], seed: 8).Span.ToArray();
        var runningVar = Tensor<T>.Full([g.C], T.CreateChecked(1.5)).Span.ToArray();
        T[] y = new T[g.Length], yTest = new T[g.Length], dx = new T[g.Length], gy = new T[g.Length], gdx = new T[g.Length];
        T[] mean = new T[g.C], invStd = new T[g.C], dgamma = new T[g.C], dbeta = new T[g.C];
        T[] gMean = new T[g.N * g.Groups], gInvStd = new T[g.N * g.Groups], gDgamma = new T[g.C], gDbeta = new T[g.C];

        kernels.BatchNormForward(g, NormMode.Train, 1e-5, 0.9, x, gamma, beta, runningMean, runningVar, y, mean, invStd);
        kernels.BatchNormForward(g, NormMode.Test, 1e-5, 0.9, x, gamma, beta, runningMean, runningVar, yTest, default, default);
        kernels.BatchNormBackward(g, x, gamma, mean, invStd, dy, dx, dgamma, dbeta);
        kernels.GroupNormForward(g, 1e-5, x, gamma, beta, gy, gMean, gInvStd);
        kernels.GroupNormBackward(g, x, gamma, gMean, gInvStd, dy, gdx, gDgamma, gDbeta);
        return [y, mean, invStd, runningMean, runningVar, yTest, dx, dgamma, dbeta, gy, gMean, gInvStd, gdx, gDgamma, gDbeta];
    }
}
