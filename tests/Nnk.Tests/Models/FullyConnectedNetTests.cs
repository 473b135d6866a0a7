using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// The affine sandwich layers and <see cref="FullyConnectedNet{T}"/>: numeric gradient checks as in
/// the seed notebook (N=2, D=15, hidden [20, 30], C=10, weight scale 5e-2, reg 0 and 3.14) with each
/// normalisation and with dropout, the initial loss, backend agreement and bad input.
/// </summary>
public class FullyConnectedNetTests
{
    private const int N = 2, D = 15, H1 = 20, H2 = 30, C = 10;

    // Seed of the gradient-checked nets' weights and dropout masks. Seed 231 puts a second-layer
    // ReLU input at -6.1e-6, within the numeric step 1e-5 of the kink, so its centred difference
    // sees half a slope where the true gradient is 0 (b2 rel_error 1.0); this seed keeps every
    // ReLU input of every case further than the step from 0.
    private const int NetSeed = 0;

    public static TheoryData<Backend> Backends => new() { Backend.Native, Backend.Managed };

    public static TheoryData<Backend, NormalizationKind, double, double> NetCases
    {
        get
        {
            var data = new TheoryData<Backend, NormalizationKind, double, double>();
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
            foreach (double reg in new[] { 0.0, 3.14 })
            {
                foreach (NormalizationKind normalization in Enum.GetValues<NormalizationKind>())
                    data.Add(backend, normalization, reg, 1.0);
                data.Add(backend, NormalizationKind.None, reg, 0.5);
                data.Add(backend, NormalizationKind.BatchNorm, reg, 0.5);
            }
            return data;
        }
    }

    // ---- Sandwich layers ---------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Backends))]
    public void AffineReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([2, 3, 4], seed: 231);
        var w = Tensor<double>.RandN([12, 10], seed: 232);
        var b = Tensor<double>.RandN([10], seed: 233);
        var dout = Tensor<double>.RandN([2, 10], seed: 234);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => AffineRelu.Forward(v, w, b, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => AffineRelu.Forward(x, v, b, kernels).Out, w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => AffineRelu.Forward(x, w, v, kernels).Out, b, dout);
        var (_, cache) = AffineRelu.Forward(x, w, b, kernels);
        var (dx, dw, db) = AffineRelu.Backward(dout, cache);

        AssertRelError(dx, dxNum, 1e-8, "dx");
        AssertRelError(dw, dwNum, 1e-8, "dw");
        AssertRelError(db, dbNum, 1e-8, "db");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AffineBatchNormReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var (x, w, b, gamma, beta, dout) = NormSandwichInputs();
        IKernels<double> kernels = Kernels.For<double>(backend);
        var bnParam = new BatchNormParam<double>();
        Tensor<double> Run(Tensor<double> xv, Tensor<double> wv, Tensor<double> bv, Tensor<double> g, Tensor<double> be) =>
            AffineBatchNormRelu.Forward(xv, wv, bv, g, be, bnParam, kernels).Out;

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Run(v, w, b, gamma, beta), x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, v, b, gamma, beta), w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, v, gamma, beta), b, dout);
        var dgammaNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, b, v, beta), gamma, dout);
        var dbetaNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, b, gamma, v), beta, dout);
        var (_, cache) = AffineBatchNormRelu.Forward(x, w, b, gamma, beta, bnParam, kernels);
        var (dx, dw, db, dgamma, dbeta) = AffineBatchNormRelu.Backward(dout, cache);

        AssertRelError(dx, dxNum, 1e-6, "dx");
        AssertRelError(dw, dwNum, 1e-6, "dw");
        AssertZeroGradient(db, dbNum, "db");
        AssertRelError(dgamma, dgammaNum, 1e-8, "dgamma");
        AssertRelError(dbeta, dbetaNum, 1e-8, "dbeta");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AffineLayerNormReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var (x, w, b, gamma, beta, dout) = NormSandwichInputs();
        IKernels<double> kernels = Kernels.For<double>(backend);
        Tensor<double> Run(Tensor<double> xv, Tensor<double> wv, Tensor<double> bv, Tensor<double> g, Tensor<double> be) =>
            AffineLayerNormRelu.Forward(xv, wv, bv, g, be, 1e-5, kernels).Out;

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Run(v, w, b, gamma, beta), x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, v, b, gamma, beta), w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, v, gamma, beta), b, dout);
        var dgammaNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, b, v, beta), gamma, dout);
        var dbetaNum = GradientCheck.EvalNumericalGradientArray(v => Run(x, w, b, gamma, v), beta, dout);
        var (_, cache) = AffineLayerNormRelu.Forward(x, w, b, gamma, beta, 1e-5, kernels);
        var (dx, dw, db, dgamma, dbeta) = AffineLayerNormRelu.Backward(dout, cache);

        AssertRelError(dx, dxNum, 1e-6, "dx");
        AssertRelError(dw, dwNum, 1e-6, "dw");
        AssertRelError(db, dbNum, 1e-8, "db");
        AssertRelError(dgamma, dgammaNum, 1e-8, "dgamma");
        AssertRelError(dbeta, dbetaNum, 1e-8, "dbeta");
    }

    // ---- FullyConnectedNet -------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(NetCases))]
    public void Loss_EveryParamGradient_MatchesNumericGradient_Float64(
        Backend backend, NormalizationKind normalization, double reg, double keepRatio)
    {
        var (x, y) = SeedData();
        var model = new FullyConnectedNet<double>([H1, H2], inputDim: D, numClasses: C, dropoutKeepRatio: keepRatio,
            normalization: normalization, reg: reg, weightScale: 5e-2, seed: NetSeed, kernels: Kernels.For<double>(backend));

        // Copies: the returned Grads are the net's buffers, which every numeric-gradient call overwrites.
        var grads = model.Loss(x, y).Grads.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());

        Assert.Equal(model.Params.Keys.Order(), grads.Keys.Order());
        foreach (var (name, param) in model.Params)
        {
            var numeric = GradientCheck.EvalNumericalGradient(_ => model.Loss(x, y).Loss, param);
            if (normalization == NormalizationKind.BatchNorm && IsHiddenBias(name, model.NumLayers))
                AssertZeroGradient(grads[name], numeric, name);
            else
                AssertRelError(grads[name], numeric, 1e-4, name);
        }
    }

    [Theory]
    [InlineData(NormalizationKind.None)]
    [InlineData(NormalizationKind.BatchNorm)]
    [InlineData(NormalizationKind.LayerNorm)]
    public void Loss_SmallWeightsNoReg_IsNearLn10(NormalizationKind normalization)
    {
        var (x, y) = SeedData();
        var model = new FullyConnectedNet<double>([H1, H2], inputDim: D, numClasses: C,
            normalization: normalization, weightScale: 1e-3, seed: 7);

        double loss = model.Loss(x, y).Loss;

        Assert.True(Math.Abs(loss - Math.Log(C)) < 1e-2, $"initial loss {loss} should be within 1e-2 of ln(10) = {Math.Log(C)}");
    }

    [Theory]
    [InlineData(NormalizationKind.None, 1.0)]
    [InlineData(NormalizationKind.BatchNorm, 1.0)]
    [InlineData(NormalizationKind.LayerNorm, 0.5)]
    public void Loss_NativeAndManaged_AgreeWithin1e9(NormalizationKind normalization, double keepRatio)
    {
        var (x, y) = SeedData();
        FullyConnectedNet<double> Build(Backend backend) => new([H1, H2], inputDim: D, numClasses: C,
            dropoutKeepRatio: keepRatio, normalization: normalization, reg: 3.14, weightScale: 5e-2, seed: 231,
            kernels: Kernels.For<double>(backend));

        LossResult<double> native = Build(Backend.Native).Loss(x, y);
        LossResult<double> managed = Build(Backend.Managed).Loss(x, y);

        Assert.True(Math.Abs(native.Loss - managed.Loss) < 1e-9, $"native loss {native.Loss} vs managed {managed.Loss}");
        // Absolute below scale 1: the biases before batch norm have gradients that are zero up to
        // rounding (about 1e-17), whose relative error, elementwise or to their own scale, is noise.
        foreach (var (name, grad) in native.Grads)
        {
            double scale = 1, worst = 0;
            for (int i = 0; i < grad.Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(grad.Span[i]));
                worst = Math.Max(worst, Math.Abs(managed.Grads[name].Span[i] - grad.Span[i]));
            }
            Assert.True(worst < 1e-9 * scale, $"{name}: max |managed - native| = {worst:E3}, scale {scale:E3}");
        }
    }

    [Fact]
    public void Loss_WithSeedAndDropout_IsTheSameOnEveryCall()
    {
        var (x, y) = SeedData();
        var model = new FullyConnectedNet<double>([H1, H2], inputDim: D, numClasses: C, dropoutKeepRatio: 0.5,
            weightScale: 5e-2, seed: 231);

        double first = model.Loss(x, y).Loss, second = model.Loss(x, y).Loss;

        Assert.Equal(first, second);
    }

    [Fact]
    public void Loss_WithoutLabelsAfterTraining_ReturnsScoresNByC()
    {
        var (x, y) = SeedData();
        var model = new FullyConnectedNet<double>([H1, H2], inputDim: D, numClasses: C, dropoutKeepRatio: 0.5,
            normalization: NormalizationKind.BatchNorm, seed: 231);
        model.Loss(x, y);

        LossResult<double> result = model.Loss(x.Reshape([N, 3, 5]), null);

        Assert.NotNull(result.Scores);
        Assert.Equal(new TensorShape([N, C]), result.Scores!.Shape);
        Assert.Empty(result.Grads);
    }

    [Fact]
    public void Loss_WithoutLabelsBeforeTrainingWithBatchNorm_ThrowsInvalidOperation()
    {
        var (x, _) = SeedData();
        var model = new FullyConnectedNet<double>([H1, H2], inputDim: D, numClasses: C,
            normalization: NormalizationKind.BatchNorm, seed: 231);

        Assert.Throws<InvalidOperationException>(() => model.Loss(x, null));
        Assert.All(model.BatchNormParams, p => Assert.Null(p.RunningMean));
    }

    // ---- Bad input ---------------------------------------------------------------------------

    [Fact]
    public void Loss_WrongFeatureCount_ThrowsArgumentExceptionNamingShapes()
    {
        var model = new FullyConnectedNet<double>([H1], inputDim: D, numClasses: C, seed: 1);

        var e = Assert.Throws<ArgumentException>(() => model.Loss(Tensor<double>.Zeros([N, D + 1]), [0, 1]));

        Assert.Equal("x", e.ParamName);
        Assert.Contains("15", e.Message);
        Assert.Contains("16", e.Message);
    }

    [Fact]
    public void Loss_LabelOutOfRange_ThrowsArgumentException()
    {
        var model = new FullyConnectedNet<double>([H1], inputDim: D, numClasses: C, seed: 1);

        var e = Assert.Throws<ArgumentException>(() => model.Loss(Tensor<double>.Zeros([N, D]), [0, C]));

        Assert.Equal("y", e.ParamName);
    }

    [Fact]
    public void Constructor_EmptyHiddenDims_ThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => new FullyConnectedNet<double>([], inputDim: D, numClasses: C));

        Assert.Equal("hiddenDims", e.ParamName);
    }

    [Fact]
    public void Constructor_ZeroHiddenDim_ThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => new FullyConnectedNet<double>([H1, 0], inputDim: D, numClasses: C));

        Assert.Equal("hiddenDims", e.ParamName);
    }

    // ---- Helpers -----------------------------------------------------------------------------

    private static (Tensor<double> X, int[] Y) SeedData()
    {
        var random = new Random(231);
        return (Tensor<double>.RandN([N, D], seed: 231), [random.Next(C), random.Next(C)]);
    }

    // N = 4 rather than the affine check's 2: batch norm over two samples maps every feature to
    // about +-1 and leaves almost no gradient to check.
    private static (Tensor<double> X, Tensor<double> W, Tensor<double> B, Tensor<double> Gamma, Tensor<double> Beta,
        Tensor<double> Dout) NormSandwichInputs() => (
        Tensor<double>.RandN([4, 3, 4], seed: 231),
        Tensor<double>.RandN([12, 10], seed: 232),
        Tensor<double>.RandN([10], seed: 233),
        Tensor<double>.RandN([10], seed: 234),
        Tensor<double>.RandN([10], seed: 235),
        Tensor<double>.RandN([4, 10], seed: 236));

    private static bool IsHiddenBias(string name, int numLayers) => name.StartsWith('b') && int.TryParse(name.AsSpan(1), out int layer) && layer < numLayers;

    // Batch norm subtracts the batch mean, so a bias just before it has a gradient of exactly 0
    // and rel_error compares rounding noise with rounding noise; check that both are that small.
    private static void AssertZeroGradient(Tensor<double> analytic, Tensor<double> numeric, string name)
    {
        double largest = 0;
        for (int i = 0; i < analytic.Length; i++)
            largest = Math.Max(largest, Math.Max(Math.Abs(analytic.Span[i]), Math.Abs(numeric.Span[i])));
        Assert.True(largest < 1e-8, $"{name} should be 0 before batch norm, but max |analytic|, |numeric| is {largest:E3}");
    }

    private static void AssertRelError(Tensor<double> actual, Tensor<double> expected, double tolerance, string name)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double error = GradientCheck.RelError(actual, expected);
        Assert.True(error < tolerance, $"{name} rel_error {error:E3} should be below {tolerance:E0}");
    }
}
