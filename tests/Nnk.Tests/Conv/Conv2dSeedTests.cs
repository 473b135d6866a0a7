using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>The convolution checks of the seed notebook, on every backend.</summary>
public class Conv2dSeedTests
{
    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dForward_MatchesSeedCorrectOut_Float64(Backend backend)
    {
        var x = Tensor<double>.Linspace(-0.1, 0.5, [2, 3, 4, 4]);
        var w = Tensor<double>.Linspace(-0.2, 0.3, [3, 3, 4, 4]);
        var b = Tensor<double>.Linspace(-0.1, 0.2, [3]);
        var correctOut = Tensor<double>.FromArray(
        [
            -0.08759809, -0.10987781, -0.18387192, -0.2109216,
            0.21027089, 0.21661097, 0.22847626, 0.23004637,
            0.50813986, 0.54309974, 0.64082444, 0.67101435,
            -0.98053589, -1.03143541, -1.19128892, -1.24695841,
            0.69108355, 0.66880383, 0.59480972, 0.56776003,
            2.36270298, 2.36904306, 2.38090835, 2.38247847,
        ], [2, 3, 2, 2]);

        var (output, _) = Conv2d.Forward(x, w, b, new ConvParam(stride: 2, pad: 1), Kernels.For<double>(backend));

        double error = GradientCheck.RelError(output, correctOut);
        Assert.True(error < 1e-7, $"rel_error {error:E3} against the seed's correct_out on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([4, 3, 5, 5], seed: 231);
        var w = Tensor<double>.RandN([2, 3, 3, 3], seed: 232);
        var b = Tensor<double>.RandN([2], seed: 233);
        var dout = Tensor<double>.RandN([4, 2, 5, 5], seed: 234);
        var convParam = new ConvParam(stride: 1, pad: 1);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Conv2d.Forward(v, w, b, convParam, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Conv2d.Forward(x, v, b, convParam, kernels).Out, w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => Conv2d.Forward(x, w, v, convParam, kernels).Out, b, dout);
        var (_, cache) = Conv2d.Forward(x, w, b, convParam, kernels);
        var (dx, dw, db) = Conv2d.Backward(dout, cache);

        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-7, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
        Assert.True(GradientCheck.RelError(dw, dwNum) < 1e-7, $"dw rel_error {GradientCheck.RelError(dw, dwNum):E3}");
        Assert.True(GradientCheck.RelError(db, dbNum) < 1e-7, $"db rel_error {GradientCheck.RelError(db, dbNum):E3}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Conv2dBackward_NonSquareStridedPadded_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([2, 2, 7, 6], seed: 5);
        var w = Tensor<double>.RandN([3, 2, 3, 2], seed: 6);
        var b = Tensor<double>.RandN([3], seed: 7);
        var convParam = new ConvParam(strideH: 2, strideW: 1, padH: 1, padW: 2);
        IKernels<double> kernels = Kernels.For<double>(backend);
        var (output, cache) = Conv2d.Forward(x, w, b, convParam, kernels);
        var dout = Tensor<double>.RandN(output.Shape, seed: 8);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Conv2d.Forward(v, w, b, convParam, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Conv2d.Forward(x, v, b, convParam, kernels).Out, w, dout);
        var (dx, dw, _) = Conv2d.Backward(dout, cache);

        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-7, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
        Assert.True(GradientCheck.RelError(dw, dwNum) < 1e-7, $"dw rel_error {GradientCheck.RelError(dw, dwNum):E3}");
    }
}
