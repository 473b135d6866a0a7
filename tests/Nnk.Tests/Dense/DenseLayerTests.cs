using System.Numerics;
using Nnk;

namespace Nnk.Tests.Dense;

/// <summary>
/// The affine, ReLU, dropout and loss layers: the seed notebook's checks on every backend, native
/// and fast managed kernels against the naive reference, and bad input.
/// </summary>
public class DenseLayerTests
{
    public static TheoryData<int> Seeds
    {
        get
        {
            var data = new TheoryData<int>();
            for (int i = 0; i < 30; i++)
                data.Add(i);
            return data;
        }
    }

    public static TheoryData<bool, bool, int> GemmCases
    {
        get
        {
            var data = new TheoryData<bool, bool, int>();
            foreach (bool transposeA in new[] { false, true })
            foreach (bool transposeB in new[] { false, true })
            for (int seed = 0; seed < 8; seed++)
                data.Add(transposeA, transposeB, seed);
            return data;
        }
    }

    // ---- Seed checks -------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void AffineForward_MatchesSeedCorrectOut_Float64(Backend backend)
    {
        var x = Tensor<double>.Linspace(-0.1, 0.5, [2, 4, 5, 6]);
        var w = Tensor<double>.Linspace(-0.2, 0.3, [120, 3]);
        var b = Tensor<double>.Linspace(-0.3, 0.1, [3]);
        var correctOut = Tensor<double>.FromArray(
            [1.49834967, 1.70660132, 1.91485297, 3.25553199, 3.5141327, 3.77273342], [2, 3]);

        var (output, _) = Affine.Forward(x, w, b, Kernels.For<double>(backend));

        double error = GradientCheck.RelError(output, correctOut);
        Assert.True(error < 1e-9, $"rel_error {error:E3} against the seed's correct_out on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void AffineBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        var x = Tensor<double>.RandN([10, 2, 3], seed: 231);
        var w = Tensor<double>.RandN([6, 5], seed: 232);
        var b = Tensor<double>.RandN([5], seed: 233);
        var dout = Tensor<double>.RandN([10, 5], seed: 234);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Affine.Forward(v, w, b, kernels).Out, x, dout);
        var dwNum = GradientCheck.EvalNumericalGradientArray(v => Affine.Forward(x, v, b, kernels).Out, w, dout);
        var dbNum = GradientCheck.EvalNumericalGradientArray(v => Affine.Forward(x, w, v, kernels).Out, b, dout);
        var (_, cache) = Affine.Forward(x, w, b, kernels);
        var (dx, dw, db) = Affine.Backward(dout, cache);

        Assert.Equal(x.Shape, dx.Shape);
        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-8, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
        Assert.True(GradientCheck.RelError(dw, dwNum) < 1e-8, $"dw rel_error {GradientCheck.RelError(dw, dwNum):E3}");
        Assert.True(GradientCheck.RelError(db, dbNum) < 1e-8, $"db rel_error {GradientCheck.RelError(db, dbNum):E3}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void ReluForward_MatchesSeedCorrectOut_Float64(Backend backend)
    {
        var x = Tensor<double>.Linspace(-0.5, 0.5, [3, 4]);
        var correctOut = Tensor<double>.FromArray(
            [0, 0, 0, 0, 0, 0, 0.04545455, 0.13636364, 0.22727273, 0.31818182, 0.40909091, 0.5], [3, 4]);

        var (output, _) = Relu.Forward(x, Kernels.For<double>(backend));

        double error = GradientCheck.RelError(output, correctOut);
        Assert.True(error < 1e-7, $"rel_error {error:E3} against the seed's correct_out on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void ReluBackward_MatchesNumericGradient_Float64(Backend backend)
    {
        // Inputs at least 0.1 away from the kink at 0, where the centred difference is meaningless.
        var x = AwayFromZero(Tensor<double>.RandN([10, 10], seed: 11), 0.1);
        var dout = Tensor<double>.RandN([10, 10], seed: 12);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Relu.Forward(v, kernels).Out, x, dout);
        var (_, cache) = Relu.Forward(x, kernels);
        var dx = Relu.Backward(dout, cache);

        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-8, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void ReluForward_PropagatesNaN_Float32(Backend backend)
    {
        var x = Tensor<float>.FromArray([float.NaN, -1f, -0f, 0f, 2f, float.NegativeInfinity, float.PositiveInfinity,
            float.NaN, -3f, 4f], [10]);

        var (output, _) = Relu.Forward(x, Kernels.For<float>(backend));

        float[] expected = [float.NaN, 0f, 0f, 0f, 2f, 0f, float.PositiveInfinity, float.NaN, 0f, 4f];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i].Equals(output.Span[i]) || expected[i] == output.Span[i],
                $"relu({x.Span[i]}) = {output.Span[i]}, expected {expected[i]} on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SoftmaxLoss_SmallRandomScores_IsNearLogOfClassCount(Backend backend)
    {
        var (scores, labels) = SmallScores(seed: 1);

        var (loss, _) = Loss.Softmax(scores, labels, Kernels.For<double>(backend));

        Assert.True(Math.Abs(loss - 2.3) < 0.05, $"softmax loss {loss} is not within 0.05 of ln(10) ~ 2.3 on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SvmLoss_SmallRandomScores_IsNearClassCountMinusOne(Backend backend)
    {
        var (scores, labels) = SmallScores(seed: 2);

        var (loss, _) = Loss.Svm(scores, labels, Kernels.For<double>(backend));

        Assert.True(Math.Abs(loss - 9) < 0.2, $"svm loss {loss} is not within 0.2 of C - 1 = 9 on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SoftmaxLoss_MatchesNumericGradient_Float64(Backend backend)
    {
        var (scores, labels) = SmallScores(seed: 3);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dscoresNum = GradientCheck.EvalNumericalGradient(v => Loss.Softmax(v, labels, kernels).Loss, scores);
        var (_, dscores) = Loss.Softmax(scores, labels, kernels);

        double error = GradientCheck.RelError(dscores, dscoresNum);
        Assert.True(error < 1e-7, $"dscores rel_error {error:E3} on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SvmLoss_MatchesNumericGradient_Float64(Backend backend)
    {
        var (scores, labels) = SmallScores(seed: 4);
        IKernels<double> kernels = Kernels.For<double>(backend);

        var dscoresNum = GradientCheck.EvalNumericalGradient(v => Loss.Svm(v, labels, kernels).Loss, scores);
        var (_, dscores) = Loss.Svm(scores, labels, kernels);

        double error = GradientCheck.RelError(dscores, dscoresNum);
        Assert.True(error < 1e-7, $"dscores rel_error {error:E3} on {backend}");
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void SoftmaxLoss_HugeScores_StaysFinite(Backend backend)
    {
        var scores = Tensor<float>.FromArray([1000f, 0f, -1000f, 500f, 500f, 500f], [2, 3]);

        var (loss, dscores) = Loss.Softmax(scores, [0, 1], Kernels.For<float>(backend));

        // Row 0 is certain and right (loss 0), row 1 uniform (loss ln 3).
        Assert.True(Math.Abs(loss - Math.Log(3) / 2) < 1e-6, $"loss {loss} on {backend}");
        foreach (float g in dscores.Span)
            Assert.True(float.IsFinite(g), $"non-finite gradient {g} on {backend}");
    }

    // ---- Agreement with the naive reference --------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public void DenseLayers_NativeAndManagedMatchNaive_Float64(int seed) => AssertAgreement<double>(seed, 1e-12);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void DenseLayers_NativeAndManagedMatchNaive_Float32(int seed) => AssertAgreement<float>(seed, 2e-5);

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Gemm_EveryTransposeCase_MatchesNaive_Float64(bool transposeA, bool transposeB, int seed) =>
        AssertGemmAgreement<double>(transposeA, transposeB, seed, 1e-12);

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Gemm_EveryTransposeCase_MatchesNaive_Float32(bool transposeA, bool transposeB, int seed) =>
        AssertGemmAgreement<float>(transposeA, transposeB, seed, 1e-5);

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Gemm_BetaZero_DoesNotReadC(Backend backend)
    {
        var a = Tensor<double>.RandN([7, 5], seed: 1);
        var b = Tensor<double>.RandN([5, 9], seed: 2);
        var c = new double[63];
        Array.Fill(c, double.NaN);

        Kernels.For<double>(backend).Gemm(false, false, 7, 9, 5, 1.0, a.Span, b.Span, 0.0, c);

        Assert.DoesNotContain(c, double.IsNaN);
    }

    // ---- Dropout -----------------------------------------------------------------------------

    [Fact]
    public void DropoutForward_TestMode_IsIdentity()
    {
        var x = Tensor<double>.RandN([4, 5], seed: 1);
        var dout = Tensor<double>.RandN([4, 5], seed: 2);
        var dropoutParam = new DropoutParam { Mode = NormMode.Test, P = 0.3, Seed = 7 };

        var (output, cache) = Dropout.Forward(x, dropoutParam);
        var dx = Dropout.Backward(dout, cache);

        Assert.Equal(x.Span.ToArray(), output.Span.ToArray());
        Assert.Equal(dout.Span.ToArray(), dx.Span.ToArray());
    }

    [Fact]
    public void DropoutForward_TrainMode_PreservesMeanAndDropsOneMinusP()
    {
        var x = Tensor<double>.Ones([100_000]);

        var (output, _) = Dropout.Forward(x, new DropoutParam { Mode = NormMode.Train, P = 0.3, Seed = 123 });

        double mean = output.Span.ToArray().Average();
        double zeros = output.Span.ToArray().Count(v => v == 0) / (double)output.Length;
        Assert.True(Math.Abs(mean - 1) < 0.02, $"mean {mean} is not within 0.02 of 1");
        Assert.True(Math.Abs(zeros - 0.7) < 0.02, $"fraction zero {zeros} is not within 0.02 of 0.7");
    }

    [Fact]
    public void DropoutForward_SameSeed_GivesSameMask()
    {
        var x = Tensor<float>.RandN([8, 16], seed: 1);

        var (first, _) = Dropout.Forward(x, new DropoutParam { P = 0.5, Seed = 42 });
        var (second, _) = Dropout.Forward(x, new DropoutParam { P = 0.5, Seed = 42 });
        var (other, _) = Dropout.Forward(x, new DropoutParam { P = 0.5, Seed = 43 });

        Assert.Equal(first.Span.ToArray(), second.Span.ToArray());
        Assert.NotEqual(first.Span.ToArray(), other.Span.ToArray());
    }

    [Fact]
    public void DropoutBackward_TrainMode_AppliesTheForwardMask()
    {
        var x = Tensor<double>.Ones([10, 10]);
        var dout = Tensor<double>.RandN([10, 10], seed: 3);

        var (output, cache) = Dropout.Forward(x, new DropoutParam { P = 0.6, Seed = 9 });
        var dx = Dropout.Backward(dout, cache);

        // With x all ones, the output is the mask itself: 1/p where kept, 0 where dropped.
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(output.Span[i], cache.Mask!.Span[i]);
            Assert.Equal(dout.Span[i] * output.Span[i], dx.Span[i]);
        }
        Assert.Contains(output.Span.ToArray(), v => v == 0);
        Assert.Contains(output.Span.ToArray(), v => v == 1 / 0.6);
    }

    [Fact]
    public void DropoutBackward_MatchesNumericGradient_Float64()
    {
        var x = Tensor<double>.RandN([10, 10], seed: 5);
        var dout = Tensor<double>.RandN([10, 10], seed: 6);
        var dropoutParam = new DropoutParam { P = 0.2, Seed = 123 };

        var dxNum = GradientCheck.EvalNumericalGradientArray(v => Dropout.Forward(v, dropoutParam).Out, x, dout);
        var (_, cache) = Dropout.Forward(x, dropoutParam);
        var dx = Dropout.Backward(dout, cache);

        Assert.True(GradientCheck.RelError(dx, dxNum) < 1e-8, $"dx rel_error {GradientCheck.RelError(dx, dxNum):E3}");
    }

    // ---- Bad input ---------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Loss_LabelOutOfRange_ThrowsNamingRowAndLabel(Backend backend)
    {
        var scores = Tensor<float>.Zeros([3, 10]);
        IKernels<float> kernels = Kernels.For<float>(backend);

        var softmax = Assert.Throws<ArgumentException>(() => Loss.Softmax(scores, [0, 10, 2], kernels));
        var svm = Assert.Throws<ArgumentException>(() => Loss.Svm(scores, [0, 1, -1], kernels));

        Assert.Contains("labels[1] = 10", softmax.Message);
        Assert.Contains("labels[2] = -1", svm.Message);
        Assert.Equal("labels", softmax.ParamName);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void Loss_LabelsOfWrongLength_Throws(Backend backend)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Loss.Softmax(Tensor<double>.Zeros([4, 3]), [0, 1, 2], Kernels.For<double>(backend)));
        Assert.Contains("3 entries", ex.Message);
        Assert.Contains("(4, 3)", ex.Message);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void LossKernels_LabelOutOfRange_ThrowWithoutWriting(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var dscores = new double[6];
        Array.Fill(dscores, 42.0);

        Assert.Throws<ArgumentException>(() => kernels.SoftmaxLoss(2, 3, new double[6], [0, 3], dscores));
        Assert.Throws<ArgumentException>(() => kernels.SvmLoss(2, 3, new double[6], [-1, 0], dscores));
        Assert.Throws<ArgumentException>(() => kernels.SvmLoss(2, 3, new double[6], [0], dscores));

        Assert.All(dscores, v => Assert.Equal(42.0, v));
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void AffineForward_ShapeMismatch_ThrowsNamingShapes(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var x = Tensor<float>.Zeros([2, 4, 5, 6]);

        var wrongW = Assert.Throws<ArgumentException>(() =>
            Affine.Forward(x, Tensor<float>.Zeros([100, 3]), Tensor<float>.Zeros([3]), kernels));
        var wrongB = Assert.Throws<ArgumentException>(() =>
            Affine.Forward(x, Tensor<float>.Zeros([120, 3]), Tensor<float>.Zeros([4]), kernels));

        Assert.Contains("(2, 4, 5, 6)", wrongW.Message);
        Assert.Contains("(100, 3)", wrongW.Message);
        Assert.Equal("w", wrongW.ParamName);
        Assert.Contains("(4,)", wrongB.Message);
        Assert.Equal("b", wrongB.ParamName);
    }

    [Fact]
    public void AffineBackward_DoutOfWrongShape_Throws()
    {
        var (_, cache) = Affine.Forward(Tensor<double>.Zeros([2, 6]), Tensor<double>.Zeros([6, 3]), Tensor<double>.Zeros([3]));
        var ex = Assert.Throws<ArgumentException>(() => Affine.Backward(Tensor<double>.Zeros([2, 4]), cache));
        Assert.Contains("(2, 3)", ex.Message);
    }

    [Theory]
    [MemberData(nameof(BackendData.All), MemberType = typeof(BackendData))]
    public void DenseKernels_MismatchedLengths_ThrowNamingCounts(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);

        var gemm = Assert.Throws<ArgumentException>(() =>
            kernels.Gemm(false, false, 3, 4, 5, 1f, new float[14], new float[20], 0f, new float[12]));
        Assert.Contains("14", gemm.Message);
        Assert.Contains("15", gemm.Message);
        Assert.Throws<ArgumentException>(() => kernels.ReluForward(new float[5], new float[4]));
        Assert.Throws<ArgumentException>(() => kernels.ReluBackward(new float[5], new float[5], new float[6]));
        Assert.Throws<ArgumentException>(() => kernels.SoftmaxLoss(2, 3, new float[5], [0, 0], new float[6]));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void DropoutParam_KeepProbabilityOutsideZeroToOne_Throws(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutParam { P = p });

    [Fact]
    public void DropoutForward_KeepProbabilityOne_IsIdentityInTraining()
    {
        var x = Tensor<double>.RandN([3, 7], seed: 1);
        var (output, _) = Dropout.Forward(x, new DropoutParam { P = 1.0, Seed = 1 });
        Assert.Equal(x.Span.ToArray(), output.Span.ToArray());
    }

    // ---- Helpers -----------------------------------------------------------------------------

    // The seeds' loss check: N = 50, C = 10, scores 0.001 * randn, random labels.
    private static (Tensor<double> Scores, int[] Labels) SmallScores(int seed)
    {
        var scores = Tensor<double>.RandN([50, 10], seed);
        foreach (ref double s in scores.Span)
            s *= 0.001;
        var random = new Random(seed);
        int[] labels = Enumerable.Range(0, 50).Select(_ => random.Next(10)).ToArray();
        return (scores, labels);
    }

    private static Tensor<double> AwayFromZero(Tensor<double> x, double gap)
    {
        foreach (ref double v in x.Span)
            v += v >= 0 ? gap : -gap;
        return x;
    }

    // Affine forward/backward, ReLU and both losses on one random geometry, compared per backend.
    private static void AssertAgreement<T>(int seed, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        int n = random.Next(1, 33), d1 = random.Next(1, 9), d2 = random.Next(1, 17), m = random.Next(1, 41);
        var x = Tensor<T>.RandN([n, d1, d2], seed * 5 + 1);
        var w = Tensor<T>.RandN([d1 * d2, m], seed * 5 + 2);
        var b = Tensor<T>.RandN([m], seed * 5 + 3);
        var dout = Tensor<T>.RandN([n, m], seed * 5 + 4);
        int[] labels = Enumerable.Range(0, n).Select(_ => random.Next(m)).ToArray();

        var expected = RunDense(x, w, b, dout, labels, Kernels.For<T>(Backend.ManagedNaive));
        foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
        {
            var actual = RunDense(x, w, b, dout, labels, Kernels.For<T>(backend));
            string where = $"{backend}, {typeof(T).Name}, x ({n}, {d1}, {d2}), w ({d1 * d2}, {m})";
            for (int i = 0; i < expected.Tensors.Length; i++)
                AssertClose(actual.Tensors[i], expected.Tensors[i], tolerance, DenseOutputNames[i], where);
            for (int i = 0; i < expected.Losses.Length; i++)
            {
                double error = Math.Abs(actual.Losses[i] - expected.Losses[i]) / Math.Max(1e-30, Math.Abs(expected.Losses[i]));
                Assert.True(error < tolerance, $"{(i == 0 ? "softmax" : "svm")} loss differs by {error:E3} on {where}");
            }
        }
    }

    private static readonly string[] DenseOutputNames =
        ["affine out", "affine dx", "affine dw", "affine db", "relu out", "relu dx", "softmax dscores", "svm dscores"];

    private static (Tensor<T>[] Tensors, double[] Losses) RunDense<T>(Tensor<T> x, Tensor<T> w, Tensor<T> b,
        Tensor<T> dout, int[] labels, IKernels<T> kernels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (scores, affineCache) = Affine.Forward(x, w, b, kernels);
        var (dx, dw, db) = Affine.Backward(dout, affineCache);
        var (hidden, reluCache) = Relu.Forward(scores, kernels);
        var dhidden = Relu.Backward(dout, reluCache);
        var (softmaxLoss, softmaxGrad) = Loss.Softmax(scores, labels, kernels);
        var (svmLoss, svmGrad) = Loss.Svm(scores, labels, kernels);
        return ([scores, dx, dw, db, hidden, dhidden, softmaxGrad, svmGrad], [softmaxLoss, svmLoss]);
    }

    // Sizes cross the managed GEMM's register tile and its 256-deep k slice.
    private static void AssertGemmAgreement<T>(bool transposeA, bool transposeB, int seed, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed * 4 + (transposeA ? 2 : 0) + (transposeB ? 1 : 0));
        int m = random.Next(1, 80), n = random.Next(1, 80), k = random.Next(1, 300);
        T alpha = T.CreateChecked(random.NextDouble() * 2 - 1), beta = T.CreateChecked(random.NextDouble() * 2 - 1);
        var a = Tensor<T>.RandN([m * k], seed * 3 + 1);
        var b = Tensor<T>.RandN([k * n], seed * 3 + 2);
        var c0 = Tensor<T>.RandN([m * n], seed * 3 + 3);

        var expected = c0.Clone();
        Kernels.For<T>(Backend.ManagedNaive).Gemm(transposeA, transposeB, m, n, k, alpha, a.Span, b.Span, beta, expected.Span);
        foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
        {
            var c = c0.Clone();
            Kernels.For<T>(backend).Gemm(transposeA, transposeB, m, n, k, alpha, a.Span, b.Span, beta, c.Span);
            AssertClose(c, expected, tolerance, "c",
                $"{backend}, {typeof(T).Name}, transA={transposeA}, transB={transposeB}, m={m}, n={n}, k={k}");
        }
    }

    private static void AssertClose<T>(Tensor<T> actual, Tensor<T> expected, double tolerance, string name, string where)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double error = BackendData.MaxAbsErrorRelativeToScale<T>(actual.Span, expected.Span);
        Assert.True(error < tolerance, $"{name} differs by {error:E3} (tolerance {tolerance:E1}) on {where}");
    }
}
