namespace Nnk;

/// <summary>
/// Stride and zero padding of a convolution, as the seeds' <c>conv_param</c>
/// (<c>{'stride': 1, 'pad': 1}</c>), with separate values for height and width when needed.
/// </summary>
public sealed record ConvParam
{
    /// <summary>Same stride and padding along height and width.</summary>
    /// <param name="stride">Step between neighbouring windows, at least 1.</param>
    /// <param name="pad">Zeros added on each side of the input, at least 0.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0027",
        Justification = "The seeds' two-number form keeps its defaults; the per-axis overload takes every value explicitly, so no call can be ambiguous.")]
    public ConvParam(int stride = 1, int pad = 0)
        : this(stride, stride, pad, pad)
    {
    }

    /// <summary>Separate stride and padding along height and width.</summary>
    public ConvParam(int strideH, int strideW, int padH, int padW)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(strideH, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideW, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padH);
        ArgumentOutOfRangeException.ThrowIfNegative(padW);
        StrideH = strideH;
        StrideW = strideW;
        PadH = padH;
        PadW = padW;
    }

    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }

    /// <summary>Zero rows added above and below.</summary>
    public int PadH { get; }

    /// <summary>Zero columns added left and right.</summary>
    public int PadW { get; }
}
