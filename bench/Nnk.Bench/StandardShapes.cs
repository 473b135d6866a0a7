using Nnk;

namespace Nnk.Bench;

/// <summary>A convolution shape of ../shared/bench-shapes.md: input (N, C, H, W), filters (F, C, KH, KW), stride, pad.</summary>
public sealed record ConvShape(string Name, int[] Input, int[] Weights, int Stride, int Pad)
{
    public ConvParam Param => new(Stride, Pad);

    public ConvGeometry Geometry => ConvGeometry.Create(new TensorShape(Input), new TensorShape(Weights), Param);

    /// <summary>Multiply-adds of one forward pass, times two: 2*N*F*C*KH*KW*OutH*OutW.</summary>
    public double ForwardFlops
    {
        get
        {
            ConvGeometry g = Geometry;
            return 2.0 * g.N * g.F * g.C * g.KH * g.KW * g.OutH * g.OutW;
        }
    }
}

/// <summary>The standard benchmark shapes, as data, so every suite and the harness use the same ones.</summary>
public static class StandardShapes
{
    public static IReadOnlyList<ConvShape> Conv { get; } =
    [
        new("conv_seed", [100, 3, 31, 31], [25, 3, 3, 3], Stride: 2, Pad: 1),
        new("conv_3l", [50, 3, 32, 32], [32, 3, 7, 7], Stride: 1, Pad: 3),
        new("conv_mnist1", [64, 1, 28, 28], [20, 1, 3, 3], Stride: 1, Pad: 0),
        new("conv_mnist2", [64, 20, 13, 13], [50, 20, 5, 5], Stride: 1, Pad: 0),
        new("conv_wide", [32, 64, 32, 32], [64, 64, 3, 3], Stride: 1, Pad: 1),
    ];

    public static IEnumerable<string> Names => Conv.Select(s => s.Name);

    public static ConvShape ConvByName(string name) =>
        Conv.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"Unknown shape '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
}
