using System.Numerics;
using System.Numerics.Tensors;

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

    private readonly Dictionary<string, Tensor<T>> _params;
    private readonly ConvParam _convParam;
    private readonly IKernels<T> _kernels;
    private readonly int[] _inputDim;
    private readonly int _numClasses;
    private double _reg;

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

        _inputDim = (int[])inputDim.Clone();
        _numClasses = numClasses;
        _convParam = new ConvParam(stride: 1, pad: (filterSize - 1) / 2);
        _kernels = kernels ?? Kernels.Default<T>();
        Reg = reg;

        int c = inputDim[0], h = inputDim[1], w = inputDim[2];
        int convH = h + 2 * _convParam.PadH - filterSize + 1, convW = w + 2 * _convParam.PadW - filterSize + 1;
        if (convH < Pool.PoolHeight || convW < Pool.PoolWidth)
            throw new ArgumentException(
                $"A {filterSize}x{filterSize} filter on inputs {TensorShape.Format(inputDim)} gives {convH}x{convW} " +
                "maps, smaller than the 2x2 pool.", nameof(filterSize));
        int pooled = numFilters * (convH / 2) * (convW / 2);

        // Insertion order is the seeds' order (W1, b1, W2, b2, W3, b3); Dictionary keeps it while nothing is removed.
        _params = new Dictionary<string, Tensor<T>>
        {
            ["W1"] = Scaled(Tensor<T>.RandN([numFilters, c, filterSize, filterSize], DeriveSeed(seed, 1)), weightScale),
            ["b1"] = new Tensor<T>([numFilters]),
            ["W2"] = Scaled(Tensor<T>.RandN([pooled, hiddenDim], DeriveSeed(seed, 2)), weightScale),
            ["b2"] = new Tensor<T>([hiddenDim]),
            ["W3"] = Scaled(Tensor<T>.RandN([hiddenDim, numClasses], DeriveSeed(seed, 3)), weightScale),
            ["b3"] = new Tensor<T>([numClasses]),
        };
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor<T>> Params => _params;

    /// <summary>L2 regularisation strength: the loss adds 0.5 * Reg * sum(W^2) over W1, W2 and W3.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double Reg
    {
        get => _reg;
        set => _reg = ModelArguments.Reg(value);
    }

    /// <inheritdoc/>
    /// <param name="x">Inputs (N, C, H, W) with (C, H, W) the network's inputDim.</param>
    /// <param name="y">N labels in [0, numClasses), or null for scores only.</param>
    public LossResult<T> Loss(Tensor<T> x, int[]? y)
    {
        Validate(x, y);
        var (pooled, convCache) = ConvReluPool.Forward(x, _params["W1"], _params["b1"], _convParam, Pool, _kernels);
        var (hidden, hiddenAffineCache) = Affine.Forward(pooled, _params["W2"], _params["b2"], _kernels);
        var (hiddenOut, hiddenReluCache) = Relu.Forward(hidden, _kernels);
        var (scores, scoresCache) = Affine.Forward(hiddenOut, _params["W3"], _params["b3"], _kernels);
        if (y is null)
            return new LossResult<T>(double.NaN, new Dictionary<string, Tensor<T>>(), scores);

        var (dataLoss, dscores) = Nnk.Loss.Softmax(scores, y, _kernels);
        var (dhiddenOut, dw3, db3) = Affine.Backward(dscores, scoresCache);
        Tensor<T> dhidden = Relu.Backward(dhiddenOut, hiddenReluCache);
        var (dpooled, dw2, db2) = Affine.Backward(dhidden, hiddenAffineCache);
        var (_, dw1, db1) = ConvReluPool.Backward(dpooled, convCache);

        double loss = dataLoss + L2Regularization.Apply(_reg, _params["W1"], dw1)
            + L2Regularization.Apply(_reg, _params["W2"], dw2) + L2Regularization.Apply(_reg, _params["W3"], dw3);

        var grads = new Dictionary<string, Tensor<T>>
        {
            ["W1"] = dw1, ["b1"] = db1, ["W2"] = dw2, ["b2"] = db2, ["W3"] = dw3, ["b3"] = db3,
        };
        return new LossResult<T>(loss, grads, null);
    }

    private void Validate(Tensor<T> x, int[]? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        TensorShape shape = x.Shape;
        if (shape.Rank != 4 || shape[0] < 1 || shape[1] != _inputDim[0] || shape[2] != _inputDim[1] || shape[3] != _inputDim[2])
            throw new ArgumentException(
                $"x must have shape (N, {_inputDim[0]}, {_inputDim[1]}, {_inputDim[2]}) with N >= 1, but its shape is {shape}.",
                nameof(x));
        if (y is null)
            return;
        ModelArguments.Labels(y, shape, _numClasses);
    }

    // Distinct, reproducible seeds per weight tensor, so W1, W2 and W3 do not share a stream.
    private static int DeriveSeed(int seed, int tensor) => unchecked(seed * 7919 + tensor);

    private static Tensor<T> Scaled(Tensor<T> t, double scale)
    {
        TensorPrimitives.Multiply<T>(t.Span, T.CreateChecked(scale), t.Span);
        return t;
    }
}
