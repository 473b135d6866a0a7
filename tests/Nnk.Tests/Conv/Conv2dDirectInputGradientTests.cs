using System.Numerics;
using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>
/// Shallow stride-1 convolutions with windows of 25 or more compute dx directly, with no col2im, in
/// native (<c>direct.c</c>) and, by the same rules, in managed code
/// (<see cref="ManagedDirectInputGradient{T}"/>); both agree with the naive reference there.
/// </summary>
public class Conv2dDirectInputGradientTests
{
    // (n, c, h, w, f, kh, kw, padH, padW): conv_3l's window on a small batch; one and two blocks of
    // channels (c = 4 is 3 + 1 natively, 3 + 1 of 3 here), 5x5, 7x7 and 5x7 windows, pads from 0 to
    // kh-1 that differ by axis, blocks cut at dx's edge; the last is narrow enough that only double's
    // blocks (16 wide natively) cover it closely enough.
    internal static readonly (int N, int C, int H, int W, int F, int KH, int KW, int PadH, int PadW)[] Shapes =
    [
        (2, 3, 32, 32, 8, 7, 7, 3, 3),
        (2, 3, 8, 32, 8, 7, 7, 3, 3),
        (3, 2, 15, 30, 16, 5, 5, 0, 2),
        (2, 4, 7, 62, 4, 5, 7, 2, 3),
        (1, 3, 16, 16, 10, 7, 7, 1, 6),
    ];

    private const int DoubleOnly = 4;

    public static TheoryData<int, Backend, bool> Cases
    {
        get
        {
            var data = new TheoryData<int, Backend, bool>();
            for (int i = 0; i < Shapes.Length; i++)
                foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
                {
                    data.Add(i, backend, true);
                    data.Add(i, backend, false);
                }
            return data;
        }
    }

    private static ConvGeometry Geometry(int shape)
    {
        var (n, c, h, w, f, kh, kw, padH, padW) = Shapes[shape];
        return ConvGeometry.Create(new TensorShape([n, c, h, w]), new TensorShape([f, c, kh, kw]),
            new ConvParam(1, 1, padH, padW));
    }

    [Fact]
    public void Conv2dDirectDx_Shapes_TakeTheDirectPathByTheRules()
    {
        for (int i = 0; i < Shapes.Length; i++)
        {
            ConvGeometry g = Geometry(i);
            Assert.Equal(i != DoubleOnly, ManagedDirectInputGradient<float>.Applies(g));
            Assert.True(ManagedDirectInputGradient<double>.Applies(g), $"double on {g}");
            int backward = ManagedKernels<double>.Fast.Conv2dWorkspaceLength(g, ConvPass.Backward);
            Assert.True(backward >= ManagedDirectInputGradient<double>.WorkspacePerWorker(g));
        }
    }

    // Near misses of the rules: 3x3, stride 2, one channel, five channels, dx too narrow for the blocks.
    [Theory]
    [InlineData(2, 3, 32, 32, 8, 3, 3, 1, 1, 1)]
    [InlineData(2, 3, 32, 32, 8, 7, 7, 3, 3, 2)]
    [InlineData(2, 1, 32, 32, 8, 7, 7, 3, 3, 1)]
    [InlineData(2, 5, 32, 32, 8, 7, 7, 3, 3, 1)]
    [InlineData(2, 3, 24, 24, 8, 7, 7, 3, 3, 1)]
    public void Conv2dDirectDx_NearMisses_DoNotApply(int n, int c, int h, int w, int f, int kh, int kw, int padH,
        int padW, int stride)
    {
        var g = ConvGeometry.Create(new TensorShape([n, c, h, w]), new TensorShape([f, c, kh, kw]),
            new ConvParam(stride, stride, padH, padW));
        Assert.False(ManagedDirectInputGradient<float>.Applies(g));
        Assert.False(ManagedDirectInputGradient<double>.Applies(g));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dDirectDx_MatchesNaive_Float32(int shape, Backend backend, bool alone) =>
        AssertGradients<float>(shape, backend, alone, 1e-4);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dDirectDx_MatchesNaive_Float64(int shape, Backend backend, bool alone) =>
        AssertGradients<double>(shape, backend, alone, 1e-10);

    // dx alone or with dw and db, into buffers of NaN: every element must be written.
    private static void AssertGradients<T>(int shape, Backend backend, bool alone, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvGeometry g = Geometry(shape);
        var (x, w, _, dy) = Conv2dWinogradTests.Inputs<T>(g, 500 + shape);
        var (dxExpected, dwExpected, dbExpected) = Conv2dWinogradTests.Gradients(ManagedKernels<T>.Naive, g, x, w, dy, 0);
        IKernels<T> kernels = Kernels.For<T>(backend);
        var dx = Enumerable.Repeat(T.NaN, g.InputLength).ToArray();
        var dw = Enumerable.Repeat(T.NaN, alone ? 0 : g.WeightLength).ToArray();
        var db = Enumerable.Repeat(T.NaN, alone ? 0 : g.F).ToArray();
        kernels.Conv2dBackward(g, x, w, dy, dx, dw, db, new T[kernels.Conv2dWorkspaceLength(g, ConvPass.Backward)]);
        string where = $"{backend}, {typeof(T).Name}, {g}";
        Conv2dWinogradTests.AssertClose<T>(dx, dxExpected, tolerance, "dx", where);
        if (!alone)
        {
            Conv2dWinogradTests.AssertClose<T>(dw, dwExpected, tolerance, "dw", where);
            Conv2dWinogradTests.AssertClose<T>(db, dbExpected, tolerance, "db", where);
        }
    }
}
