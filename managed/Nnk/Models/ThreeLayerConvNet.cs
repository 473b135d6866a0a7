using System.Numerics;

namespace Nnk;

/// <summary>
/// The seeds' <c>ThreeLayerConvNet</c>: conv - relu - 2x2 max pool - affine - relu - affine - softmax,
/// on inputs (N, C, H, W). The convolution has stride 1 and padding (filterSize - 1) / 2, so an odd
/// filter keeps H and W and the pool halves them. Parameters: W1 (F, C, fs, fs), b1 (F),
/// W2 (F*H/2*W/2, hidden), b2 (hidden), W3 (hidden, classes), b3 (classes).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ThreeLayerConvNet<T> : IModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly PoolParam Pool = new(poolHeight: 2, poolWidth: 2, stride: 2);

    // The network is a Sequential of buffer-owning layers, so a training step allocates nothing.
    private readonly Sequential<T> _net;

    /// <summary>Creates the network with weights weightScale * N(0, 1) and zero biases.</summary>
    /// <param name="inputDim">(C, H, W) of one input; null for (3, 32, 32).</param>
    /// <param name="numFilters">F, the number of convolution filters.</param>
    /// <param name="filterSize">fs, the side of each square filter.</param>
    /// <param name="hiddenDim">Width of the hidden affine layer.</param>
    /// <param name="numClasses">Number of classes scored.</param>
    /// <param name="weightScale">Standard deviation of the initial weights, positive.</param>
    /// <param name="reg">L2 regularisation strength, at least 0.</param>
    /// <param name="seed">Seeds the weights: the same seed gives the same network.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">A size is not positive, inputDim is not (C, H, W), or the
    /// convolved image is smaller than the 2x2 pool.</exception>
    public ThreeLayerConvNet(int[]? inputDim = null, int numFilters = 32, int filterSize = 7, int hiddenDim = 100,
        int numClasses = 10, double weightScale = 1e-3, double reg = 0.0, int seed = 0, IKernels<T>? kernels = null)
    {
        inputDim ??= [3, 32, 32];
        if (inputDim.Length != 3 || inputDim.Any(d => d < 1))
            throw new ArgumentException(
                $"inputDim must be (C, H, W) with positive sizes, but it is {TensorShape.Format(inputDim)}.", nameof(inputDim));
        ArgumentOutOfRangeException.ThrowIfLessThan(numFilters, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(filterSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenDim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (!(weightScale > 0) || double.IsInfinity(weightScale))
            throw new ArgumentOutOfRangeException(nameof(weightScale), weightScale, "weightScale must be positive and finite.");

        var convParam = new ConvParam(stride: 1, pad: (filterSize - 1) / 2);
        int c = inputDim[0], h = inputDim[1], w = inputDim[2];
        int convH = h + 2 * convParam.PadH - filterSize + 1, convW = w + 2 * convParam.PadW - filterSize + 1;
        if (convH < Pool.PoolHeight || convW < Pool.PoolWidth)
            throw new ArgumentException(
                $"A {filterSize}x{filterSize} filter on inputs {TensorShape.Format(inputDim)} gives {convH}x{convW} " +
                "maps, smaller than the 2x2 pool.", nameof(filterSize));
        int pooled = numFilters * (convH / 2) * (convW / 2);

        kernels ??= Kernels.Default<T>();
        // Sequential names the weighted layers' parameters in order: W1, b1, W2, b2, W3, b3, as the seeds.
        ILayer<T>[] layers =
        [
            new Conv2dLayer<T>(c, numFilters, filterSize, convParam, weightScale, DeriveSeed(seed, 1), kernels),
            new ReluLayer<T>(kernels),
            new MaxPool2dLayer<T>(Pool, kernels),
            new AffineLayer<T>(pooled, hiddenDim, weightScale, DeriveSeed(seed, 2), kernels),
            new ReluLayer<T>(kernels),
            new AffineLayer<T>(hiddenDim, numClasses, weightScale, DeriveSeed(seed, 3), kernels),
        ];
        _net = new Sequential<T>(layers, inputDim, reg, kernels);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor<T>> Params => _net.Params;

    /// <summary>L2 regularisation strength: the loss adds 0.5 * Reg * sum(W^2) over W1, W2 and W3.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double Reg
    {
        get => _net.Reg;
        set => _net.Reg = value;
    }

    /// <inheritdoc/>
    /// <param name="x">Inputs (N, C, H, W) with (C, H, W) the network's inputDim.</param>
    /// <param name="y">N labels in [0, numClasses), or null for scores only.</param>
    /// <remarks>The gradient tensors are the network's own buffers, overwritten by the next call; a
    /// training step at a fixed batch size allocates nothing.</remarks>
    public LossResult<T> Loss(Tensor<T> x, int[]? y) => _net.Loss(x, y);

    // Distinct, reproducible seeds per weight tensor, so W1, W2 and W3 do not share a stream.
    private static int DeriveSeed(int seed, int tensor) => unchecked(seed * 7919 + tensor);
}
