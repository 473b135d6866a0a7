using System.Numerics;

namespace Nnk;

/// <summary>Shape checks shared by the pooling layers.</summary>
internal static class PoolShapes
{
    public static void RequireOutputShape<T>(Tensor<T> dout, in PoolGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dout.Shape != new TensorShape([g.N, g.C, g.OutH, g.OutW]))
            throw new ArgumentException(
                $"dout must have the forward output's shape ({g.N}, {g.C}, {g.OutH}, {g.OutW}), but its shape is {dout.Shape}.",
                nameof(dout));
    }
}
