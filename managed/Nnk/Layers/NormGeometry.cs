namespace Nnk;

/// <summary>Training or test behaviour of batch normalisation, as the seeds' <c>bn_param['mode']</c>.</summary>
public enum NormMode
{
    /// <summary>Normalise with the batch's statistics and update the running statistics.</summary>
    Train = 0,
    /// <summary>Normalise with the running statistics; nothing is updated.</summary>
    Test = 1,
}

/// <summary>
/// Sizes of a channel-wise normalisation of x seen as (N, C, Spatial): batch norm over (N, D) is
/// (N, D, 1); spatial batch norm and group norm over (N, C, H, W) are (N, C, H*W); Groups divides
/// C (group norm; layer norm over (N, D) is group norm with (N, D, 1) and one group). Mirrors the
/// native <c>nnk_norm_desc</c> without eps and momentum, which travel separately.
/// </summary>
public readonly record struct NormGeometry
{
    /// <summary>Samples.</summary>
    public int N { get; init; }
    /// <summary>Channels (features).</summary>
    public int C { get; init; }
    /// <summary>Values per sample and channel: H*W, or 1 for (N, D) inputs.</summary>
    public int Spatial { get; init; }
    /// <summary>Groups of channels for group norm; 1 otherwise.</summary>
    public int Groups { get; init; }

    /// <summary>Elements of x and y: N*C*Spatial.</summary>
    public int Length => N * C * Spatial;

    /// <summary>Channels per group: C / Groups.</summary>
    public int ChannelsPerGroup => C / Groups;

    /// <summary>Creates and validates a geometry.</summary>
    /// <exception cref="ArgumentException">A size is below 1, Groups does not divide C, or the element count does not fit in an array.</exception>
    public static NormGeometry Create(int n, int c, int spatial, int groups = 1)
    {
        var g = new NormGeometry { N = n, C = c, Spatial = spatial, Groups = groups };
        g.Validate();
        return g;
    }

    /// <summary>Throws unless every size is at least 1, Groups divides C and the element count fits in an array.</summary>
    /// <exception cref="ArgumentException">The geometry is not valid; the message names the values.</exception>
    public void Validate()
    {
        if (N < 1 || C < 1 || Spatial < 1 || Groups < 1)
            throw new ArgumentException($"Every size must be at least 1: {this}.");
        if (C % Groups != 0)
            throw new ArgumentException($"{C} channels cannot be split into {Groups} equal groups.");
        if ((long)N * C * Spatial > Array.MaxLength)
            throw new ArgumentException($"The normalisation {this} has more elements than an array can hold.");
    }

    /// <summary>The sizes, for messages.</summary>
    public override string ToString() => $"(N={N}, C={C}, Spatial={Spatial}, Groups={Groups})";
}
