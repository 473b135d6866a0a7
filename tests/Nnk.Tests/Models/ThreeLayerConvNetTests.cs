using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// The seed notebook's checks of the conv sandwich layers and <c>ThreeLayerConvNet</c>: numeric
/// gradients of conv-relu, conv-relu-pool and conv-bn-relu, the initial-loss sanity check, the
/// model's gradient check, agreement between backends, and bad input.
/// </summary>
public class ThreeLayerConvNetTests
{
    public static TheoryData<Backend> NativeAndManaged => new() { Backend.Native, Backend.Managed };

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void ConvReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([2, 3, 8, 8], seed: 231);
        var w = Tensor<double>.RandN([3, 3, 3, 3], seed: 232);
        var b = Tensor<double>.RandN([3], seed: 233);
        var dout = Tensor<double>.RandN([2, 3, 8, 8], seed: 234);
        var convParam = new ConvParam(stride: 1, pad: 1);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => ConvRelu.Forward(v, w, b, convParam, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => ConvRelu.Forward(x, v, b, convParam, kernels).Out, w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => ConvRelu.Forward(x, w, v, convParam, kernels).Out, b, dout);
        var (_, cache) = ConvRelu.Forward(x, w, b, convParam, kernels);
        var (dx, dw, db) = ConvRelu.Backward(dout, cache);

        AssertRelErrorBelow(dx, dxNum, 1e-7, "dx");
        AssertRelErrorBelow(dw, dwNum, 1e-7, "dw");
        AssertRelErrorBelow(db, dbNum, 1e-7, "db");
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void ConvReluPoolBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([2, 3, 16, 16], seed: 231);
        var w = Tensor<double>.RandN([3, 3, 3, 3], seed: 232);
        var b = Tensor<double>.RandN([3], seed: 233);
        var dout = Tensor<double>.RandN([2, 3, 8, 8], seed: 234);
        var convParam = new ConvParam(stride: 1, pad: 1);
        var poolParam = new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(
            v => ConvReluPool.Forward(v, w, b, convParam, poolParam, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(
            v => ConvReluPool.Forward(x, v, b, convParam, poolParam, kernels).Out, w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(
            v => ConvReluPool.Forward(x, w, v, convParam, poolParam, kernels).Out, b, dout);
        var (_, cache) = ConvReluPool.Forward(x, w, b, convParam, poolParam, kernels);
        var (dx, dw, db) = ConvReluPool.Backward(dout, cache);

        AssertRelErrorBelow(dx, dxNum, 1e-7, "dx");
        AssertRelErrorBelow(dw, dwNum, 1e-7, "dw");
        AssertRelErrorBelow(db, dbNum, 1e-7, "db");
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void ConvBatchNormReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([2, 3, 8, 8], seed: 231);
        var w = Tensor<double>.RandN([3, 3, 3, 3], seed: 232);
        var b = Tensor<double>.RandN([3], seed: 233);
        var gamma = Tensor<double>.RandN([3], seed: 235);
        var beta = Tensor<double>.RandN([3], seed: 236);
        var dout = Tensor<double>.RandN([2, 3, 8, 8], seed: 234);
        var convParam = new ConvParam(stride: 1, pad: 1);
        IKernels<double> kernels = Kernels.For<double>(backend);
        // A fresh parameter per call: each forward is in training mode with its own batch statistics.
        Tensor<double> Forward(Tensor<double> xv, Tensor<double> wv, Tensor<double> g, Tensor<double> bt) =>
            ConvBatchNormRelu.Forward(xv, wv, b, g, bt, convParam, new BatchNormParam<double>(), kernels).Out;

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Forward(v, w, gamma, beta), x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Forward(x, v, gamma, beta), w, dout);
        var dgammaNum = GradientCheck.EvalNumericalGradientArray(v => Forward(x, w, v, beta), gamma, dout);
        var dbetaNum = GradientCheck.EvalNumericalGradientArray(v => Forward(x, w, gamma, v), beta, dout);
        var (_, cache) = ConvBatchNormRelu.Forward(x, w, b, gamma, beta, convParam, new BatchNormParam<double>(), kernels);
        var (dx, dw, _, dgamma, dbeta) = ConvBatchNormRelu.Backward(dout, cache);

        AssertRelErrorBelow(dx, dxNum, 1e-6, "dx");
        AssertRelErrorBelow(dw, dwNum, 1e-6, "dw");
        AssertRelErrorBelow(dgamma, dgammaNum, 1e-6, "dgamma");
        AssertRelErrorBelow(dbeta, dbetaNum, 1e-6, "dbeta");
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void Loss_FreshModelWithoutReg_IsNearLogOfClassCount_Float64(Backend backend)
    {
        var model = new ThreeLayerConvNet<double>(kernels: Kernels.For<double>(backend));
        var (x, y) = RandomBatch(n: 50, [3, 32, 32], classes: 10, seed: 231);

        double loss = model.Loss(x, y).Loss;

        Assert.True(Math.Abs(loss - Math.Log(10)) < 0.02, $"initial loss {loss} should be within 0.02 of ln(10) = {Math.Log(10)}");
    }

    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void Loss_WithReg_IsLargerThanWithoutReg_Float64(Backend backend)
    {
        var model = new ThreeLayerConvNet<double>(kernels: Kernels.For<double>(backend));
        var (x, y) = RandomBatch(n: 50, [3, 32, 32], classes: 10, seed: 231);

        double withoutReg = model.Loss(x, y).Loss;
        model.Reg = 0.5;
        double withReg = model.Loss(x, y).Loss;

        Assert.True(withReg > withoutReg, $"loss with reg 0.5 ({withReg}) should exceed loss without reg ({withoutReg})");
    }

    // The seed's gradient check: 2 inputs (3, 16, 16), 3 filters 3x3, hidden 7, reg 0. The seed keeps the
    // default weight scale 1e-3, but then W2's gradients (~1e-9) sit at the centred difference's
    // round-off (~1e-10 for a loss of 2.3 and h = 1e-6) and rel_error reaches 2e-2; scale 1e-1 makes
    // every gradient large enough to compare.
    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void LossGradients_MatchNumericGradient_Float64(Backend backend)
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7,
            weightScale: 1e-1, kernels: Kernels.For<double>(backend));
        var (x, y) = RandomBatch(n: 2, [3, 16, 16], classes: 10, seed: 231);

        var grads = model.Loss(x, y).Grads;

        foreach (var (name, param) in model.Params)
        {
            var numeric = GradientCheck.EvalNumericalGradient(_ => model.Loss(x, y).Loss, param, h: 1e-6);
            AssertRelErrorBelow(grads[name], numeric, 1e-4, name);
        }
    }

    [Fact]
    public void Loss_NativeAndManagedBackends_AgreeWithin1e9_Float64()
    {
        var (x, y) = RandomBatch(n: 4, [3, 16, 16], classes: 10, seed: 7);
        ThreeLayerConvNet<double> Model(Backend backend) => new(inputDim: [3, 16, 16], numFilters: 4, filterSize: 3,
            hiddenDim: 9, weightScale: 1e-1, reg: 0.1, seed: 3, kernels: Kernels.For<double>(backend));

        LossResult<double> native = Model(Backend.Native).Loss(x, y);
        LossResult<double> managed = Model(Backend.Managed).Loss(x, y);

        Assert.True(Math.Abs(native.Loss - managed.Loss) < 1e-9, $"native loss {native.Loss} vs managed {managed.Loss}");
        foreach (var (name, grad) in native.Grads)
            AssertRelErrorBelow(grad, managed.Grads[name], 1e-9, name);
    }

    // The seed's overfitting check: 100 training inputs, batches of 50, adam at 1e-3, weight scale 1e-2,
    // 15 epochs. The seed uses CIFAR images; here a fixed synthetic 10-class set: each class a random
    // prototype image, each input its class's prototype plus noise of the same scale, so, like real
    // images, the inputs of a class share structure (pure noise with random labels is a harder,
    // different task: memorisation).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Train_100Samples_Overfits_Float64(int solverSeed)
    {
        var (xTrain, yTrain) = ClassImages(n: 100, seed: 231);
        var (xVal, yVal) = ClassImages(n: 20, seed: 232);
        var model = new ThreeLayerConvNet<double>(weightScale: 1e-2, kernels: Kernels.For<double>(Backend.Native));
        var options = new SolverOptions
        {
            UpdateRule = "adam",
            OptimConfig = new OptimConfig { LearningRate = 1e-3 },
            NumEpochs = 15,
            BatchSize = 50,
            Verbose = false,
            Seed = solverSeed,
        };
        var solver = new Solver<double>(model, new SolverData<double>(xTrain, yTrain, xVal, yVal), options);

        solver.Train();

        double trainAcc = solver.TrainAccHistory[^1];
        Assert.True(trainAcc >= 0.9, $"training accuracy after 15 epochs {trainAcc} should reach 0.9");
    }

    // n inputs (3, 32, 32) of 10 classes: prototype[y] + N(0, 1) noise; the prototypes come from one fixed seed.
    private static (Tensor<double> X, int[] Y) ClassImages(int n, int seed)
    {
        const int classes = 10, length = 3 * 32 * 32;
        var prototypes = Tensor<double>.RandN([classes, length], seed: 230);
        var x = Tensor<double>.RandN([n, 3, 32, 32], seed);
        var random = new Random(seed);
        int[] y = Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();
        for (int i = 0; i < n; i++)
        {
            Span<double> row = x.Span.Slice(i * length, length);
            System.Numerics.Tensors.TensorPrimitives.Add(row, prototypes.Span.Slice(y[i] * length, length), row);
        }
        return (x, y);
    }

    [Fact]
    public void Params_AreNamedInSeedOrderWithSeedShapes()
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7);

        Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3"], model.Params.Keys);
        Assert.Equal(new TensorShape([3, 3, 3, 3]), model.Params["W1"].Shape);
        Assert.Equal(new TensorShape([3 * 8 * 8, 7]), model.Params["W2"].Shape);
        Assert.Equal(new TensorShape([7, 10]), model.Params["W3"].Shape);
        Assert.All(new[] { "b1", "b2", "b3" }, name => Assert.All(model.Params[name].Span.ToArray(), v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void Loss_WithoutLabels_ReturnsScoresOfShapeNByClasses()
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7);
        var (x, _) = RandomBatch(n: 5, [3, 16, 16], classes: 10, seed: 1);

        LossResult<double> result = model.Loss(x, null);

        Assert.NotNull(result.Scores);
        Assert.Equal(new TensorShape([5, 10]), result.Scores!.Shape);
        Assert.Empty(result.Grads);
    }

    [Fact]
    public void Loss_WrongInputShape_ThrowsArgumentExceptionNamingShapes()
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7);
        var x = Tensor<double>.RandN([2, 3, 15, 16], seed: 1);

        var ex = Assert.Throws<ArgumentException>(() => model.Loss(x, [0, 1]));

        Assert.Equal("x", ex.ParamName);
        Assert.Contains("(N, 3, 16, 16)", ex.Message);
        Assert.Contains("(2, 3, 15, 16)", ex.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    public void Loss_LabelOutOfRange_ThrowsArgumentException(int label)
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7);
        var (x, _) = RandomBatch(n: 2, [3, 16, 16], classes: 10, seed: 1);

        var ex = Assert.Throws<ArgumentException>(() => model.Loss(x, [0, label]));

        Assert.Equal("y", ex.ParamName);
        Assert.Contains("[0, 10)", ex.Message);
    }

    [Fact]
    public void Loss_WrongLabelCount_ThrowsArgumentException()
    {
        var model = new ThreeLayerConvNet<double>(inputDim: [3, 16, 16], numFilters: 3, filterSize: 3, hiddenDim: 7);
        var (x, _) = RandomBatch(n: 2, [3, 16, 16], classes: 10, seed: 1);

        var ex = Assert.Throws<ArgumentException>(() => model.Loss(x, [0, 1, 2]));

        Assert.Equal("y", ex.ParamName);
    }

    private static (Tensor<double> X, int[] Y) RandomBatch(int n, int[] inputDim, int classes, int seed)
    {
        var x = Tensor<double>.RandN([n, .. inputDim], seed);
        var random = new Random(seed);
        int[] y = Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();
        return (x, y);
    }

    private static void AssertRelErrorBelow(Tensor<double> actual, Tensor<double> expected, double tolerance, string name)
    {
        double error = GradientCheck.RelError(actual, expected);
        Assert.True(error < tolerance, $"{name} rel_error {error:E3} should be below {tolerance:E0}");
    }
}
