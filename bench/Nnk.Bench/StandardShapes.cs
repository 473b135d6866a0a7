using System.Numerics;
using Nnk.Bench.Speedup;

namespace Nnk.Bench;

/// <summary>A shape of ../shared/bench-shapes.md that the harness and the suites can run.</summary>
public abstract record BenchShape(string Name)
{
    /// <summary>The passes the harness times: forward and backward, or one whole training step.</summary>
    public virtual IReadOnlyList<string> Passes => ["forward", "backward"];

    public abstract BenchCase<T> CreateCase<T>(IKernels<T> kernels) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The native rate of a pass that took <paramref name="ms"/>, in the unit the kind of work is bound by.</summary>
    public abstract (double Value, string Unit) Rate(bool forward, double ms);
}

/// <summary>A convolution: input (N, C, H, W), filters (F, C, KH, KW), stride, pad.</summary>
public sealed record ConvShape(string Name, int[] Input, int[] Weights, int Stride, int Pad) : BenchShape(Name)
{
    public ConvGeometry Geometry => ConvGeometry.Create(new TensorShape(Input), new TensorShape(Weights), new ConvParam(Stride, Pad));

    public override BenchCase<T> CreateCase<T>(IKernels<T> kernels) => new ConvCase<T>(this, kernels);

    // 2*N*F*C*KH*KW*OutH*OutW per product; backward is two such products (dx and dw).
    public override (double Value, string Unit) Rate(bool forward, double ms)
    {
        ConvGeometry g = Geometry;
        double flops = 2.0 * g.N * g.F * g.C * g.KH * g.KW * g.OutH * g.OutW * (forward ? 1 : 2);
        return (flops / (ms * 1e6), "GFLOP/s");
    }
}

/// <summary>A max pooling: input (N, C, H, W), square window, stride.</summary>
public sealed record PoolShape(string Name, int[] Input, int Window, int Stride) : BenchShape(Name)
{
    public PoolGeometry Geometry => PoolGeometry.Create(new TensorShape(Input), new PoolParam(Window, Window, Stride));

    public override BenchCase<T> CreateCase<T>(IKernels<T> kernels) => new PoolCase<T>(this, kernels);

    // Bytes that must move once, float32: forward reads x and writes y and the int32 indices;
    // backward reads dy and the indices and writes dx.
    public override (double Value, string Unit) Rate(bool forward, double ms)
    {
        PoolGeometry g = Geometry;
        double bytes = 4.0 * (g.InputLength + 2.0 * g.OutputLength);
        return (bytes / (ms * 1e6), "GB/s");
    }
}

/// <summary>
/// A training-mode normalisation of x (N, C, H, W) or (N, D): batch norm per channel when
/// Groups is 0, else group norm with that many groups.
/// </summary>
public sealed record NormShape(string Name, int[] Input, int Groups = 0) : BenchShape(Name)
{
    public NormGeometry Geometry => NormGeometry.Create(Input[0], Input[1], Input.Skip(2).Aggregate(1, (a, b) => a * b),
        Math.Max(Groups, 1));

    public override BenchCase<T> CreateCase<T>(IKernels<T> kernels) => new NormCase<T>(this, kernels);

    // Bytes that must move once, float32: forward reads x and writes y; backward reads x and dy and writes dx.
    public override (double Value, string Unit) Rate(bool forward, double ms) =>
        (4.0 * Geometry.Length * (forward ? 2 : 3) / (ms * 1e6), "GB/s");
}

/// <summary>
/// One training step of a standard network ("3l": ThreeLayerConvNet with Adam; "mnist": the
/// MNIST BN-CNN with SGD), built as a buffer-reusing <see cref="Sequential{T}"/>.
/// </summary>
public sealed record TrainShape(string Name, int[] Input, string Network, string UpdateRule) : BenchShape(Name)
{
    public override IReadOnlyList<string> Passes => ["step"];

    public override BenchCase<T> CreateCase<T>(IKernels<T> kernels) => new TrainCase<T>(this, kernels);

    public Sequential<T> Build<T>(IKernels<T> kernels) where T : unmanaged, IFloatingPointIeee754<T> => Network switch
    {
        // conv 32x7x7 pad 3 - relu - pool 2x2 - affine 100 - relu - affine 10, the seeds' default weight scale.
        "3l" => new Sequential<T>(
        [
            new Conv2dLayer<T>(3, 32, 7, new ConvParam(1, 3), 1e-3, seed: 1, kernels),
            new ReluLayer<T>(kernels),
            new MaxPool2dLayer<T>(new PoolParam(2, 2, 2), kernels),
            new AffineLayer<T>(32 * 16 * 16, 100, 1e-3, seed: 2, kernels),
            new ReluLayer<T>(kernels),
            new AffineLayer<T>(100, 10, 1e-3, seed: 3, kernels),
        ], [3, 32, 32], kernels: kernels),
        "mnist" => Sequential<T>.MnistBnCnn(kernels: kernels),
        _ => throw new ArgumentException($"Unknown network '{Network}'.", nameof(Network)),
    };

    // A step is one forward and one backward pass of the whole network: report steps per second.
    public override (double Value, string Unit) Rate(bool forward, double ms) => (1000.0 / ms, "steps/s");
}

/// <summary>The standard benchmark shapes, as data, so every suite and the harness use the same ones.</summary>
public static class StandardShapes
{
    public static IReadOnlyList<BenchShape> All { get; } =
    [
        new ConvShape("conv_seed", [100, 3, 31, 31], [25, 3, 3, 3], Stride: 2, Pad: 1),
        new ConvShape("conv_3l", [50, 3, 32, 32], [32, 3, 7, 7], Stride: 1, Pad: 3),
        new ConvShape("conv_mnist1", [64, 1, 28, 28], [20, 1, 3, 3], Stride: 1, Pad: 0),
        new ConvShape("conv_mnist2", [64, 20, 13, 13], [50, 20, 5, 5], Stride: 1, Pad: 0),
        new ConvShape("conv_wide", [32, 64, 32, 32], [64, 64, 3, 3], Stride: 1, Pad: 1),
        new PoolShape("pool_seed", [100, 3, 32, 32], Window: 2, Stride: 2),
        new PoolShape("pool_3l", [50, 32, 32, 32], Window: 2, Stride: 2),
        new PoolShape("pool_overlap", [32, 64, 32, 32], Window: 3, Stride: 2),
        new NormShape("sbn_3l", [50, 32, 32, 32]),
        new NormShape("sbn_mnist", [64, 20, 26, 26]),
        new NormShape("bn_seed", [100, 500]),
        new NormShape("gn", [50, 32, 32, 32], Groups: 4),
        new TrainShape("train_3l", [50, 3, 32, 32], Network: "3l", UpdateRule: "adam"),
        new TrainShape("train_mnist", [64, 1, 28, 28], Network: "mnist", UpdateRule: "sgd"),
    ];

    public static IEnumerable<string> Names => All.Select(s => s.Name);

    public static BenchShape ByName(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"Unknown shape '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
}
