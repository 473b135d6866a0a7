using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// Convolution layer for <see cref="Sequential{T}"/>: y (N, F, OutH, OutW) = conv(x (N, C, H, W), W) + b,
/// with W (F, C, kernel, kernel) drawn as weightScale * N(0, 1) and b zero. Owns y, dx, dW, db and
/// the convolution workspace.
/// </summary>
public sealed class Conv2dLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvParam _convParam;
    private readonly IKernels<T> _kernels;
    private readonly Tensor<T> _w, _b, _dw, _db;
    private TensorShape _inputShape;
    private ConvGeometry _geometry;
    private Tensor<T>? _x, _output, _dx;
    private Memory<T> _workspace;
    private int _forwardWorkspace, _backwardWorkspace;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">C, channels of each input.</param>
    /// <param name="filters">F, the number of filters.</param>
    /// <param name="kernel">Side of each square filter.</param>
    /// <param name="convParam">Stride and padding.</param>
    /// <param name="weightScale">Standard deviation of the initial weights, positive.</param>
    /// <param name="seed">Seeds the weights.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public Conv2dLayer(int inChannels, int filters, int kernel, ConvParam convParam, double weightScale, int seed,
        IKernels<T>? kernels = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(filters, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernel, 1);
        ArgumentNullException.ThrowIfNull(convParam);
        LayerChecks.WeightScale(weightScale);
        _convParam = convParam;
        _kernels = kernels ?? Kernels.Default<T>();
        _w = LayerChecks.Scaled(Tensor<T>.RandN([filters, inChannels, kernel, kernel], seed), weightScale);
        _b = new Tensor<T>([filters]);
        _dw = new Tensor<T>(_w.Shape);
        _db = new Tensor<T>(_b.Shape);
        Parameters = [("W", _w, _dw), ("b", _b, _db)];
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; }

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input)
    {
        ConvGeometry g = ConvGeometry.Create(input, _w.Shape, _convParam);
        return new TensorShape([g.N, g.F, g.OutH, g.OutW]);
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_output is null || x.Shape != _inputShape)
        {
            _geometry = ConvGeometry.Create(x.Shape, _w.Shape, _convParam);
            _output = new Tensor<T>([_geometry.N, _geometry.F, _geometry.OutH, _geometry.OutW]);
            _dx = new Tensor<T>(x.Shape);
            _forwardWorkspace = _kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Forward);
            _backwardWorkspace = _kernels.Conv2dWorkspaceLength(_geometry, ConvPass.Backward);
            _workspace = AlignedMemory.Allocate<T>(Math.Max(_forwardWorkspace, _backwardWorkspace));
            _inputShape = x.Shape;
        }
        _x = x;
        _kernels.Conv2dForward(_geometry, x.Span, _w.Span, _b.Span, _output.Span, _workspace.Span[.._forwardWorkspace]);
        return _output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        LayerChecks.Dout(dout, _output);
        // An empty dx tells the kernel to skip the W^T * dy products and col2im.
        Span<T> dx = inputGradient ? _dx!.Span : default;
        _kernels.Conv2dBackward(_geometry, _x!.Span, _w.Span, dout.Span, dx, _dw.Span, _db.Span,
            _workspace.Span[.._backwardWorkspace]);
        return inputGradient ? _dx : null;
    }
}

/// <summary>
/// Fully connected layer for <see cref="Sequential{T}"/>: each input (d1, ..., dk) is read as a row
/// of D = d1*...*dk values and y (N, M) = x W + b, with W (D, M) drawn as weightScale * N(0, 1)
/// and b zero. The kernels take flat spans, so the flattening needs no reshaped view at all; dx is
/// owned by the layer in the input's own shape.
/// </summary>
public sealed class AffineLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IKernels<T> _kernels;
    private readonly Tensor<T> _w, _b, _dw, _db;
    private TensorShape _inputShape;
    private Tensor<T>? _x, _output, _dx;

    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">D, values per input after flattening.</param>
    /// <param name="outFeatures">M, values per output.</param>
    /// <param name="weightScale">Standard deviation of the initial weights, positive.</param>
    /// <param name="seed">Seeds the weights.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public AffineLayer(int inFeatures, int outFeatures, double weightScale, int seed, IKernels<T>? kernels = null)
        : this(InitialWeights(inFeatures, outFeatures, weightScale, seed), new Tensor<T>([outFeatures]), kernels)
    {
    }

    /// <summary>A layer over the given W (D, M) and b (M), which it takes as its own: for models whose
    /// weights come from their own generator, as <see cref="FullyConnectedNet{T}"/>'s.</summary>
    internal AffineLayer(Tensor<T> w, Tensor<T> b, IKernels<T>? kernels)
    {
        _kernels = kernels ?? Kernels.Default<T>();
        _w = w;
        _b = b;
        _dw = new Tensor<T>(_w.Shape);
        _db = new Tensor<T>(_b.Shape);
        Parameters = [("W", _w, _dw), ("b", _b, _db)];
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; }

    private static Tensor<T> InitialWeights(int inFeatures, int outFeatures, double weightScale, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        LayerChecks.WeightScale(weightScale);
        return LayerChecks.Scaled(Tensor<T>.RandN([inFeatures, outFeatures], seed), weightScale);
    }

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input)
    {
        int d = _w.Shape[0];
        if (input.Rank < 2 || input[0] < 1 || input.ElementCount / input[0] != d)
            throw new ArgumentException(
                $"x must have shape (N, d1, ..., dk) with d1*...*dk = {d}, but its shape is {input}.", "x");
        return new TensorShape([input[0], _w.Shape[1]]);
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_output is null || x.Shape != _inputShape)
        {
            _output = new Tensor<T>(OutputShape(x.Shape));
            _dx = new Tensor<T>(x.Shape);
            _inputShape = x.Shape;
        }
        _x = x;
        int n = x.Shape[0], d = _w.Shape[0], m = _w.Shape[1];
        _kernels.Gemm(false, false, n, m, d, T.One, x.Span, _w.Span, T.Zero, _output.Span);
        for (int i = 0; i < n; i++)
        {
            Span<T> row = _output.Span.Slice(i * m, m);
            TensorPrimitives.Add(row, _b.Span, row);
        }
        return _output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        LayerChecks.Dout(dout, _output);
        int n = _inputShape[0], d = _w.Shape[0], m = _w.Shape[1];
        if (inputGradient)
            _kernels.Gemm(false, true, n, d, m, T.One, dout.Span, _w.Span, T.Zero, _dx!.Span);
        _kernels.Gemm(true, false, d, m, n, T.One, _x!.Span, dout.Span, T.Zero, _dw.Span);
        _db.Span.Clear();
        for (int i = 0; i < n; i++)
            TensorPrimitives.Add(_db.Span, dout.Span.Slice(i * m, m), _db.Span);
        return inputGradient ? _dx : null;
    }
}

/// <summary>ReLU layer for <see cref="Sequential{T}"/>: y = max(x, 0). Owns y and dx.</summary>
public sealed class ReluLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IKernels<T> _kernels;
    private Tensor<T>? _x, _output, _dx;

    /// <summary>Creates the layer.</summary>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public ReluLayer(IKernels<T>? kernels = null) => _kernels = kernels ?? Kernels.Default<T>();

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; } = [];

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input) => input;

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_output is null || x.Shape != _output.Shape)
        {
            _output = new Tensor<T>(x.Shape);
            _dx = new Tensor<T>(x.Shape);
        }
        _x = x;
        _kernels.ReluForward(x.Span, _output.Span);
        return _output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        LayerChecks.Dout(dout, _output);
        if (!inputGradient)
            return null;
        _kernels.ReluBackward(_x!.Span, dout.Span, _dx!.Span);
        return _dx;
    }
}

/// <summary>
/// Inverted dropout layer for <see cref="Sequential{T}"/>, as <see cref="Dropout"/>: in training each
/// unit is kept with probability keepRatio and scaled by 1/keepRatio; in test mode y is a copy of x.
/// Owns y, dx and the mask. Elementwise and cheap, so it runs in managed code on every backend.
/// </summary>
public sealed class DropoutLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double _keepRatio;
    private readonly int? _seed;
    private readonly Random? _random;
    private Tensor<T>? _output, _dx, _mask;
    // Seeded: whether _mask holds the mask of the current shape.
    private bool _maskDrawn;
    private bool _lastWasTraining;

    /// <summary>Creates the layer.</summary>
    /// <param name="keepRatio">Probability of keeping each unit, in (0, 1].</param>
    /// <param name="seed">
    /// With a seed, every training-mode pass uses the mask that a generator seeded with it draws for
    /// the input's shape: the same mask at every call, as <see cref="DropoutParam.Seed"/> gives, which
    /// is what a numeric gradient check needs. Null for a fresh mask at every call.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">keepRatio is outside (0, 1].</exception>
    public DropoutLayer(double keepRatio, int? seed = null)
    {
        if (!(keepRatio > 0 && keepRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(keepRatio), keepRatio, "The keep ratio must lie in (0, 1].");
        _keepRatio = keepRatio;
        _seed = seed;
        _random = seed is null ? new Random() : null;
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; } = [];

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input) => input;

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_output is null || x.Shape != _output.Shape)
        {
            _output = new Tensor<T>(x.Shape);
            _dx = new Tensor<T>(x.Shape);
            _mask = new Tensor<T>(x.Shape);
            _maskDrawn = false;
        }
        _lastWasTraining = training;
        if (!training)
        {
            x.Span.CopyTo(_output.Span);
            return _output;
        }
        // A seeded generator restarts at every call, so its mask depends on the shape alone: drawn
        // once per shape, it is the same mask at no cost and without allocating a generator per step.
        Span<T> mask = _mask!.Span;
        if (_seed is int seed)
        {
            if (!_maskDrawn)
                Dropout.FillMask(mask, _keepRatio, new Random(seed));
            _maskDrawn = true;
        }
        else
        {
            Dropout.FillMask(mask, _keepRatio, _random!);
        }
        TensorPrimitives.Multiply(x.Span, mask, _output.Span);
        return _output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        LayerChecks.Dout(dout, _output);
        if (!inputGradient)
            return null;
        if (_lastWasTraining)
            TensorPrimitives.Multiply(dout.Span, _mask!.Span, _dx!.Span);
        else
            dout.Span.CopyTo(_dx!.Span);
        return _dx;
    }
}

/// <summary>Average pooling layer for <see cref="Sequential{T}"/> on (N, C, H, W). Owns y and dx.</summary>
public sealed class AvgPool2dLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PoolBuffers<T> _pool;

    /// <summary>Creates the layer.</summary>
    /// <param name="poolParam">Window, stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public AvgPool2dLayer(PoolParam poolParam, IKernels<T>? kernels = null) => _pool = new PoolBuffers<T>(poolParam, kernels);

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; } = [];

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input) => _pool.OutputShape(input);

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        _pool.Prepare(x);
        _pool.Kernels.AvgPool2dForward(_pool.Geometry, x.Span, _pool.Output!.Span);
        return _pool.Output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        Tensor<T> dx = _pool.Dx(dout);
        if (!inputGradient)
            return null;
        _pool.Kernels.AvgPool2dBackward(_pool.Geometry, dout.Span, dx.Span);
        return dx;
    }
}

/// <summary>Max pooling layer for <see cref="Sequential{T}"/> on (N, C, H, W). Owns y, dx and the argmax cache.</summary>
public sealed class MaxPool2dLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PoolBuffers<T> _pool;
    private int[] _argmax = [];

    /// <summary>Creates the layer.</summary>
    /// <param name="poolParam">Window, stride and padding.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public MaxPool2dLayer(PoolParam poolParam, IKernels<T>? kernels = null) => _pool = new PoolBuffers<T>(poolParam, kernels);

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; } = [];

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input) => _pool.OutputShape(input);

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        if (_pool.Prepare(x))
            _argmax = new int[_pool.Output!.Length];
        _pool.Kernels.MaxPool2dForward(_pool.Geometry, x.Span, _pool.Output!.Span, _argmax);
        return _pool.Output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        Tensor<T> dx = _pool.Dx(dout);
        if (!inputGradient)
            return null;
        _pool.Kernels.MaxPool2dBackward(_pool.Geometry, dout.Span, _argmax, dx.Span);
        return dx;
    }
}

/// <summary>What both pooling layers own: the geometry of the current input shape, y and dx.</summary>
internal sealed class PoolBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly PoolParam _poolParam;
    private TensorShape _inputShape;
    private Tensor<T>? _dx;

    public PoolBuffers(PoolParam poolParam, IKernels<T>? kernels)
    {
        ArgumentNullException.ThrowIfNull(poolParam);
        _poolParam = poolParam;
        Kernels = kernels ?? Nnk.Kernels.Default<T>();
    }

    public IKernels<T> Kernels { get; }

    public PoolGeometry Geometry { get; private set; }

    public Tensor<T>? Output { get; private set; }

    public TensorShape OutputShape(TensorShape input)
    {
        PoolGeometry g = PoolGeometry.Create(input, _poolParam);
        return new TensorShape([g.N, g.C, g.OutH, g.OutW]);
    }

    /// <summary>Sizes the buffers for x's shape; true when they were (re)allocated.</summary>
    public bool Prepare(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Output is not null && x.Shape == _inputShape)
            return false;
        Geometry = PoolGeometry.Create(x.Shape, _poolParam);
        Output = new Tensor<T>([Geometry.N, Geometry.C, Geometry.OutH, Geometry.OutW]);
        _dx = new Tensor<T>(x.Shape);
        _inputShape = x.Shape;
        return true;
    }

    /// <summary>The dx buffer for a backward pass of dout; the pooling kernels overwrite it whole.</summary>
    public Tensor<T> Dx(Tensor<T> dout)
    {
        LayerChecks.Dout(dout, Output);
        return _dx!;
    }
}

/// <summary>
/// Spatial batch norm layer for <see cref="Sequential{T}"/>: statistics per channel over (N, H, W)
/// of x (N, C, H, W). gamma starts at one, beta at zero; <see cref="BatchNormParam"/> holds eps
/// (1e-5), momentum (0.9) and the running statistics (zero at first, as the seeds').
/// </summary>
public sealed class SpatialBatchNormLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BatchNormBuffers<T> _norm;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">C, channels of each input.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public SpatialBatchNormLayer(int channels, IKernels<T>? kernels = null) => _norm = new BatchNormBuffers<T>(channels, null, kernels);

    /// <summary>Eps, momentum and the running statistics (C each); <see cref="Forward"/> sets Mode.</summary>
    public BatchNormParam<T> BatchNormParam => _norm.Param;

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters => _norm.Parameters;

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input)
    {
        if (input.Rank != 4 || input[0] < 1 || input[1] != _norm.Channels || input[2] < 1 || input[3] < 1)
            throw new ArgumentException(
                $"x must have shape (N, {_norm.Channels}, H, W), but its shape is {input}.", "x");
        return input;
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        OutputShape(x.Shape);
        return _norm.Forward(x, x.Shape[0], x.Shape[2] * x.Shape[3], training);
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true) => _norm.Backward(dout, inputGradient);
}

/// <summary>
/// Batch norm layer for <see cref="Sequential{T}"/>: statistics per feature over the N rows of
/// x (N, D). gamma starts at one, beta at zero; <see cref="BatchNormParam"/> holds eps (1e-5),
/// momentum (0.9) and the running statistics (zero at first, as the seeds').
/// </summary>
public sealed class BatchNormLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BatchNormBuffers<T> _norm;

    /// <summary>Creates the layer.</summary>
    /// <param name="features">D, values per input.</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    public BatchNormLayer(int features, IKernels<T>? kernels = null) => _norm = new BatchNormBuffers<T>(features, null, kernels);

    /// <summary>A layer normalising with the given parameter object, whose running statistics may be
    /// null until the first training-mode call: for <see cref="FullyConnectedNet{T}"/>, which owns it.</summary>
    internal BatchNormLayer(int features, BatchNormParam<T> param, IKernels<T>? kernels) =>
        _norm = new BatchNormBuffers<T>(features, param, kernels);

    /// <summary>Eps, momentum and the running statistics (D each); <see cref="Forward"/> sets Mode.</summary>
    public BatchNormParam<T> BatchNormParam => _norm.Param;

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters => _norm.Parameters;

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input)
    {
        if (input.Rank != 2 || input[0] < 1 || input[1] != _norm.Channels)
            throw new ArgumentException($"x must have shape (N, {_norm.Channels}), but its shape is {input}.", "x");
        return input;
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        OutputShape(x.Shape);
        return _norm.Forward(x, x.Shape[0], 1, training);
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true) => _norm.Backward(dout, inputGradient);
}

/// <summary>
/// Layer norm layer for <see cref="Sequential{T}"/>, as <see cref="LayerNorm"/>: statistics per sample
/// over the D features of x (N, D), gamma (starting at one) and beta (at zero) per feature, the same
/// in training and test. Owns y, dx, dgamma, dbeta and the per-sample mean and inverse deviation.
/// </summary>
public sealed class LayerNormLayer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IKernels<T> _kernels;
    private readonly double _eps;
    private readonly Tensor<T> _gamma, _beta, _dgamma, _dbeta;
    private NormGeometry _geometry;
    private Tensor<T>? _x, _output, _dx;
    private T[] _mean = [], _invStd = [];

    /// <summary>Creates the layer.</summary>
    /// <param name="features">D, values per input.</param>
    /// <param name="eps">Added to the variance; positive, 1e-5 by default (the seeds').</param>
    /// <param name="kernels">Backend to run on; null for <see cref="NnkRuntime.DefaultBackend"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">features is below 1 or eps is not positive and finite.</exception>
    public LayerNormLayer(int features, double eps = 1e-5, IKernels<T>? kernels = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        _eps = NormChecks.Eps(eps);
        _kernels = kernels ?? Kernels.Default<T>();
        _gamma = Tensor<T>.Ones([features]);
        _beta = new Tensor<T>([features]);
        _dgamma = new Tensor<T>([features]);
        _dbeta = new Tensor<T>([features]);
        Parameters = [("gamma", _gamma, _dgamma), ("beta", _beta, _dbeta)];
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; }

    /// <inheritdoc/>
    public TensorShape OutputShape(TensorShape input)
    {
        if (input.Rank != 2 || input[0] < 1 || input[1] != _gamma.Length)
            throw new ArgumentException($"x must have shape (N, {_gamma.Length}), but its shape is {input}.", "x");
        return input;
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        OutputShape(x.Shape);
        if (_output is null || x.Shape != _output.Shape)
        {
            // Layer norm is group norm of (N, D, 1) with one group: one mean and deviation per sample.
            _geometry = NormGeometry.Create(x.Shape[0], _gamma.Length, 1);
            _output = new Tensor<T>(x.Shape);
            _dx = new Tensor<T>(x.Shape);
            _mean = new T[_geometry.N];
            _invStd = new T[_geometry.N];
        }
        _x = x;
        _kernels.GroupNormForward(_geometry, _eps, x.Span, _gamma.Span, _beta.Span, _output.Span, _mean, _invStd);
        return _output;
    }

    /// <inheritdoc/>
    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true)
    {
        LayerChecks.Dout(dout, _output);
        _kernels.GroupNormBackward(_geometry, _x!.Span, _gamma.Span, _mean, _invStd, dout.Span,
            inputGradient ? _dx!.Span : default, _dgamma.Span, _dbeta.Span);
        return inputGradient ? _dx : null;
    }
}

// The buffers and kernel calls both batch norm layers share: they differ only in what Spatial is.
internal sealed class BatchNormBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IKernels<T> _kernels;
    private readonly Tensor<T> _gamma, _beta, _dgamma, _dbeta, _saveMean, _saveInvStd;
    private NormGeometry _geometry;
    private Tensor<T>? _x, _output, _dx;
    private bool _lastWasTraining;

    // A null param gets the layers' own: eps 1e-5, momentum 0.9, zero running statistics.
    public BatchNormBuffers(int channels, BatchNormParam<T>? param, IKernels<T>? kernels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        Channels = channels;
        _kernels = kernels ?? Kernels.Default<T>();
        _gamma = Tensor<T>.Ones([channels]);
        _beta = new Tensor<T>([channels]);
        _dgamma = new Tensor<T>([channels]);
        _dbeta = new Tensor<T>([channels]);
        _saveMean = new Tensor<T>([channels]);
        _saveInvStd = new Tensor<T>([channels]);
        Param = param ?? new BatchNormParam<T>
        {
            Eps = 1e-5, Momentum = 0.9, RunningMean = new Tensor<T>([channels]), RunningVar = new Tensor<T>([channels]),
        };
        Parameters = [("gamma", _gamma, _dgamma), ("beta", _beta, _dbeta)];
    }

    public int Channels { get; }

    public BatchNormParam<T> Param { get; }

    public IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; }

    public Tensor<T> Forward(Tensor<T> x, int n, int spatial, bool training)
    {
        if (_output is null || x.Shape != _output.Shape)
        {
            _geometry = NormGeometry.Create(n, Channels, spatial);
            _output = new Tensor<T>(x.Shape);
            _dx = new Tensor<T>(x.Shape);
        }
        // As the seeds' bn_param: running statistics start as zeros at the first training-mode call.
        if (training)
        {
            Param.RunningMean ??= new Tensor<T>([Channels]);
            Param.RunningVar ??= new Tensor<T>([Channels]);
        }
        else if (Param.RunningMean is null || Param.RunningVar is null)
        {
            throw new InvalidOperationException(
                "Test-mode batch norm needs running statistics: run training-mode calls first or set RunningMean and RunningVar.");
        }
        Tensor<T> runningMean = Param.RunningMean, runningVar = Param.RunningVar;
        if (runningMean.Length != Channels || runningVar.Length != Channels)
            throw new InvalidOperationException(
                $"The running statistics must have {Channels} values each, but have {runningMean.Length} and {runningVar.Length}.");
        Param.Mode = training ? NormMode.Train : NormMode.Test;
        _x = x;
        _lastWasTraining = training;
        _kernels.BatchNormForward(_geometry, Param.Mode, Param.Eps, Param.Momentum, x.Span, _gamma.Span, _beta.Span,
            runningMean.Span, runningVar.Span, _output.Span, _saveMean.Span, _saveInvStd.Span);
        return _output;
    }

    public Tensor<T>? Backward(Tensor<T> dout, bool inputGradient)
    {
        LayerChecks.Dout(dout, _output);
        if (!_lastWasTraining)
            throw new InvalidOperationException("Batch norm backward needs a training-mode forward pass before it.");
        _kernels.BatchNormBackward(_geometry, _x!.Span, _gamma.Span, _saveMean.Span, _saveInvStd.Span, dout.Span,
            inputGradient ? _dx!.Span : default, _dgamma.Span, _dbeta.Span);
        return inputGradient ? _dx : null;
    }
}

internal static class LayerChecks
{
    public static void WeightScale(double weightScale)
    {
        if (!(weightScale > 0) || double.IsInfinity(weightScale))
            throw new ArgumentOutOfRangeException(nameof(weightScale), weightScale, "weightScale must be positive and finite.");
    }

    public static Tensor<T> Scaled<T>(Tensor<T> t, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply<T>(t.Span, T.CreateChecked(scale), t.Span);
        return t;
    }

    public static void Dout<T>(Tensor<T> dout, Tensor<T>? output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        if (output is null)
            throw new InvalidOperationException("Backward needs a forward pass before it.");
        if (dout.Shape != output.Shape)
            throw new ArgumentException(
                $"dout must have the last output's shape {output.Shape}, but its shape is {dout.Shape}.", nameof(dout));
    }
}
