using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// Sequential runs a ReLU followed by a max pool as the pool then the ReLU. Both orders must give the
/// same loss and gradients bit for bit: checked against the functional layers in the model's own
/// order, on inputs whose windows include all-negative ones and ties (values rounded to halves), for
/// 2x2 and overlapping 3x3 windows, on both backends.
/// </summary>
public class SequentialReluPoolTests
{
    public static TheoryData<Backend, int, int> Cases => new()
    {
        { Backend.Native, 2, 2 }, { Backend.Native, 3, 2 }, { Backend.Managed, 2, 2 }, { Backend.Managed, 3, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReluThenMaxPool_SameLossAndGradientsAsFunctionalOrder_Float32(Backend backend, int window, int stride)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var convParam = new ConvParam(stride: 1, pad: 1);
        var poolParam = new PoolParam(poolHeight: window, poolWidth: window, stride: stride);
        int pooled = (8 - window) / stride + 1;
        var model = new Sequential<float>(
        [
            new Conv2dLayer<float>(2, 3, 3, convParam, 0.5, seed: 7, kernels),
            new ReluLayer<float>(kernels),
            new MaxPool2dLayer<float>(poolParam, kernels),
            new AffineLayer<float>(3 * pooled * pooled, 4, 0.5, seed: 8, kernels),
        ], [2, 8, 8], kernels: kernels);
        // Halves make ties; the negative bias makes windows whose every value is negative.
        var x = Tensor<float>.RandN([5, 2, 8, 8], seed: 9);
        Span<float> xs = x.Span;
        for (int i = 0; i < xs.Length; i++)
            xs[i] = MathF.Round(xs[i] * 2) / 2;
        model.Params["b1"].Span.Fill(-0.75f);
        int[] y = [0, 1, 2, 3, 1];

        LossResult<float> result = model.Loss(x, y);

        var (conv, convCache) = Conv2d.Forward(x, model.Params["W1"], model.Params["b1"], convParam, kernels);
        var (relu, reluCache) = Relu.Forward(conv, kernels);
        var (pool, poolCache) = MaxPool2d.Forward(relu, poolParam, kernels);
        var (scores, affineCache) = Affine.Forward(pool, model.Params["W2"], model.Params["b2"], kernels);
        var (loss, dscores) = Loss.Softmax(scores, y, kernels);
        var (dpool, dW2, db2) = Affine.Backward(dscores, affineCache);
        var (_, dW1, db1) = Conv2d.Backward(Relu.Backward(MaxPool2d.Backward(dpool, poolCache), reluCache), convCache);

        Assert.Equal(loss, result.Loss);
        Assert.Equal(dW1.Span.ToArray(), result.Grads["W1"].Span.ToArray());
        Assert.Equal(db1.Span.ToArray(), result.Grads["b1"].Span.ToArray());
        Assert.Equal(dW2.Span.ToArray(), result.Grads["W2"].Span.ToArray());
        Assert.Equal(db2.Span.ToArray(), result.Grads["b2"].Span.ToArray());
        // The windows really included all-negative ones (a zero pooled value) and positive ones.
        Assert.Contains(0f, pool.Span.ToArray());
        Assert.Contains(pool.Span.ToArray(), v => v > 0);
    }
}
