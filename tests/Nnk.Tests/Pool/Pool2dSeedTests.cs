using Nnk;

namespace Nnk.Tests.Pool;

/// <summary>The pooling checks of the seed notebook, on every backend, plus the same gradient checks for
/// average pooling and an overlapping 3x3 stride 2 window.</summary>
public class Pool2dSeedTests
{
    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void MaxPool2dForward_MatchesSeedCorrectOut_Float64(Backend backend)
    {
        var x = Tensor<double>.Linspace(-0.3, 0.4, [2, 3, 4, 4]);
        var correctOut = Tensor<double>.FromArray(
        [
            -0.26315789, -0.24842105, -0.20421053, -0.18947368,
            -0.14526316, -0.13052632, -0.08631579, -0.07157895,
            -0.02736842, -0.01263158, 0.03157895, 0.04631579,
            0.09052632, 0.10526316, 0.14947368, 0.16421053,
            0.20842105, 0.22315789, 0.26736842, 0.28210526,
            0.32631579, 0.34105263, 0.38526316, 0.4,
        ], [2, 3, 2, 2]);

        var (output, _) = MaxPool2d.Forward(x, new PoolParam(2, 2, stride: 2), Kernels.For<double>(backend));

        double error = GradientCheck.RelError(output, correctOut);
        Assert.True(error < 1e-7, $"rel_error {error:E3} against the seed's correct_out on {backend}");
    }

    public static TheoryData<Backend, int, int> WindowsOnBackends
    {
        get
        {
            var data = new TheoryData<Backend, int, int>();
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed, Backend.ManagedNaive })
            {
                data.Add(backend, 2, 2);
                data.Add(backend, 3, 2);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(WindowsOnBackends))]
    public void MaxPool2dBackward_MatchesNumericGradient_Float64(Backend backend, int window, int stride)
    {
        var x = Tensor<double>.RandN([3, 2, 8, 8], seed: 231);
        var poolParam = new PoolParam(window, window, stride);
        IKernels<double> kernels = Kernels.For<double>(backend);
        var (output, cache) = MaxPool2d.Forward(x, poolParam, kernels);
        var dout = Tensor<double>.RandN(output.Shape, seed: 232);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => MaxPool2d.Forward(v, poolParam, kernels).Out, x, dout);
        var dx = MaxPool2d.Backward(dout, cache);

        double error = GradientCheck.RelError(dx, dxNum);
        Assert.True(error < 1e-10, $"dx rel_error {error:E3} on {backend}, {window}x{window} stride {stride}");
    }

    [Theory]
    [MemberData(nameof(WindowsOnBackends))]
    public void AvgPool2dBackward_MatchesNumericGradient_Float64(Backend backend, int window, int stride)
    {
        var x = Tensor<double>.RandN([3, 2, 8, 8], seed: 233);
        var poolParam = new PoolParam(window, window, stride);
        IKernels<double> kernels = Kernels.For<double>(backend);
        var (output, cache) = AvgPool2d.Forward(x, poolParam, kernels);
        var dout = Tensor<double>.RandN(output.Shape, seed: 234);

        // Average pooling is linear, so centred differences have no truncation error and a larger
        // step only shrinks the rounding error (at h = 1e-5 it reaches ~1e-8 on the 3x3 window).
        var dxNum = GradientCheck.EvalNumericalGradientArray(v => AvgPool2d.Forward(v, poolParam, kernels).Out, x, dout, h: 1e-2);
        var dx = AvgPool2d.Backward(dout, cache);

        double error = GradientCheck.RelError(dx, dxNum);
        Assert.True(error < 1e-10, $"dx rel_error {error:E3} on {backend}, {window}x{window} stride {stride}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void MaxPool2d_TiedWindow_RoutesGradientToFirstElementOnly(Backend backend)
    {
        var x = Tensor<float>.Ones([1, 1, 4, 4]);
        var (_, cache) = MaxPool2d.Forward(x, new PoolParam(2, 2, stride: 2), Kernels.For<float>(backend));
        var dx = MaxPool2d.Backward(Tensor<float>.Full([1, 1, 2, 2], 5f), cache);

        Assert.Equal([0, 2, 8, 10], cache.Argmax);
        var expected = new float[16];
        expected[0] = expected[2] = expected[8] = expected[10] = 5f;
        Assert.Equal(expected, dx.Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void MaxPool2d_PaddingNeverWinsOverNegativeInputs(Backend backend)
    {
        var x = Tensor<double>.Full([1, 1, 3, 3], -7.0);
        var (output, _) = MaxPool2d.Forward(x, new PoolParam(2, 2, stride: 2, pad: 1), Kernels.For<double>(backend));
        Assert.All(output.Span.ToArray(), v => Assert.Equal(-7.0, v));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void MaxPool2d_NaNIsTheMaximum(Backend backend)
    {
        var x = Tensor<float>.FromArray([1f, float.NaN, 3f, float.NaN], [1, 1, 2, 2]);
        var (output, cache) = MaxPool2d.Forward(x, new PoolParam(2, 2, stride: 2), Kernels.For<float>(backend));
        Assert.True(float.IsNaN(output.Span[0]));
        Assert.Equal(1, cache.Argmax[0]);
    }
}
