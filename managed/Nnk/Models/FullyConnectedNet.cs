using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// The seeds' <c>FullyConnectedNet</c>: {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) -
/// affine - softmax, with L2 regularisation of the weights. Parameters: <c>W1..WL</c> (in, out),
/// <c>b1..bL</c>, and for normalised hidden layers <c>gamma1..gamma(L-1)</c>, <c>beta1..beta(L-1)</c>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class FullyConnectedNet<T> : IModel<T>, IHasRunningStatistics<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Layer norm has no parameter object in the seeds; their default eps.
    private const double LayerNormEps = 1e-5;

    private readonly BatchNormParam<T>[] _bnParams;
    private readonly int _inputDim;
    private readonly int _numClasses;
    // The network is a Sequential of buffer-owning layers, so a training step allocates nothing.
    private readonly Sequential<T> _net;

    /// <summary>
    /// Builds the network with weights weightScale * N(0, 1), zero biases, gamma ones and beta zeros.
    /// </summary>
    /// <param name="hiddenDims">Size of each hidden layer, at least one, all positive.</param>
    /// <param name="inputDim">Features per input, D = d1*...*dk (3*32*32 for CIFAR-10).</param>
    /// <param name="numClasses">Number of classes C.</param>
    /// <param name="dropoutKeepRatio">Probability of keeping a hidden unit, in (0, 1]; 1 means no dropout.</param>
    /// <param name="normalization">Normalisation after each hidden affine layer.</param>
    /// <param name="reg">L2 regularisation strength, non-negative.</param>
    /// <param name="weightScale">Standard deviation of the initial weights.</param>
    /// <param name="seed">
    /// Seeds the initial weights and the dropout masks, so runs are reproducible; null for fresh
    /// randomness. With a seed the dropout generator is re-seeded from it at every
    /// <see cref="Loss"/> call, so every training call draws the same masks (what a numeric
    /// gradient check needs, as the seeds' <c>dropout_param['seed']</c>); each layer gets its own mask.
    /// </param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentException">hiddenDims is empty or holds a size below 1.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A scalar argument is outside its range.</exception>
    public FullyConnectedNet(int[] hiddenDims, int inputDim = 3 * 32 * 32, int numClasses = 10,
        double dropoutKeepRatio = 1.0, NormalizationKind normalization = NormalizationKind.None, double reg = 0.0,
        double weightScale = 1e-2, int? seed = null, IKernels<T>? kernels = null)
    {
        ArgumentNullException.ThrowIfNull(hiddenDims);
        if (hiddenDims.Length == 0)
            throw new ArgumentException("hiddenDims must name at least one hidden layer, but it is empty.", nameof(hiddenDims));
        for (int i = 0; i < hiddenDims.Length; i++)
        {
            if (hiddenDims[i] < 1)
                throw new ArgumentException(
                    $"hiddenDims[{i}] = {hiddenDims[i]}; every hidden layer needs at least one unit.", nameof(hiddenDims));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(inputDim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (!(dropoutKeepRatio > 0 && dropoutKeepRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutKeepRatio), dropoutKeepRatio,
                "The dropout keep ratio must lie in (0, 1].");
        if (!Enum.IsDefined(normalization))
            throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "Unknown normalization.");
        if (!double.IsFinite(weightScale))
            throw new ArgumentOutOfRangeException(nameof(weightScale), weightScale, "weightScale must be finite.");

        ModelArguments.Reg(reg);
        _inputDim = inputDim;
        _numClasses = numClasses;
        kernels ??= Kernels.Default<T>();
        DropoutKeepRatio = dropoutKeepRatio;
        Normalization = normalization;
        NumLayers = hiddenDims.Length + 1;
        _bnParams = normalization == NormalizationKind.BatchNorm
            ? Enumerable.Range(0, hiddenDims.Length).Select(_ => new BatchNormParam<T>()).ToArray()
            : [];
        RunningStatistics = _bnParams.Index().ToDictionary(p => p.Index + 1, p => p.Item).AsReadOnly();

        // With a seed, hidden layer k's mask seed is the k-th value of a generator seeded with the net's
        // seed at every call (the seeds' per-layer dropout_param['seed']): one fixed seed per layer.
        var dropoutSeeds = seed is int netSeed && dropoutKeepRatio < 1.0 ? new Random(netSeed) : null;
        var random = new NormalRandom(seed ?? Random.Shared.Next());
        int[] dims = [inputDim, .. hiddenDims, numClasses];
        var layers = new List<ILayer<T>>();
        for (int layer = 1; layer <= NumLayers; layer++)
        {
            var w = new Tensor<T>([dims[layer - 1], dims[layer]]);
            random.Fill(w.Span);
            TensorPrimitives.Multiply(w.Span, T.CreateChecked(weightScale), w.Span);
            // Sequential names the affine layers' parameters W1, b1, ... and the norm layers' gamma1,
            // beta1, ... in order, which are the seeds' names: norm layer k follows affine layer k.
            layers.Add(new AffineLayer<T>(w, Tensor<T>.Zeros([dims[layer]]), kernels));
            if (layer == NumLayers)
                break;
            if (normalization == NormalizationKind.BatchNorm)
                layers.Add(new BatchNormLayer<T>(dims[layer], _bnParams[layer - 1], kernels));
            else if (normalization == NormalizationKind.LayerNorm)
                layers.Add(new LayerNormLayer<T>(dims[layer], LayerNormEps, kernels));
            layers.Add(new ReluLayer<T>(kernels));
            if (dropoutKeepRatio < 1.0)
                layers.Add(new DropoutLayer<T>(dropoutKeepRatio, dropoutSeeds?.Next()));
        }
        _net = new Sequential<T>(layers, [inputDim], reg, kernels);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor<T>> Params => _net.Params;

    /// <summary>
    /// One batch-norm parameter object per hidden layer (empty without batch norm), holding the
    /// running statistics; <see cref="Loss"/> sets each one's mode.
    /// </summary>
    public IReadOnlyList<BatchNormParam<T>> BatchNormParams => _bnParams;

    /// <inheritdoc/>
    /// <remarks>Key k is hidden layer k, the same object as <c>BatchNormParams[k - 1]</c>.</remarks>
    public IReadOnlyDictionary<int, BatchNormParam<T>> RunningStatistics { get; }

    /// <summary>Number of affine layers L (hidden layers + 1).</summary>
    public int NumLayers { get; }

    /// <summary>The normalisation after each hidden affine layer.</summary>
    public NormalizationKind Normalization { get; }

    /// <summary>Probability of keeping a hidden unit in training; 1 means no dropout.</summary>
    public double DropoutKeepRatio { get; }

    /// <summary>L2 regularisation strength: the loss adds 0.5 * Reg * sum of W^2 over all weights.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double Reg
    {
        get => _net.Reg;
        set => _net.Reg = value;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Test mode (y null) uses the batch-norm running statistics, which the first training call
    /// creates, and turns dropout off; Scores is a fresh tensor. Training mode updates the running
    /// statistics; the returned Grads are the network's own buffers, overwritten by the next call, so
    /// a training step at a fixed batch size allocates nothing.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Test mode with batch norm before any training call.</exception>
    public LossResult<T> Loss(Tensor<T> x, int[]? y)
    {
        Validate(x, y);
        return _net.LossOfChecked(x, y);
    }

    // Labels are checked before the forward pass so a bad call leaves the running statistics alone.
    private void Validate(Tensor<T> x, int[]? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        int features = 1;
        for (int i = 1; i < x.Shape.Rank; i++)
            features *= x.Shape[i];
        if (x.Shape.Rank < 2 || x.Shape[0] < 1 || features != _inputDim)
            throw new ArgumentException(
                $"x must have shape (N, ...) with N >= 1 and {_inputDim} features per input, but its shape is {x.Shape}.",
                nameof(x));
        if (y is null)
            return;
        ModelArguments.Labels(y, x.Shape, _numClasses);
    }
}
