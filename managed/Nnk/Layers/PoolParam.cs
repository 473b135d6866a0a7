namespace Nnk;

/// <summary>
/// Window, stride and padding of a pooling layer, as the seeds' <c>pool_param</c>
/// (<c>{'pool_height': 2, 'pool_width': 2, 'stride': 2}</c>), plus optional zero padding.
/// </summary>
public sealed record PoolParam
{
    /// <summary>Window of <paramref name="poolHeight"/> x <paramref name="poolWidth"/>, the same stride and padding along both axes.</summary>
    /// <param name="poolHeight">Window height, at least 1.</param>
    /// <param name="poolWidth">Window width, at least 1.</param>
    /// <param name="stride">Step between neighbouring windows, at least 1.</param>
    /// <param name="pad">Padding on each side, at least 0 and smaller than the window.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0027",
        Justification = "The seeds' two-number form keeps its defaults; the per-axis overload takes every value explicitly, so no call can be ambiguous.")]
    public PoolParam(int poolHeight = 2, int poolWidth = 2, int stride = 2, int pad = 0)
        : this(poolHeight, poolWidth, stride, stride, pad, pad)
    {
    }

    /// <summary>Separate window, stride and padding per axis.</summary>
    public PoolParam(int poolHeight, int poolWidth, int strideH, int strideW, int padH, int padW)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(poolHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(poolWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideH, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideW, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padH);
        ArgumentOutOfRangeException.ThrowIfNegative(padW);
        if (padH >= poolHeight || padW >= poolWidth)
            throw new ArgumentException(
                $"Padding ({padH}, {padW}) must be smaller than the window {poolHeight}x{poolWidth}, " +
                "or a window could hold only padding.", padH >= poolHeight ? nameof(padH) : nameof(padW));
        PoolHeight = poolHeight;
        PoolWidth = poolWidth;
        StrideH = strideH;
        StrideW = strideW;
        PadH = padH;
        PadW = padW;
    }

    /// <summary>Window height.</summary>
    public int PoolHeight { get; }
    /// <summary>Window width.</summary>
    public int PoolWidth { get; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }
    /// <summary>Padding rows above and below.</summary>
    public int PadH { get; }
    /// <summary>Padding columns left and right.</summary>
    public int PadW { get; }
}
