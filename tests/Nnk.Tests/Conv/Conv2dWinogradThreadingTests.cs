using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>
/// Managed Winograd gives y and dx bit-identical at 1 and 2 threads (a tile's sums do not depend on
/// the blocking), and dw, summed per worker as the other paths' dw, equal within rounding. In the
/// NumThreads collection, which runs alone, because it changes the thread count.
/// </summary>
[Collection("NumThreads")]
public class Conv2dWinogradThreadingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void Conv2dWinograd_OneAndTwoThreads_GiveSameResults(int shape)
    {
        ConvGeometry g = Conv2dWinogradTests.Geometry(shape);
        var (x, w, b, dy) = Conv2dWinogradTests.Inputs<float>(g, shape);
        var kernels = ManagedKernels<float>.Fast;
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 1;
            var y1 = Conv2dWinogradTests.Forward(g, x, w, b, kernels.Conv2dWorkspaceLength(g, ConvPass.Forward));
            var (dx1, dw1, _) = Conv2dWinogradTests.Gradients(kernels, g, x, w, dy,
                kernels.Conv2dWorkspaceLength(g, ConvPass.Backward));
            NnkRuntime.NumThreads = 2;
            var y2 = Conv2dWinogradTests.Forward(g, x, w, b, kernels.Conv2dWorkspaceLength(g, ConvPass.Forward));
            var (dx2, dw2, _) = Conv2dWinogradTests.Gradients(kernels, g, x, w, dy,
                kernels.Conv2dWorkspaceLength(g, ConvPass.Backward));
            Assert.True(y1.AsSpan().SequenceEqual(y2), "y differs between 1 and 2 threads");
            Assert.True(dx1.AsSpan().SequenceEqual(dx2), "dx differs between 1 and 2 threads");
            double error = BackendData.MaxAbsErrorRelativeToScale<float>(dw2, dw1);
            Assert.True(error < 1e-5, $"dw differs by {error:E3} between 1 and 2 threads (tolerance 1.0E-005)");
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }
}
