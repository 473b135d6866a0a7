using Nnk.Interop;

namespace Nnk.Tests.Interop;

/// <summary>The Span wrappers: length checks before the call, native statuses after it.</summary>
public unsafe class NnkNativeTests
{
    private static nnk_conv2d_desc Desc(long n, long c, long h, long w, long f, long k, long stride, long pad) => new()
    {
        n = n, c = c, h = h, w = w, f = f, kh = k, kw = k,
        stride_h = stride, stride_w = stride, pad_h = pad, pad_w = pad,
    };

    private static string LastError() => NnkErrors.Utf8(NativeMethods.nnk_last_error());

    [Fact]
    public void Im2Col_WrongInputLength_ThrowsArgumentExceptionNamingBothCounts()
    {
        var desc = Desc(n: 2, c: 3, h: 4, w: 4, f: 2, k: 3, stride: 1, pad: 1);
        var cols = new float[2 * 3 * 3 * 3 * 4 * 4];

        var e = Assert.Throws<ArgumentException>(() => NnkNative.Im2Col<float>(desc, new float[95], cols));

        Assert.Equal("x", e.ParamName);
        Assert.StartsWith("x has 95 elements but the descriptor (N=2, C=3, H=4, W=4) needs 96.", e.Message);
    }

    [Fact]
    public void Conv2dForward_WrongBiasLength_ThrowsArgumentExceptionNamingShape()
    {
        var desc = Desc(n: 1, c: 1, h: 3, w: 3, f: 2, k: 3, stride: 1, pad: 0);

        var e = Assert.Throws<ArgumentException>(() => NnkNative.Conv2dForward<double>(
            desc, new double[9], new double[18], new double[3], new double[2], new double[64]));

        Assert.Equal("b", e.ParamName);
        Assert.Contains("b has 3 elements but the descriptor (F=2) needs 2", e.Message);
    }

    [Fact]
    public void Im2Col_NegativeHeight_ThrowsArgumentExceptionWithNativeMessage()
    {
        var desc = Desc(n: 1, c: 1, h: -4, w: 4, f: 1, k: 3, stride: 1, pad: 0);

        var e = Assert.Throws<ArgumentException>(() => NnkNative.Im2Col<float>(desc, new float[16], new float[36]));

        Assert.Equal("desc", e.ParamName);
        Assert.Contains("(NNK_ERROR_INVALID_ARGUMENT)", e.Message);
    }

    [Fact]
    public void Conv2dOutputSize_ZeroStride_MessageIsNativeLastErrorAndStatusName()
    {
        var desc = Desc(n: 1, c: 1, h: 4, w: 4, f: 1, k: 3, stride: 0, pad: 0);

        var e = Assert.Throws<ArgumentException>(() => NnkNative.Conv2dOutputSize(desc));

        string native = LastError();
        Assert.NotEqual("", native);
        Assert.StartsWith($"{native} (NNK_ERROR_INVALID_ARGUMENT)", e.Message);
    }

    [Fact]
    public void Conv2dForward_EmptyWorkspace_ThrowsArgumentException()
    {
        var desc = Desc(n: 1, c: 1, h: 3, w: 3, f: 1, k: 3, stride: 1, pad: 0);

        var e = Assert.ThrowsAny<ArgumentException>(() => NnkNative.Conv2dForward<float>(
            desc, new float[9], new float[9], default, new float[1], default));

        Assert.Contains(LastError(), e.Message);
    }

    [Theory]
    [InlineData((int)nnk_status.NNK_ERROR_NULL_POINTER, typeof(ArgumentNullException))]
    [InlineData((int)nnk_status.NNK_ERROR_INVALID_ARGUMENT, typeof(ArgumentException))]
    [InlineData((int)nnk_status.NNK_ERROR_BUFFER_SIZE, typeof(ArgumentException))]
    [InlineData((int)nnk_status.NNK_ERROR_OVERFLOW, typeof(ArgumentOutOfRangeException))]
    [InlineData((int)nnk_status.NNK_ERROR_BLAS_UNAVAILABLE, typeof(InvalidOperationException))]
    public void ToException_MapsStatusToExceptionType_WithStatusName(int statusCode, Type expected)
    {
        // A public test method cannot take the internal enum, so the status travels as its value.
        var status = (nnk_status)statusCode;
        Exception e = NnkErrors.ToException(status, "p");

        Assert.IsType(expected, e);
        Assert.Contains($"({status})", e.Message);
    }

    [Fact]
    public void ThrowIfFailed_Ok_DoesNotThrow()
    {
        NnkErrors.ThrowIfFailed(nnk_status.NNK_OK);
    }

    [Fact]
    public void Im2Col_OneByOneKernel_CopiesInput_Float32()
    {
        var desc = Desc(n: 1, c: 2, h: 2, w: 2, f: 1, k: 1, stride: 1, pad: 0);
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8];
        var cols = new float[8];

        NnkNative.Im2Col<float>(desc, x, cols);

        Assert.Equal(x, cols);
    }

    [Fact]
    public void Im2Col_OneByOneKernel_CopiesInput_Float64()
    {
        var desc = Desc(n: 1, c: 2, h: 2, w: 2, f: 1, k: 1, stride: 1, pad: 0);
        double[] x = [1, 2, 3, 4, 5, 6, 7, 8];
        var cols = new double[8];

        NnkNative.Im2Col<double>(desc, x, cols);

        Assert.Equal(x, cols);
    }

    [Fact]
    public void Im2Col_IntElements_ThrowsNotSupported()
    {
        var desc = Desc(n: 1, c: 1, h: 2, w: 2, f: 1, k: 1, stride: 1, pad: 0);

        Assert.Throws<NotSupportedException>(() => NnkNative.Im2Col<int>(desc, new int[4], new int[4]));
    }

    [Fact]
    public void Conv2dForward_IdentityKernelWithBias_AddsBias_Float64()
    {
        var desc = Desc(n: 1, c: 1, h: 2, w: 3, f: 1, k: 1, stride: 1, pad: 0);
        double[] x = [1, 2, 3, 4, 5, 6];
        var y = new double[6];
        var workspace = new double[NnkNative.Conv2dWorkspaceSize(desc, nnk_conv_pass.NNK_CONV_FORWARD)];

        NnkNative.Conv2dForward<double>(desc, x, [1.0], [0.5], y, workspace);

        Assert.Equal([1.5, 2.5, 3.5, 4.5, 5.5, 6.5], y);
    }

    [Fact]
    public void Conv2dBackward_OnlyDb_SumsDyAndSkipsEmptyGradients_Float32()
    {
        var desc = Desc(n: 2, c: 1, h: 2, w: 2, f: 1, k: 1, stride: 1, pad: 0);
        float[] dy = [1, 2, 3, 4, 5, 6, 7, 8];
        var db = new float[1];
        var workspace = new float[NnkNative.Conv2dWorkspaceSize(desc, nnk_conv_pass.NNK_CONV_BACKWARD)];

        NnkNative.Conv2dBackward<float>(desc, default, default, dy, default, default, db, workspace);

        Assert.Equal(36f, db[0]);
    }

    [Fact]
    public void Conv2dOutputSize_PaddedStridedGeometry_FollowsFlooredFormula()
    {
        var desc = Desc(n: 2, c: 3, h: 7, w: 5, f: 4, k: 3, stride: 2, pad: 1);

        var (height, width) = NnkNative.Conv2dOutputSize(desc);

        Assert.Equal((4L, 3L), (height, width));
    }
}
