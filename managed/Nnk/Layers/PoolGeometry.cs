namespace Nnk;

/// <summary>
/// Every size of one pooling: input (N, C, H, W), window PoolH x PoolW, stride, padding and the
/// output size OutH = 1 + (H + 2*PadH - PoolH) / StrideH (floored), likewise OutW. Mirrors the
/// native <c>nnk_pool2d_desc</c>.
/// </summary>
public readonly record struct PoolGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Window height.</summary>
    public int PoolH { get; init; }
    /// <summary>Window width.</summary>
    public int PoolW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; init; }
    /// <summary>Padding rows above and below.</summary>
    public int PadH { get; init; }
    /// <summary>Padding columns left and right.</summary>
    public int PadW { get; init; }

    /// <summary>Output height.</summary>
    public int OutH => (int)(1 + ((long)H + 2L * PadH - PoolH) / StrideH);
    /// <summary>Output width.</summary>
    public int OutW => (int)(1 + ((long)W + 2L * PadW - PoolW) / StrideW);
    /// <summary>Elements of x: N*C*H*W.</summary>
    public int InputLength => N * C * H * W;
    /// <summary>Elements of y (and of the max-pool index buffer): N*C*OutH*OutW.</summary>
    public int OutputLength => N * C * OutH * OutW;

    /// <summary>The geometry of pooling x of shape (N, C, H, W).</summary>
    /// <exception cref="ArgumentException">x is not 4-D or the window is larger than the padded input.</exception>
    public static PoolGeometry Create(TensorShape xShape, PoolParam poolParam)
    {
        ArgumentNullException.ThrowIfNull(poolParam);
        if (xShape.Rank != 4)
            throw new ArgumentException($"x must have shape (N, C, H, W), but its shape is {xShape}.", "x");
        var g = new PoolGeometry
        {
            N = xShape[0], C = xShape[1], H = xShape[2], W = xShape[3],
            PoolH = poolParam.PoolHeight, PoolW = poolParam.PoolWidth,
            StrideH = poolParam.StrideH, StrideW = poolParam.StrideW,
            PadH = poolParam.PadH, PadW = poolParam.PadW,
        };
        g.Validate();
        return g;
    }

    /// <summary>Throws unless every size is positive, 0 &lt;= pad &lt; window and the window fits the padded input.</summary>
    /// <exception cref="ArgumentException">The geometry is not valid; the message names the values.</exception>
    public void Validate()
    {
        if (N < 1 || C < 1 || H < 1 || W < 1 || PoolH < 1 || PoolW < 1)
            throw new ArgumentException($"Every size must be at least 1: {this}.");
        if (StrideH < 1 || StrideW < 1 || PadH < 0 || PadW < 0 || PadH >= PoolH || PadW >= PoolW)
            throw new ArgumentException($"Strides must be at least 1 and 0 <= pad < window: {this}.");
        if ((long)PoolH > H + 2L * PadH || (long)PoolW > W + 2L * PadW)
            throw new ArgumentException(
                $"The window {PoolH}x{PoolW} is larger than the padded input {H + 2L * PadH}x{W + 2L * PadW} " +
                $"(H={H}, W={W}, PadH={PadH}, PadW={PadW}).");
        if ((long)N * C * H * W > Array.MaxLength)
            throw new ArgumentException($"The pooling {this} has more elements than an array can hold.");
    }

    /// <summary>The sizes, for messages.</summary>
    public override string ToString() =>
        $"x ({N}, {C}, {H}, {W}), window {PoolH}x{PoolW}, stride ({StrideH}, {StrideW}), pad ({PadH}, {PadW})";
}
