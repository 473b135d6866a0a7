using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// <see cref="LayerNormLayer{T}"/> and <see cref="DropoutLayer{T}"/>: bit for bit what the functional
/// ops they stand for give (<see cref="LayerNorm"/>, <see cref="Dropout"/>), in both modes.
/// </summary>
public class LayerNormAndDropoutLayerTests
{
    public static TheoryData<Backend> NativeAndManaged => new() { Backend.Native, Backend.Managed };

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void LayerNormLayer_ForwardAndBackward_EqualLayerNormOp_Float64(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var layer = new LayerNormLayer<double>(7, eps: 1e-5, kernels);
        var x = Tensor<double>.RandN([5, 7], seed: 1);
        var dout = Tensor<double>.RandN([5, 7], seed: 2);
        var (expected, cache) = LayerNorm.Forward(x, Tensor<double>.Ones([7]), Tensor<double>.Zeros([7]), 1e-5, kernels);
        var (dx, dgamma, dbeta) = LayerNorm.Backward(dout, cache);

        Tensor<double> y = layer.Forward(x, training: true);
        Tensor<double> layerDx = layer.Backward(dout)!;

        Assert.Equal(expected.Span.ToArray(), y.Span.ToArray());
        Assert.Equal(dx.Span.ToArray(), layerDx.Span.ToArray());
        Assert.Equal(dgamma.Span.ToArray(), layer.Parameters[0].Grad.Span.ToArray());
        Assert.Equal(dbeta.Span.ToArray(), layer.Parameters[1].Grad.Span.ToArray());
        Assert.Equal(["gamma", "beta"], layer.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void DropoutLayer_WithSeed_EqualsDropoutOpWithThatSeedOnEveryCall()
    {
        var layer = new DropoutLayer<double>(0.6, seed: 17);
        var x = Tensor<double>.RandN([4, 9], seed: 1);
        var dout = Tensor<double>.RandN([4, 9], seed: 2);
        var (expected, cache) = Dropout.Forward(x, new DropoutParam { Mode = NormMode.Train, P = 0.6, Seed = 17 });
        Tensor<double> expectedDx = Dropout.Backward(dout, cache);

        for (int call = 0; call < 2; call++)
        {
            Tensor<double> y = layer.Forward(x, training: true);
            Tensor<double> dx = layer.Backward(dout)!;

            Assert.Equal(expected.Span.ToArray(), y.Span.ToArray());
            Assert.Equal(expectedDx.Span.ToArray(), dx.Span.ToArray());
        }
    }

    [Fact]
    public void DropoutLayer_WithoutSeed_DrawsAFreshMaskEveryCall()
    {
        var layer = new DropoutLayer<double>(0.5);
        var x = Tensor<double>.Ones([8, 16]);

        double[] first = layer.Forward(x, training: true).Span.ToArray();
        double[] second = layer.Forward(x, training: true).Span.ToArray();

        Assert.NotEqual(first, second);
        Assert.All(first, v => Assert.True(v == 0 || v == 2, $"a unit is {v}, not 0 or 1/0.5"));
    }

    [Fact]
    public void DropoutLayer_TestMode_IsTheIdentity()
    {
        var layer = new DropoutLayer<double>(0.5, seed: 3);
        var x = Tensor<double>.RandN([3, 5], seed: 1);
        var dout = Tensor<double>.RandN([3, 5], seed: 2);

        Tensor<double> y = layer.Forward(x, training: false);
        Tensor<double> dx = layer.Backward(dout)!;

        Assert.Equal(x.Span.ToArray(), y.Span.ToArray());
        Assert.Equal(dout.Span.ToArray(), dx.Span.ToArray());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void DropoutLayer_KeepRatioOutside0To1_ThrowsArgumentOutOfRange(double keepRatio)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutLayer<double>(keepRatio));

        Assert.Equal("keepRatio", e.ParamName);
    }
}
