using System.Numerics;
using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>
/// The fast managed convolution runs 3x3 stride-1 convolutions with 16+ channels each way through
/// Winograd F(2x2, 3x3), as native does, and agrees with the naive reference there; a workspace too
/// small for Winograd falls back to the other paths with the same results.
/// </summary>
public class Conv2dWinogradTests
{
    // (n, c, h, w, f, padH, padW): odd and even output sizes (clipped tiles), pads 0-2, batches 1-3,
    // non-square images and pads; images wider than a vector of tiles and than one strip (64 tiles);
    // several blocks with a boundary inside a tile row; f = 17 and c = 120, where the direct weight
    // gradient does not apply and Winograd computes dw, beside f = 16 and 32, where it does.
    internal static readonly (int N, int C, int H, int W, int F, int PadH, int PadW)[] Shapes =
    [
        (1, 16, 8, 8, 16, 1, 1),
        (2, 16, 7, 9, 17, 0, 0),
        (3, 17, 9, 6, 20, 2, 2),
        (1, 24, 5, 13, 16, 1, 1),
        (2, 16, 6, 37, 17, 1, 1),
        (1, 16, 3, 131, 16, 0, 0),
        (1, 120, 6, 7, 16, 1, 1),
        (3, 16, 25, 25, 16, 1, 1),
        (2, 18, 10, 11, 32, 2, 0),
        (1, 16, 12, 5, 17, 0, 2),
    ];

    public static TheoryData<int> ShapeIndices
    {
        get
        {
            var data = new TheoryData<int>();
            for (int i = 0; i < Shapes.Length; i++)
                data.Add(i);
            return data;
        }
    }

    // Every shape with each gradient alone and all three together.
    public static TheoryData<int, bool, bool, bool> BackwardCases
    {
        get
        {
            var data = new TheoryData<int, bool, bool, bool>();
            for (int i = 0; i < Shapes.Length; i++)
            {
                data.Add(i, true, false, false);
                data.Add(i, false, true, false);
                data.Add(i, false, false, true);
                data.Add(i, true, true, true);
            }
            return data;
        }
    }

    // Small images with many channels, where one worker's workspace of the other paths is smaller
    // than one Winograd worker's: im2col's 9c*out_h*out_w against Winograd's 16*c*f filters.
    internal static readonly (int N, int C, int H, int W, int F, int PadH, int PadW)[] SmallImageShapes =
    [
        (2, 32, 4, 4, 48, 1, 1),
        (1, 16, 5, 3, 24, 0, 0),
        (3, 20, 6, 5, 17, 2, 1),
    ];

    public static TheoryData<int> SmallImageShapeIndices => new() { 0, 1, 2 };

    internal static ConvGeometry Geometry(int shape) => Geometry(Shapes[shape]);

    internal static ConvGeometry Geometry((int N, int C, int H, int W, int F, int PadH, int PadW) shape)
    {
        var (n, c, h, w, f, padH, padW) = shape;
        return ConvGeometry.Create(new TensorShape([n, c, h, w]), new TensorShape([f, c, 3, 3]),
            new ConvParam(1, 1, padH, padW));
    }

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void Conv2dWinograd_Float32_TakesTheWinogradPath(int shape) => AssertWinogradPath<float>(shape);

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void Conv2dWinograd_Float64_TakesTheWinogradPath(int shape) => AssertWinogradPath<double>(shape);

    [Fact]
    public void Conv2dWinograd_Shapes_ReachBothWeightGradientPaths()
    {
        var direct = Enumerable.Range(0, Shapes.Length)
            .Select(i => ManagedDirectConv<float>.Applies(Geometry(i), filter: true)).ToArray();
        Assert.Contains(true, direct);
        Assert.Contains(false, direct);
    }

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void Conv2dWinogradForward_MatchesNaive_Float32(int shape) => AssertForward<float>(shape, 1e-4);

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void Conv2dWinogradForward_MatchesNaive_Float64(int shape) => AssertForward<double>(shape, 1e-10);

    [Theory]
    [MemberData(nameof(BackwardCases))]
    public void Conv2dWinogradBackward_MatchesNaive_Float32(int shape, bool dx, bool dw, bool db) =>
        AssertBackward<float>(shape, dx, dw, db, 1e-4);

    [Theory]
    [MemberData(nameof(BackwardCases))]
    public void Conv2dWinogradBackward_MatchesNaive_Float64(int shape, bool dx, bool dw, bool db) =>
        AssertBackward<double>(shape, dx, dw, db, 1e-10);

    [Theory]
    [MemberData(nameof(SmallImageShapeIndices))]
    public void Conv2dWinograd_WorkspaceTooSmallForWinograd_FallsBackWithSameResults_Float32(int shape) =>
        AssertFallback<float>(shape, 1e-4);

    [Theory]
    [MemberData(nameof(SmallImageShapeIndices))]
    public void Conv2dWinograd_WorkspaceTooSmallForWinograd_FallsBackWithSameResults_Float64(int shape) =>
        AssertFallback<double>(shape, 1e-10);

    // Winograd applies to every pass, and the workspace the query asks for holds it: the forward
    // pass and dx run on it, and dw too unless the direct weight gradient takes precedence.
    private static void AssertWinogradPath<T>(int shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvGeometry g = Geometry(shape);
        var kernels = ManagedKernels<T>.Fast;
        int forward = kernels.Conv2dWorkspaceLength(g, ConvPass.Forward);
        int backward = kernels.Conv2dWorkspaceLength(g, ConvPass.Backward);
        foreach (WinogradPass pass in Enum.GetValues<WinogradPass>())
            Assert.True(ManagedWinograd<T>.Applies(g, pass), $"Winograd {pass} does not apply to {g}");
        Assert.True(forward >= ManagedWinograd<T>.WorkspaceLength(g, WinogradPass.Forward));
        Assert.True(ManagedWinograd<T>.Workers(g, WinogradPass.Forward, forward) > 0);
        Assert.True(backward >= ManagedWinograd<T>.WorkspaceLength(g, WinogradPass.InputGradient));
        Assert.True(ManagedWinograd<T>.Workers(g, WinogradPass.InputGradient, backward) > 0);
        if (!ManagedDirectConv<T>.Applies(g, filter: true))
        {
            Assert.True(backward >= ManagedWinograd<T>.WorkspaceLength(g, WinogradPass.WeightGradient));
            Assert.True(ManagedWinograd<T>.Workers(g, WinogradPass.WeightGradient, backward) > 0);
        }
    }

    private static void AssertForward<T>(int shape, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvGeometry g = Geometry(shape);
        var (x, w, b, _) = Inputs<T>(g, shape);
        var expected = new T[g.OutputLength];
        ManagedKernels<T>.Naive.Conv2dForward(g, x, w, b, expected, default);
        var y = Forward(g, x, w, b, ManagedKernels<T>.Fast.Conv2dWorkspaceLength(g, ConvPass.Forward));
        AssertClose<T>(y, expected, tolerance, "y", g);
    }

    private static void AssertBackward<T>(int shape, bool wantDx, bool wantDw, bool wantDb, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvGeometry g = Geometry(shape);
        var (x, w, _, dy) = Inputs<T>(g, shape);
        var (dxExpected, dwExpected, dbExpected) = Gradients(ManagedKernels<T>.Naive, g, x, w, dy, 0);
        var (dx, dw, db) = Gradients(ManagedKernels<T>.Fast, g, x, w, dy,
            ManagedKernels<T>.Fast.Conv2dWorkspaceLength(g, ConvPass.Backward), wantDx, wantDw, wantDb);
        Assert.Equal(wantDx, dx.Length > 0);
        Assert.Equal(wantDw, dw.Length > 0);
        Assert.Equal(wantDb, db.Length > 0);
        if (wantDx)
            AssertClose<T>(dx, dxExpected, tolerance, "dx", g);
        if (wantDw)
            AssertClose<T>(dw, dwExpected, tolerance, "dw", g);
        if (wantDb)
            AssertClose<T>(db, dbExpected, tolerance, "db", g);
    }

    // One worker's workspace of the other paths, too small for one Winograd worker in the passes
    // that would take it.
    private static void AssertFallback<T>(int shape, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvGeometry g = Geometry(SmallImageShapes[shape]);
        int forward = ManagedKernels<T>.ConvWorkspacePerWorker(g, ConvPass.Forward);
        int backward = ManagedKernels<T>.ConvWorkspacePerWorker(g, ConvPass.Backward);
        Assert.Equal(0, ManagedWinograd<T>.Workers(g, WinogradPass.Forward, forward));
        Assert.Equal(0, ManagedWinograd<T>.Workers(g, WinogradPass.InputGradient, backward));
        if (!ManagedDirectConv<T>.Applies(g, filter: true))
            Assert.Equal(0, ManagedWinograd<T>.Workers(g, WinogradPass.WeightGradient, backward));

        var (x, w, b, dy) = Inputs<T>(g, shape);
        var yExpected = new T[g.OutputLength];
        ManagedKernels<T>.Naive.Conv2dForward(g, x, w, b, yExpected, default);
        var (dxExpected, dwExpected, dbExpected) = Gradients(ManagedKernels<T>.Naive, g, x, w, dy, 0);
        AssertClose<T>(Forward(g, x, w, b, forward), yExpected, tolerance, "y (fallback)", g);
        var (dx, dw, db) = Gradients(ManagedKernels<T>.Fast, g, x, w, dy, backward);
        AssertClose<T>(dx, dxExpected, tolerance, "dx (fallback)", g);
        AssertClose<T>(dw, dwExpected, tolerance, "dw (fallback)", g);
        AssertClose<T>(db, dbExpected, tolerance, "db (fallback)", g);
    }

    internal static (T[] X, T[] W, T[] B, T[] Dy) Inputs<T>(in ConvGeometry g, int seed)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (Tensor<T>.RandN([g.InputLength], seed * 4 + 1).Span.ToArray(),
         Tensor<T>.RandN([g.WeightLength], seed * 4 + 2).Span.ToArray(),
         Tensor<T>.RandN([g.F], seed * 4 + 3).Span.ToArray(),
         Tensor<T>.RandN([g.OutputLength], seed * 4 + 4).Span.ToArray());

    internal static T[] Forward<T>(in ConvGeometry g, T[] x, T[] w, T[] b, int workspaceLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new T[g.OutputLength];
        ManagedKernels<T>.Fast.Conv2dForward(g, x, w, b, y, new T[workspaceLength]);
        return y;
    }

    // The gradients wanted (each empty otherwise), with a workspace of workspaceLength elements.
    internal static (T[] Dx, T[] Dw, T[] Db) Gradients<T>(IKernels<T> kernels, in ConvGeometry g, T[] x, T[] w,
        T[] dy, int workspaceLength, bool wantDx = true, bool wantDw = true, bool wantDb = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dx = new T[wantDx ? g.InputLength : 0];
        var dw = new T[wantDw ? g.WeightLength : 0];
        var db = new T[wantDb ? g.F : 0];
        kernels.Conv2dBackward(g, x, w, dy, dx, dw, db, new T[workspaceLength]);
        return (dx, dw, db);
    }

    private static void AssertClose<T>(T[] actual, T[] expected, double tolerance, string name, ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        AssertClose<T>(actual, expected, tolerance, name, $"{typeof(T).Name}, {g}");

    internal static void AssertClose<T>(T[] actual, T[] expected, double tolerance, string name, string where)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double error = BackendData.MaxAbsErrorRelativeToScale<T>(actual, expected);
        Assert.True(error < tolerance, $"{name} differs by {error:E3} (tolerance {tolerance:E1}) on {where}");
    }
}
