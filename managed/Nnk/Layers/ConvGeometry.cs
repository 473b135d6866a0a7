namespace Nnk;

/// <summary>
/// Every size of one convolution: input (N, C, H, W), weights (F, C, KH, KW), stride, padding
/// and the output size OutH = 1 + (H + 2*PadH - KH) / StrideH (floored), likewise OutW. Mirrors
/// the native <c>nnk_conv2d_desc</c>; built and validated by <see cref="Create(TensorShape, TensorShape, ConvParam)"/>.
/// </summary>
public readonly record struct ConvGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Input channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Filters (output channels).</summary>
    public int F { get; init; }
    /// <summary>Kernel height.</summary>
    public int KH { get; init; }
    /// <summary>Kernel width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; init; }
    /// <summary>Zero rows above and below.</summary>
    public int PadH { get; init; }
    /// <summary>Zero columns left and right.</summary>
    public int PadW { get; init; }

    /// <summary>Output height.</summary>
    public int OutH => (int)(1 + ((long)H + 2L * PadH - KH) / StrideH);
    /// <summary>Output width.</summary>
    public int OutW => (int)(1 + ((long)W + 2L * PadW - KW) / StrideW);

    /// <summary>Elements of x: N*C*H*W.</summary>
    public int InputLength => N * C * H * W;
    /// <summary>Elements of w: F*C*KH*KW.</summary>
    public int WeightLength => F * C * KH * KW;
    /// <summary>Elements of y: N*F*OutH*OutW.</summary>
    public int OutputLength => N * F * OutH * OutW;
    /// <summary>Rows of one image's im2col matrix: C*KH*KW.</summary>
    public int ColumnRows => C * KH * KW;
    /// <summary>Columns of one image's im2col matrix: OutH*OutW.</summary>
    public int ColumnCols => OutH * OutW;

    /// <summary>
    /// The geometry of convolving x of shape (N, C, H, W) with w of shape (F, C, KH, KW).
    /// </summary>
    /// <exception cref="ArgumentException">A shape has the wrong rank, the channels differ, the
    /// kernel is larger than the padded input, or a size does not fit in an array.</exception>
    public static ConvGeometry Create(TensorShape xShape, TensorShape wShape, ConvParam convParam)
    {
        ArgumentNullException.ThrowIfNull(convParam);
        if (xShape.Rank != 4)
            throw new ArgumentException($"x must have shape (N, C, H, W), but its shape is {xShape}.", "x");
        if (wShape.Rank != 4)
            throw new ArgumentException($"w must have shape (F, C, KH, KW), but its shape is {wShape}.", "w");
        if (wShape[1] != xShape[1])
            throw new ArgumentException(
                $"w {wShape} has {wShape[1]} input channels but x {xShape} has {xShape[1]}.", "w");
        var g = new ConvGeometry
        {
            N = xShape[0], C = xShape[1], H = xShape[2], W = xShape[3],
            F = wShape[0], KH = wShape[2], KW = wShape[3],
            StrideH = convParam.StrideH, StrideW = convParam.StrideW,
            PadH = convParam.PadH, PadW = convParam.PadW,
        };
        g.Validate();
        return g;
    }

    /// <summary>Throws unless every size is positive, the kernel fits the padded input and
    /// every derived length fits in an array.</summary>
    /// <exception cref="ArgumentException">The geometry is not valid; the message names the values.</exception>
    public void Validate()
    {
        if (N < 1 || C < 1 || H < 1 || W < 1 || F < 1 || KH < 1 || KW < 1)
            throw new ArgumentException($"Every size must be at least 1: {this}.");
        if (StrideH < 1 || StrideW < 1 || PadH < 0 || PadW < 0)
            throw new ArgumentException($"Strides must be at least 1 and pads at least 0: {this}.");
        if ((long)KH > H + 2L * PadH || (long)KW > W + 2L * PadW)
            throw new ArgumentException(
                $"The kernel {KH}x{KW} is larger than the padded input {H + 2L * PadH}x{W + 2L * PadW} " +
                $"(H={H}, W={W}, PadH={PadH}, PadW={PadW}).");
        long outH = 1 + ((long)H + 2L * PadH - KH) / StrideH;
        long outW = 1 + ((long)W + 2L * PadW - KW) / StrideW;
        if ((long)N * C * H * W > Array.MaxLength || (long)F * C * KH * KW > Array.MaxLength
            || (long)N * F * outH * outW > Array.MaxLength || (long)C * KH * KW * outH * outW > Array.MaxLength)
            throw new ArgumentException($"The convolution {this} has more elements than an array can hold.");
    }

    /// <summary>The sizes, for messages.</summary>
    public override string ToString() =>
        $"x ({N}, {C}, {H}, {W}), w ({F}, {C}, {KH}, {KW}), stride ({StrideH}, {StrideW}), pad ({PadH}, {PadW})";
}
