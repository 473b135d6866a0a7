using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// <see cref="Sequential{T}"/> and its buffer-owning layers: the seed's MNIST batch-norm CNN's shapes
/// and initial loss, a model gradient check, agreement between backends, buffer reuse across
/// steps, bytes allocated per training step, and bad input.
/// </summary>
public class SequentialTests
{
    public static TheoryData<Backend> NativeAndManaged => new() { Backend.Native, Backend.Managed };

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void MnistBnCnn_WithoutLabels_ReturnsScoresOfShapeNBy10(Backend backend)
    {
        var model = Sequential<double>.MnistBnCnn(kernels: Kernels.For<double>(backend));
        var (x, y) = RandomBatch(n: 6, [1, 28, 28], classes: 10, seed: 1);
        model.Loss(x, y);

        LossResult<double> result = model.Loss(x, null);

        Assert.NotNull(result.Scores);
        Assert.Equal(new TensorShape([6, 10]), result.Scores!.Shape);
        Assert.Empty(result.Grads);
    }

    [Fact]
    public void MnistBnCnn_Params_AreNamedByKindAndOrder()
    {
        var model = Sequential<double>.MnistBnCnn();

        Assert.Equal(
            ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3", "gamma3", "beta3", "W4", "b4"],
            model.Params.Keys);
        Assert.Equal(new TensorShape([20, 1, 3, 3]), model.Params["W1"].Shape);
        Assert.Equal(new TensorShape([50, 20, 5, 5]), model.Params["W2"].Shape);
        Assert.Equal(new TensorShape([800, 128]), model.Params["W3"].Shape);
        Assert.Equal(new TensorShape([128, 10]), model.Params["W4"].Shape);
        Assert.Equal(new TensorShape([128]), model.Params["gamma3"].Shape);
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void MnistBnCnn_FreshModelWithoutReg_LossIsNearLogOf10_Float64(Backend backend)
    {
        var model = Sequential<double>.MnistBnCnn(seed: 3, kernels: Kernels.For<double>(backend));
        var (x, y) = RandomBatch(n: 32, [1, 28, 28], classes: 10, seed: 231);

        double loss = model.Loss(x, y).Loss;

        Assert.True(Math.Abs(loss - Math.Log(10)) < 0.3, $"initial loss {loss} should be within 0.3 of ln(10) = {Math.Log(10)}");
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void LossGradients_MatchNumericGradient_Float64(Backend backend)
    {
        var model = SmallModel(Kernels.For<double>(backend), reg: 0.1);
        var (x, y) = RandomBatch(n: 4, [1, 8, 8], classes: 3, seed: 231);

        // Copies: the returned Grads are the layers' buffers, which every numeric-gradient call overwrites.
        var grads = model.Loss(x, y).Grads.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());

        Assert.Equal(10, grads.Count);
        foreach (var (name, param) in model.Params)
        {
            var numeric = GradientCheck.EvalNumericalGradient(_ => model.Loss(x, y).Loss, param);
            // b1 and b2 feed batch norm, which cancels them: their true gradient is zero, so rel_error would
            // compare round-off with round-off; check them absolutely instead.
            if (name is "b1" or "b2")
            {
                double maxAbs = grads[name].Span.ToArray().Concat(numeric.Span.ToArray()).Max(Math.Abs);
                Assert.True(maxAbs < 1e-8, $"{name}: gradient {maxAbs} of a bias before batch norm should be below 1e-8");
                continue;
            }
            double error = GradientCheck.RelError(grads[name], numeric);
            Assert.True(error < 1e-5, $"{name}: rel_error {error} should be below 1e-5");
        }
    }

    [Fact]
    public void Loss_NativeAndManagedBackends_AgreeWithin1e9_Float64()
    {
        var (x, y) = RandomBatch(n: 8, [1, 28, 28], classes: 10, seed: 7);

        LossResult<double> native = Sequential<double>.MnistBnCnn(seed: 5, reg: 0.01, kernels: Kernels.For<double>(Backend.Native)).Loss(x, y);
        LossResult<double> managed = Sequential<double>.MnistBnCnn(seed: 5, reg: 0.01, kernels: Kernels.For<double>(Backend.Managed)).Loss(x, y);

        Assert.True(Math.Abs(native.Loss - managed.Loss) < 1e-9, $"native loss {native.Loss} vs managed {managed.Loss}");
        foreach (var (name, grad) in native.Grads)
        {
            // A bias before batch norm has zero true gradient; both backends give round-off there, so compare
            // those absolutely.
            if (name is "b1" or "b2" or "b3")
            {
                double maxDiff = grad.Span.ToArray().Zip(managed.Grads[name].Span.ToArray(), (a, b) => Math.Abs(a - b)).Max();
                Assert.True(maxDiff < 1e-12, $"{name}: max |native - managed| {maxDiff} should be below 1e-12");
                continue;
            }
            // Relative to the tensor's largest gradient, not elementwise: the elementwise rel_error of an
            // entry near zero is its round-off, which depends on the BLAS kernel (OpenBLAS's SkylakeX gemm
            // gave W2 1.01e-9 elementwise while every tensor agrees to 5e-15 of its scale).
            double scale = 0, worst = 0;
            for (int i = 0; i < grad.Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(managed.Grads[name].Span[i]));
                worst = Math.Max(worst, Math.Abs(managed.Grads[name].Span[i] - grad.Span[i]));
            }
            Assert.True(worst < 1e-9 * scale, $"{name}: max |managed - native| = {worst:E3}, scale {scale:E3}");
        }
    }

    [Fact]
    public void TrainingStep_Twice_ReusesEveryBufferAndGivesTheSameLoss()
    {
        var model = SmallModel(Kernels.For<double>(Backend.Native), reg: 0.0);
        var (x, y) = RandomBatch(n: 4, [1, 8, 8], classes: 3, seed: 1);

        LossResult<double> first = model.Loss(x, y);
        var outputs = ForwardOutputs(model, x);
        var firstGrads = first.Grads.ToDictionary(kv => kv.Key, kv => kv.Value);
        LossResult<double> second = model.Loss(x, y);

        Assert.Equal(first.Loss, second.Loss);
        Assert.Equal(outputs, ForwardOutputs(model, x), ReferenceEqualityComparer.Instance);
        foreach (var (name, grad) in second.Grads)
            Assert.Same(firstGrads[name], grad);
    }

    // Sequential skips dx of its first layer; skipping must not change the parameter gradients.
    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void LayerBackward_WithoutInputGradient_ReturnsNullAndSameParameterGradients_Float64(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        ILayer<double>[] layers =
        [
            new Conv2dLayer<double>(2, 3, 3, new ConvParam(stride: 1, pad: 1), 0.5, 5, kernels),
            new AffineLayer<double>(2 * 6 * 6, 4, 0.5, 6, kernels),
            new SpatialBatchNormLayer<double>(2, kernels),
            new ReluLayer<double>(kernels),
            new MaxPool2dLayer<double>(new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2), kernels),
        ];
        var x = Tensor<double>.RandN([3, 2, 6, 6], seed: 3);
        foreach (ILayer<double> layer in layers)
        {
            Tensor<double> y = layer.Forward(x, training: true);
            var dout = Tensor<double>.RandN(y.Shape.AsSpan().ToArray(), seed: 4);
            Assert.NotNull(layer.Backward(dout));
            double[][] withDx = layer.Parameters.Select(p => p.Grad.Span.ToArray()).ToArray();

            Assert.Null(layer.Backward(dout, inputGradient: false));
            double[][] withoutDx = layer.Parameters.Select(p => p.Grad.Span.ToArray()).ToArray();
            Assert.Equal(withDx, withoutDx);
        }
    }

    [Fact]
    public void BatchSizeChange_ReallocatesAndStillComputes()
    {
        var model = SmallModel(Kernels.For<double>(Backend.Native), reg: 0.0);
        var (x4, y4) = RandomBatch(n: 4, [1, 8, 8], classes: 3, seed: 1);
        var (x6, y6) = RandomBatch(n: 6, [1, 8, 8], classes: 3, seed: 2);

        double loss4 = model.Loss(x4, y4).Loss;
        model.Loss(x6, y6);

        Assert.Equal(loss4, model.Loss(x4, y4).Loss, 12);
    }

    [Fact]
    public void Loss_WrongInputShape_ThrowsArgumentException()
    {
        var model = SmallModel(Kernels.For<double>(Backend.Managed), reg: 0.0);
        var (x, y) = RandomBatch(n: 2, [1, 8, 9], classes: 3, seed: 1);

        var ex = Assert.Throws<ArgumentException>(() => model.Loss(x, y));
        Assert.Equal("x", ex.ParamName);
    }

    [Fact]
    public void Loss_LabelOutOfRange_ThrowsArgumentException()
    {
        var model = SmallModel(Kernels.For<double>(Backend.Managed), reg: 0.0);
        var (x, _) = RandomBatch(n: 2, [1, 8, 8], classes: 3, seed: 1);

        var ex = Assert.Throws<ArgumentException>(() => model.Loss(x, [0, 3]));
        Assert.Equal("y", ex.ParamName);
    }

    [Fact]
    public void Constructor_LayersThatDoNotFit_ThrowsArgumentException()
    {
        ILayer<double>[] layers = [new AffineLayer<double>(65, 3, 0.1, 1)];

        Assert.Throws<ArgumentException>(() => new Sequential<double>(layers, [1, 8, 8]));
    }

    // conv 2 3x3 - sbn - relu - avgpool 2 - affine 5 - bn - relu - affine 3 on (1, 8, 8).
    private static Sequential<double> SmallModel(IKernels<double> kernels, double reg)
    {
        var pool = new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2);
        ILayer<double>[] layers =
        [
            new Conv2dLayer<double>(1, 2, 3, new ConvParam(stride: 1, pad: 0), 0.5, 11, kernels),
            new SpatialBatchNormLayer<double>(2, kernels),
            new ReluLayer<double>(kernels),
            new AvgPool2dLayer<double>(pool, kernels),
            new AffineLayer<double>(2 * 3 * 3, 5, 0.5, 12, kernels),
            new BatchNormLayer<double>(5, kernels),
            new ReluLayer<double>(kernels),
            new AffineLayer<double>(5, 3, 0.5, 13, kernels),
        ];
        return new Sequential<double>(layers, [1, 8, 8], reg, kernels);
    }

    private static List<Tensor<double>> ForwardOutputs(Sequential<double> model, Tensor<double> x)
    {
        var outputs = new List<Tensor<double>>();
        Tensor<double> current = x;
        foreach (ILayer<double> layer in model.Layers)
        {
            current = layer.Forward(current, training: true);
            outputs.Add(current);
        }
        return outputs;
    }

    private static (Tensor<double> X, int[] Y) RandomBatch(int n, int[] inputDim, int classes, int seed)
    {
        var x = Tensor<double>.RandN([n, .. inputDim], seed);
        var rng = new Random(seed);
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        return (x, y);
    }
}
