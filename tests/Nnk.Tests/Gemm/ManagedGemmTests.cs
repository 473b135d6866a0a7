using System.Numerics;

namespace Nnk.Tests.Gemm;

public class ManagedGemmTests
{
    private static readonly (bool TransposeA, bool TransposeB)[] Transposes =
        [(false, false), (false, true), (true, false), (true, true)];

    private static readonly double[] Scales = [1, 0, -0.5, 2];

    private static readonly double[] NonZeroAlphas = [1, -0.5, 2];

    // Edge sizes, primes, and sizes just past the register tile (6 x 16), the k slice (256), the
    // A block (144 float rows, 72 double rows) and the B block (4096 float, 2048 double columns).
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 7, 13), (7, 1, 13), (13, 37, 1), (6, 16, 256), (7, 17, 257), (37, 13, 300),
        (12, 32, 27), (32, 1024, 147), (145, 23, 37), (300, 37, 13), (73, 257, 7), (5, 2049, 3),
        (3, 4099, 5), (64, 64, 576), (257, 13, 513),
        // A times B^T with at most 1024 entries of C and k >= 64 takes one dot product per entry;
        // the first is the largest that does, the second just past it.
        (32, 32, 64), (33, 32, 64),
    ];

    public static TheoryData<bool, bool, int, int, int> ShapeCases()
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (var (m, n, k) in Shapes)
        {
            foreach (var (transposeA, transposeB) in Transposes)
            {
                data.Add(transposeA, transposeB, m, n, k);
            }
        }

        return data;
    }

    public static TheoryData<bool, bool, double, double> ScaleCases()
    {
        var data = new TheoryData<bool, bool, double, double>();
        foreach (var (transposeA, transposeB) in Transposes)
        {
            foreach (double alpha in Scales)
            {
                foreach (double beta in Scales)
                {
                    data.Add(transposeA, transposeB, alpha, beta);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ShapeCases))]
    public void Multiply_MatchesNaive_Float32(bool transposeA, bool transposeB, int m, int n, int k)
    {
        var (alpha, beta) = PickScales(m, n, k);
        AssertMatchesNaive<float>(transposeA, transposeB, m, n, k, alpha, beta, Seed(m, n, k), 1e-5);
    }

    [Theory]
    [MemberData(nameof(ShapeCases))]
    public void Multiply_MatchesNaive_Float64(bool transposeA, bool transposeB, int m, int n, int k)
    {
        var (alpha, beta) = PickScales(m, n, k);
        AssertMatchesNaive<double>(transposeA, transposeB, m, n, k, alpha, beta, Seed(m, n, k), 1e-12);
    }

    [Theory]
    [MemberData(nameof(ScaleCases))]
    public void Multiply_AppliesAlphaAndBeta_Float32(bool transposeA, bool transposeB, double alpha, double beta) =>
        AssertMatchesNaive<float>(transposeA, transposeB, 13, 37, 300, alpha, beta, 7, 1e-5);

    [Theory]
    [MemberData(nameof(ScaleCases))]
    public void Multiply_AppliesAlphaAndBeta_Float64(bool transposeA, bool transposeB, double alpha, double beta) =>
        AssertMatchesNaive<double>(transposeA, transposeB, 13, 37, 300, alpha, beta, 7, 1e-12);

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void Multiply_ZeroDepth_ScalesCByBeta(double beta)
    {
        double[] c = [1, 2, 3, 4, 5, 6];
        ManagedGemm<double>.Multiply(false, false, 2, 3, 0, 1, [], 1, [], 3, beta, c, 3);
        Assert.Equal(new[] { beta, 2 * beta, 3 * beta, 4 * beta, 5 * beta, 6 * beta }, c);
    }

    [Theory]
    [InlineData(7, 17, 5, false)]
    [InlineData(12, 32, 300, false)]
    [InlineData(3, 5, 0, false)]
    [InlineData(12, 32, 300, true)]
    public void Multiply_BetaZero_IgnoresNaNInC(int m, int n, int k, bool transposeB)
    {
        var random = new Random(3);
        float[] a = RandomArray<float>(random, m * k);
        float[] b = RandomArray<float>(random, k * n);
        float[] c = new float[m * n];
        Array.Fill(c, float.NaN);

        ManagedGemm<float>.Multiply(false, transposeB, m, n, k, 1f, a, Math.Max(k, 1), b,
            transposeB ? Math.Max(k, 1) : n, 0f, c, n);

        Assert.All(c, value => Assert.True(float.IsFinite(value), $"C holds {value}"));
    }

    [Fact]
    public void Multiply_NegativeSize_ThrowsWithParamName()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ManagedGemm<float>.Multiply(false, false, 2, -1, 2, 1f, new float[4], 2, new float[4], 2, 0f, new float[4], 2));
        Assert.Equal("n", error.ParamName);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Multiply_StrideTooSmall_ThrowsWithParamName(bool transposeA)
    {
        // A is 2 x 3 as stored without transposition and 3 x 2 with it; each stride is one short.
        int lda = transposeA ? 1 : 2;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ManagedGemm<float>.Multiply(transposeA, false, 2, 2, 3, 1f, new float[6], lda, new float[6], 2, 0f, new float[4], 2));
        Assert.Equal("lda", error.ParamName);
        Assert.Contains("at least", error.Message);
    }

    [Theory]
    [InlineData("a", 14)]
    [InlineData("b", 19)]
    [InlineData("c", 14)]
    public void Multiply_SpanTooShort_ThrowsWithParamNameAndSizes(string shortSpan, int needed)
    {
        // With strides of 5, A and C (3 x 4) need (3 - 1) * 5 + 4 = 14 elements and B (4 x 4) needs 19.
        float[] a = new float[shortSpan == "a" ? needed - 1 : 14];
        float[] b = new float[shortSpan == "b" ? needed - 1 : 19];
        float[] c = new float[shortSpan == "c" ? needed - 1 : 14];
        var error = Assert.Throws<ArgumentException>(() =>
            ManagedGemm<float>.Multiply(false, false, 3, 4, 4, 1f, a, 5, b, 5, 0f, c, 5));
        Assert.Equal(shortSpan, error.ParamName);
        Assert.Contains($"needs {needed} elements but the span has {needed - 1}", error.Message);
    }

    [Fact]
    public void Multiply_ConcurrentCalls_MatchSequential()
    {
        (int M, int N, int K)[] shapes = [(32, 1024, 147), (64, 300, 576), (7, 4099, 13), (150, 37, 257)];
        var random = new Random(11);
        var inputs = shapes.Select(s => (s, A: RandomArray<float>(random, s.M * s.K), B: RandomArray<float>(random, s.K * s.N))).ToArray();
        float[] Run(int index)
        {
            var ((m, n, k), a, b) = inputs[index];
            float[] c = new float[m * n];
            ManagedGemm<float>.Multiply(false, true, m, n, k, 1.5f, a, k, b, k, 0f, c, n);
            return c;
        }

        float[][] sequential = Enumerable.Range(0, shapes.Length).Select(Run).ToArray();
        float[][][] concurrent = new float[4][][];
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            // Each thread visits the shapes in a different order so buffers grow and shrink in use.
            concurrent[t] = new float[shapes.Length][];
            for (int repeat = 0; repeat < 3; repeat++)
            {
                for (int i = 0; i < shapes.Length; i++)
                {
                    int index = (i + t) % shapes.Length;
                    concurrent[t][index] = Run(index);
                }
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        for (int t = 0; t < 4; t++)
        {
            for (int i = 0; i < shapes.Length; i++)
            {
                Assert.Equal(sequential[i], concurrent[t][i]);
            }
        }
    }

    // A packed once (Winograd's filter matrices) gives Multiply's bits: the same packing and kernel.
    // Shapes within one packed block, up to its edges (144 float rows, k of 256).
    [Theory]
    [InlineData(1, 1, 1, 1.0, 0.0)]
    [InlineData(7, 17, 13, -0.5, 2.0)]
    [InlineData(64, 64, 64, 1.0, 0.0)]
    [InlineData(6, 1030, 256, 2.0, 1.0)]
    [InlineData(144, 23, 37, 1.0, -0.5)]
    public unsafe void MultiplyPacked_GivesMultiplysBits_Float32(int m, int n, int k, double alpha, double beta)
    {
        var random = new Random(m * 1000 + n + k);
        int ldb = n + 1, ldc = n + 2;
        float[] a = RandomArray<float>(random, m * k), b = RandomArray<float>(random, k * ldb);
        float[] c = RandomArray<float>(random, m * ldc), packedC = (float[])c.Clone();
        Assert.True(ManagedGemm<float>.PacksWhole(m, k));
        ManagedGemm<float>.Multiply(false, false, m, n, k, (float)alpha, a, k, b, ldb, (float)beta, c, ldc);
        var packed = new float[ManagedGemm<float>.PackedLength(m, k)];
        fixed (float* p = packed)
        {
            ManagedGemm<float>.PackWhole(a, k, m, k, p);
            ManagedGemm<float>.MultiplyPacked(m, n, k, (float)alpha, p, b, ldb, (float)beta, packedC, ldc);
        }

        Assert.Equal(c, packedC);
    }

    [Theory]
    [InlineData(145, 1)]
    [InlineData(1, 257)]
    public unsafe void PackWhole_LargerThanOneBlock_Throws(int m, int k)
    {
        Assert.False(ManagedGemm<float>.PacksWhole(m, k));
        var packed = new float[ManagedGemm<float>.PackedLength(m, k)];
        fixed (float* p = packed)
        {
            float* at = p;
            Assert.Throws<ArgumentOutOfRangeException>(() => ManagedGemm<float>.PackWhole(new float[m * k], k, m, k, at));
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                ManagedGemm<float>.MultiplyPacked(m, 1, k, 1f, at, new float[k], 1, 0f, new float[m], 1));
        }
    }

    // Compares with a naive triple loop in double on strided storage (every leading dimension a few
    // elements past its minimum), and checks that C's padding between n and ldc is untouched.
    // Tolerance: |C - reference| <= relative * sqrt(max(k, 1)) * (|alpha| sum |a b| + |beta c|), elementwise.
    private static void AssertMatchesNaive<T>(bool transposeA, bool transposeB, int m, int n, int k,
        double alpha, double beta, int seed, double relative)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        int lda = (transposeA ? m : k) + 3;
        int ldb = (transposeB ? k : n) + 1;
        int ldc = n + 2;
        T[] a = RandomArray<T>(random, (transposeA ? k : m) * lda);
        T[] b = RandomArray<T>(random, (transposeB ? n : k) * ldb);
        T[] c = RandomArray<T>(random, m * ldc);
        T[] original = (T[])c.Clone();

        ManagedGemm<T>.Multiply(transposeA, transposeB, m, n, k, T.CreateChecked(alpha), a, lda, b, ldb,
            T.CreateChecked(beta), c, ldc);

        double worst = 0;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double product = double.CreateChecked(transposeA ? a[p * lda + i] : a[i * lda + p])
                        * double.CreateChecked(transposeB ? b[j * ldb + p] : b[p * ldb + j]);
                    sum += product;
                    magnitude += Math.Abs(product);
                }

                double old = double.CreateChecked(original[i * ldc + j]);
                double expected = alpha * sum + beta * old;
                double tolerance = relative * Math.Sqrt(Math.Max(k, 1)) * (Math.Abs(alpha) * magnitude + Math.Abs(beta * old));
                double error = Math.Abs(double.CreateChecked(c[i * ldc + j]) - expected);
                worst = Math.Max(worst, tolerance == 0 ? error : error / tolerance);
            }

            for (int j = n; j < ldc; j++)
            {
                Assert.Equal(original[i * ldc + j], c[i * ldc + j]);
            }
        }

        Assert.True(worst <= 1, $"Worst error is {worst:G3} times the tolerance (relative {relative:G3} scaled by sqrt(k)).");
    }

    // Alpha is never zero here, since alpha == 0 skips the kernel (the scale tests cover it).
    private static (double Alpha, double Beta) PickScales(int m, int n, int k) =>
        (NonZeroAlphas[(m + k) % NonZeroAlphas.Length], Scales[(n + 2 * k) % Scales.Length]);

    private static int Seed(int m, int n, int k) => (m * 7919) + (n * 31) + k;

    private static T[] RandomArray<T>(Random random, int length) where T : IFloatingPointIeee754<T>
    {
        var values = new T[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
