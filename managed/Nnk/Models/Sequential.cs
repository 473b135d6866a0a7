using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// A model made of <see cref="ILayer{T}"/> stages run in order, ending in class scores (N, classes)
/// and a softmax loss. Every buffer (layer outputs, gradients, caches, workspaces, dscores) is
/// allocated at the first call for a batch size and reused after, so a training step at a fixed
/// batch size allocates only the small <see cref="LossResult{T}"/> record.
/// Parameters are named by kind and order: <c>W1</c>, <c>b1</c>, <c>W2</c>, ... over the weighted
/// layers and <c>gamma1</c>, <c>beta1</c>, ... over the norm layers.
/// </summary>
/// <remarks>
/// A <see cref="ReluLayer{T}"/> directly followed by a <see cref="MaxPool2dLayer{T}"/> runs as the pool
/// then the ReLU: ReLU is monotone, so max(relu(window)) = relu(max(window)) and each gradient reaches
/// the same input, bit for bit, while the ReLU touches a quarter of the elements (2x2 windows).
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Sequential<T> : IModel<T>, IHasRunningStatistics<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly IReadOnlyDictionary<string, Tensor<T>> NoGrads = new Dictionary<string, Tensor<T>>();

    private readonly ILayer<T>[] _layers;
    // The order the layers run in: theirs, but for ReLU + max pool pairs, run as pool + ReLU.
    private readonly ILayer<T>[] _runOrder;
    private readonly int[] _inputDim;
    private readonly int _numClasses;
    private readonly IKernels<T> _kernels;
    private readonly Dictionary<string, Tensor<T>> _params = new();
    private readonly Dictionary<string, Tensor<T>> _grads = new();
    private readonly (Tensor<T> Value, Tensor<T> Grad)[] _weights;
    private readonly Dictionary<int, BatchNormParam<T>> _runningStatistics = new();
    private Tensor<T>? _dscores;
    private double _reg;

    /// <summary>Creates the model.</summary>
    /// <param name="layers">The stages in order; the last must output (N, classes).</param>
    /// <param name="inputDim">The shape of one input, without N, for example (1, 28, 28).</param>
    /// <param name="reg">L2 regularisation strength on every W, at least 0.</param>
    /// <param name="kernels">Backend of the loss; null for <see cref="NnkRuntime.DefaultBackend"/>. The layers
    /// carry their own.</param>
    /// <exception cref="ArgumentException">There are no layers, a layer does not take the previous layer's
    /// output, or the last output is not (N, classes).</exception>
    public Sequential(IEnumerable<ILayer<T>> layers, int[] inputDim, double reg = 0.0, IKernels<T>? kernels = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(inputDim);
        _layers = layers.ToArray();
        if (_layers.Length == 0 || _layers.Any(l => l is null))
            throw new ArgumentException("A Sequential model needs at least one layer and no null layers.", nameof(layers));
        if (inputDim.Length == 0 || inputDim.Any(d => d < 1))
            throw new ArgumentException(
                $"inputDim must have positive sizes, but it is {TensorShape.Format(inputDim)}.", nameof(inputDim));
        _inputDim = (int[])inputDim.Clone();
        _kernels = kernels ?? Kernels.Default<T>();
        Reg = reg;

        var shape = new TensorShape([1, .. _inputDim]);
        foreach (ILayer<T> layer in _layers)
            shape = layer.OutputShape(shape);
        if (shape.Rank != 2)
            throw new ArgumentException($"The last layer must output (N, classes), but outputs {shape}.", nameof(layers));
        _numClasses = shape[1];

        var weights = new List<(Tensor<T>, Tensor<T>)>();
        int weighted = 0, norms = 0;
        foreach (ILayer<T> layer in _layers)
        {
            var parameters = layer.Parameters;
            if (parameters.Count == 0)
                continue;
            bool isNorm = parameters.Any(p => p.Name == "gamma");
            int index = isNorm ? ++norms : ++weighted;
            if (layer is BatchNormLayer<T> batchNorm)
                _runningStatistics.Add(index, batchNorm.BatchNormParam);
            else if (layer is SpatialBatchNormLayer<T> spatialBatchNorm)
                _runningStatistics.Add(index, spatialBatchNorm.BatchNormParam);
            foreach (var (name, value, grad) in parameters)
            {
                string key = name + index;
                if (!_params.TryAdd(key, value))
                    throw new ArgumentException($"Two layers give a parameter named {key}.", nameof(layers));
                _grads.Add(key, grad);
                if (name == "W")
                    weights.Add((value, grad));
            }
        }
        _weights = weights.ToArray();
        _runOrder = (ILayer<T>[])_layers.Clone();
        for (int i = 0; i + 1 < _runOrder.Length; i++)
            if (_runOrder[i] is ReluLayer<T> && _runOrder[i + 1] is MaxPool2dLayer<T>)
            {
                (_runOrder[i], _runOrder[i + 1]) = (_runOrder[i + 1], _runOrder[i]);
                i++;
            }
    }

    /// <summary>
    /// The seed's MNIST batch-norm CNN on (1, 28, 28): conv 20 3x3 - spatial batch norm - relu -
    /// avgpool 2x2/2 - conv 50 5x5 - spatial batch norm - relu - avgpool 2x2/2 - affine 128 -
    /// batch norm - relu - affine 10. Convolutions have stride 1 and no padding (28 - 26 - 13 - 9 - 4).
    /// </summary>
    /// <param name="seed">Seeds the weights: the same seed gives the same network.</param>
    /// <param name="weightScale">Standard deviation of every initial weight; null for He initialisation,
    /// sqrt(2 / fan_in) per layer, which suits the relu after each weighted layer.</param>
    /// <param name="reg">L2 regularisation strength, at least 0.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public static Sequential<T> MnistBnCnn(int seed = 0, double? weightScale = null, double reg = 0.0,
        IKernels<T>? kernels = null)
    {
        kernels ??= Kernels.Default<T>();
        double Scale(int fanIn) => weightScale ?? Math.Sqrt(2.0 / fanIn);
        int Seed(int layer) => unchecked(seed * 7919 + layer);
        var valid = new ConvParam(stride: 1, pad: 0);
        var pool = new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2);
        ILayer<T>[] layers =
        [
            new Conv2dLayer<T>(1, 20, 3, valid, Scale(1 * 3 * 3), Seed(1), kernels),
            new SpatialBatchNormLayer<T>(20, kernels),
            new ReluLayer<T>(kernels),
            new AvgPool2dLayer<T>(pool, kernels),
            new Conv2dLayer<T>(20, 50, 5, valid, Scale(20 * 5 * 5), Seed(2), kernels),
            new SpatialBatchNormLayer<T>(50, kernels),
            new ReluLayer<T>(kernels),
            new AvgPool2dLayer<T>(pool, kernels),
            new AffineLayer<T>(50 * 4 * 4, 128, Scale(50 * 4 * 4), Seed(3), kernels),
            new BatchNormLayer<T>(128, kernels),
            new ReluLayer<T>(kernels),
            new AffineLayer<T>(128, 10, Scale(128), Seed(4), kernels),
        ];
        return new Sequential<T>(layers, [1, 28, 28], reg, kernels);
    }

    /// <summary>The stages in order.</summary>
    public IReadOnlyList<ILayer<T>> Layers => _layers;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor<T>> Params => _params;

    /// <inheritdoc/>
    /// <remarks>The <see cref="BatchNormLayer{T}"/> and <see cref="SpatialBatchNormLayer{T}"/> stages, numbered
    /// with the other norm layers as their gamma and beta are.</remarks>
    public IReadOnlyDictionary<int, BatchNormParam<T>> RunningStatistics => _runningStatistics;

    /// <summary>
    /// The layers' gradient tensors by parameter name: the same dictionary and tensors every
    /// <see cref="Loss"/> returns, overwritten by each training call.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor<T>> Grads => _grads;

    /// <summary>L2 regularisation strength: the loss adds 0.5 * Reg * sum(W^2) over every W.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double Reg
    {
        get => _reg;
        set => _reg = ModelArguments.Reg(value);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// In training the returned Grads are the layers' own buffers (<see cref="Grads"/>), valid until
    /// the next call. Without labels, Scores is a fresh copy of the last layer's output.
    /// </remarks>
    public LossResult<T> Loss(Tensor<T> x, int[]? y)
    {
        Validate(x, y);
        return LossOfChecked(x, y);
    }

    /// <summary>
    /// <see cref="Loss"/> without its shape check of x, for a model that checks x itself and takes more
    /// shapes than inputDim, as <see cref="FullyConnectedNet{T}"/> takes any (N, ...) of the right size.
    /// The labels must have been checked too.
    /// </summary>
    internal LossResult<T> LossOfChecked(Tensor<T> x, int[]? y)
    {
        bool training = y is not null;
        Tensor<T> output = x;
        foreach (ILayer<T> layer in _runOrder)
            output = layer.Forward(output, training);
        if (y is null)
            return new LossResult<T>(double.NaN, NoGrads, output.Clone());

        if (_dscores is null || _dscores.Shape != output.Shape)
            _dscores = new Tensor<T>(output.Shape);
        int n = x.Shape[0];
        double loss = double.CreateChecked(_kernels.SoftmaxLoss(n, _numClasses, output.Span, y, _dscores.Span));

        // The first layer's input is data: nobody needs its gradient, so that layer skips it.
        Tensor<T> dout = _dscores;
        for (int i = _runOrder.Length - 1; i > 0; i--)
            dout = _runOrder[i].Backward(dout)!;
        _runOrder[0].Backward(dout, inputGradient: false);

        foreach (var (weights, grad) in _weights)
            loss += L2Regularization.Apply(_reg, weights, grad);
        return new LossResult<T>(loss, _grads, null);
    }

    private void Validate(Tensor<T> x, int[]? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        TensorShape shape = x.Shape;
        bool ok = shape.Rank == _inputDim.Length + 1 && shape[0] >= 1;
        for (int i = 0; ok && i < _inputDim.Length; i++)
            ok = shape[i + 1] == _inputDim[i];
        if (!ok)
            throw new ArgumentException(
                $"x must have shape (N, {string.Join(", ", _inputDim)}) with N >= 1, but its shape is {shape}.", nameof(x));
        if (y is null)
            return;
        ModelArguments.Labels(y, shape, _numClasses);
    }
}
