using System.Globalization;
using System.Numerics;

namespace Nnk;

/// <summary>
/// Trains an <see cref="IModel{T}"/> by minibatch gradient descent, as the seeds' <c>Solver</c>:
/// each iteration samples <see cref="SolverOptions.BatchSize"/> training inputs with replacement,
/// asks the model for the loss and gradients, and updates every parameter with its own update rule.
/// After the first iteration, at the end of every epoch and after the last iteration it measures
/// training and validation accuracy and keeps a copy of the parameters with the best validation
/// accuracy, which it puts back into the model when training ends. The minibatch tensor and label
/// array given to the model are the solver's own and are refilled every iteration. Not thread-safe.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Solver<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IModel<T> _model;
    private readonly SolverData<T> _data;
    private readonly double _lrDecay;
    private readonly int _numEpochs;
    private readonly int? _numTrainSamples;
    private readonly int? _numValSamples;
    private readonly int _printEvery;
    private readonly bool _verbose;
    private readonly TextWriter _log;
    private readonly IProgress<SolverProgress>? _progress;
    private readonly Dictionary<string, IUpdateRule<T>> _updateRules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor<T>> _bestParams = new(StringComparer.Ordinal);
    private readonly List<double> _lossHistory = [];
    private readonly List<double> _trainAccHistory = [];
    private readonly List<double> _valAccHistory = [];
    private readonly Xoshiro256StarStar _random;
    private readonly int _iterationsPerEpoch;

    // One minibatch, allocated here and refilled every iteration.
    private readonly Tensor<T> _xBatch;
    private readonly int[] _yBatch;
    private readonly int[] _batchRows;

    private bool _trainCalled;

    /// <summary>Prepares to train <paramref name="model"/> on <paramref name="data"/>; nothing runs until <see cref="Train"/>.</summary>
    /// <param name="model">The model; its parameter tensors are updated in place.</param>
    /// <param name="data">Training and validation sets.</param>
    /// <param name="options">Hyperparameters, read once here; null for the defaults of <see cref="SolverOptions"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentException">The model has no parameters.</exception>
    public Solver(IModel<T> model, SolverData<T> data, SolverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new SolverOptions();
        if (model.Params.Count == 0)
            throw new ArgumentException("The model has no parameters to train.", nameof(model));

        _model = model;
        _data = data;
        _lrDecay = options.LrDecay;
        _numEpochs = options.NumEpochs;
        _numTrainSamples = options.NumTrainSamples;
        _numValSamples = options.NumValSamples;
        _printEvery = options.PrintEvery;
        _verbose = options.Verbose;
        _log = options.Log;
        _progress = options.Progress;
        _random = new Xoshiro256StarStar(unchecked((ulong)options.Seed));

        // UpdateRules.Create clones the configuration, so every parameter decays its own learning rate.
        foreach (string name in model.Params.Keys)
            _updateRules[name] = UpdateRules.Create<T>(options.UpdateRule, options.OptimConfig);

        int numTrain = data.XTrain.Shape[0];
        _iterationsPerEpoch = Math.Max(numTrain / options.BatchSize, 1);
        NumIterations = checked(_numEpochs * _iterationsPerEpoch);

        int[] batchShape = data.XTrain.Shape.AsSpan().ToArray();
        batchShape[0] = options.BatchSize;
        _xBatch = new Tensor<T>(batchShape);
        _yBatch = new int[options.BatchSize];
        _batchRows = new int[options.BatchSize];

        LossHistory = _lossHistory.AsReadOnly();
        TrainAccHistory = _trainAccHistory.AsReadOnly();
        ValAccHistory = _valAccHistory.AsReadOnly();
        BestParams = _bestParams.AsReadOnly();
    }

    /// <summary>The minibatch loss of every iteration run so far, in order.</summary>
    public IReadOnlyList<double> LossHistory { get; }

    /// <summary>Training accuracy in [0, 1] at every check: after the first iteration, at each epoch end
    /// and after the last iteration (the last usually being an epoch end, checked once).</summary>
    public IReadOnlyList<double> TrainAccHistory { get; }

    /// <summary>Validation accuracy in [0, 1] at the same checks as <see cref="TrainAccHistory"/>.</summary>
    public IReadOnlyList<double> ValAccHistory { get; }

    /// <summary>The highest validation accuracy seen so far; 0 before the first check.</summary>
    public double BestValAcc { get; private set; }

    /// <summary>
    /// Copies of the model's parameters, by name, taken at the check with the best validation accuracy
    /// (the first of equal ones); empty before the first check. The solver owns these tensors.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor<T>> BestParams { get; }

    /// <summary>Epochs completed so far.</summary>
    public int Epoch { get; private set; }

    /// <summary>Iterations of the whole run: epochs times max(N_train / batch size, 1).</summary>
    public int NumIterations { get; }

    /// <summary>
    /// Runs every iteration, then puts the parameters with the best validation accuracy back into the
    /// model. Can be called once per solver.
    /// </summary>
    /// <param name="cancellationToken">Checked before every iteration; on cancellation the model keeps its current parameters.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Train was already called; or the loss became NaN or infinite,
    /// in which case training stops and the model gets the best parameters so far, if an accuracy check
    /// has happened, else keeps its current ones; or the model returned no gradient, or one of the wrong
    /// size, for a parameter, or no scores of shape (N, classes).</exception>
    public void Train(CancellationToken cancellationToken = default)
    {
        if (_trainCalled)
            throw new InvalidOperationException("Train has already been called on this solver; create a new Solver to train again.");
        _trainCalled = true;

        for (int t = 0; t < NumIterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double loss = Step();
            _lossHistory.Add(loss);
            if (!double.IsFinite(loss))
            {
                string kept = _bestParams.Count > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"the parameters of the best validation accuracy, {BestValAcc:F6}")
                    : "its parameters from before this iteration";
                if (_bestParams.Count > 0)
                    RestoreBestParams();
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"loss became {loss} at iteration {t + 1} / {NumIterations}; training stopped and the model holds {kept}."));
            }

            if (_verbose && t % _printEvery == 0)
                _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(Iteration {t + 1} / {NumIterations}) loss: {loss:F6}"));

            bool epochEnd = (t + 1) % _iterationsPerEpoch == 0;
            if (epochEnd)
            {
                Epoch++;
                foreach (IUpdateRule<T> rule in _updateRules.Values)
                    rule.Config.LearningRate *= _lrDecay;
            }

            if (t == 0 || t == NumIterations - 1 || epochEnd)
                CheckpointAccuracy();

            _progress?.Report(new SolverProgress(t + 1, NumIterations, Epoch, loss));
        }
        RestoreBestParams();
    }

    /// <summary>
    /// Fraction of inputs whose highest-scoring class (the first of equal scores) is the label, as the
    /// seeds' <c>check_accuracy</c>. The scores come from test-mode passes of the model over batches.
    /// </summary>
    /// <param name="x">Inputs (N, d1, ..., dk).</param>
    /// <param name="y">N labels.</param>
    /// <param name="numSamples">When given and less than N, that many inputs sampled with replacement
    /// by the solver's generator; null for all N.</param>
    /// <param name="batchSize">Inputs per model call, at least 1.</param>
    /// <returns>Accuracy in [0, 1].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="x"/> or <paramref name="y"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> has rank below 2 or <paramref name="y"/> has
    /// a different count of labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numSamples"/> or <paramref name="batchSize"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The model returned no scores, or scores not of shape (batch, classes).</exception>
    public double CheckAccuracy(Tensor<T> x, int[] y, int? numSamples = null, int batchSize = 100)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Shape.Rank < 2)
            throw new ArgumentException($"x must have shape (N, d1, ..., dk), but its shape is {x.Shape}.", nameof(x));
        int n = x.Shape[0];
        if (y.Length != n)
            throw new ArgumentException($"y has {y.Length} labels but x {x.Shape} holds {n} inputs; they must match.", nameof(y));
        if (numSamples is int requested)
            ArgumentOutOfRangeException.ThrowIfLessThan(requested, 1, nameof(numSamples));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);

        int count = numSamples is int s && s < n ? s : n;
        int[] rows = new int[count];
        for (int i = 0; i < count; i++)
            rows[i] = count < n ? _random.Next(n) : i;

        int[] shape = x.Shape.AsSpan().ToArray();
        shape[0] = Math.Min(batchSize, count);
        var batch = new Tensor<T>(shape);
        int[] labels = new int[shape[0]];
        int correct = 0;
        for (int start = 0; start < count; start += batchSize)
        {
            int size = Math.Min(batchSize, count - start);
            if (size != batch.Shape[0])
            {
                shape[0] = size;
                batch = new Tensor<T>(shape);
                labels = new int[size];
            }
            Gather(x, y, rows.AsSpan(start, size), batch, labels);
            correct += CountCorrect(ScoresOf(batch), labels);
        }
        return (double)correct / count;
    }

    /// <summary>One minibatch: sample, loss and gradients, and (for a finite loss) the updates.</summary>
    private double Step()
    {
        int numTrain = _data.XTrain.Shape[0];
        for (int j = 0; j < _batchRows.Length; j++)
            _batchRows[j] = _random.Next(numTrain);
        Gather(_data.XTrain, _data.YTrain, _batchRows, _xBatch, _yBatch);

        LossResult<T> result = _model.Loss(_xBatch, _yBatch);
        if (!double.IsFinite(result.Loss))
            return result.Loss;

        foreach ((string name, IUpdateRule<T> rule) in _updateRules)
        {
            Tensor<T> w = _model.Params[name];
            if (!result.Grads.TryGetValue(name, out Tensor<T>? dw))
                throw new InvalidOperationException($"The model returned no gradient for its parameter \"{name}\".");
            if (dw.Length != w.Length)
                throw new InvalidOperationException(
                    $"The model's gradient for \"{name}\" has shape {dw.Shape} but the parameter has shape {w.Shape}.");
            rule.Step(w.Span, dw.Span);
        }
        return result.Loss;
    }

    private void CheckpointAccuracy()
    {
        double trainAcc = CheckAccuracy(_data.XTrain, _data.YTrain, _numTrainSamples);
        double valAcc = CheckAccuracy(_data.XVal, _data.YVal, _numValSamples);
        _trainAccHistory.Add(trainAcc);
        _valAccHistory.Add(valAcc);
        if (_verbose)
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"(Epoch {Epoch} / {_numEpochs}) train acc: {trainAcc:F6}; val_acc: {valAcc:F6}"));

        if (_bestParams.Count == 0 || valAcc > BestValAcc)
        {
            BestValAcc = valAcc;
            foreach ((string name, Tensor<T> w) in _model.Params)
            {
                if (_bestParams.TryGetValue(name, out Tensor<T>? copy))
                    w.Span.CopyTo(copy.Span);
                else
                    _bestParams[name] = w.Clone();
            }
        }
    }

    private void RestoreBestParams()
    {
        foreach ((string name, Tensor<T> best) in _bestParams)
            best.Span.CopyTo(_model.Params[name].Span);
    }

    private static void Gather(Tensor<T> x, int[] y, ReadOnlySpan<int> rows, Tensor<T> batch, int[] labels)
    {
        int rowLength = x.Length / x.Shape[0];
        for (int j = 0; j < rows.Length; j++)
        {
            x.Span.Slice(rows[j] * rowLength, rowLength).CopyTo(batch.Span.Slice(j * rowLength, rowLength));
            labels[j] = y[rows[j]];
        }
    }

    private Tensor<T> ScoresOf(Tensor<T> batch)
    {
        Tensor<T>? scores = _model.Loss(batch, null).Scores;
        if (scores is null || scores.Shape.Rank != 2 || scores.Shape[0] != batch.Shape[0])
            throw new InvalidOperationException(
                $"Asked for scores of a batch of {batch.Shape[0]}, the model returned " +
                (scores is null ? "none" : $"a tensor of shape {scores.Shape}") + $"; expected ({batch.Shape[0]}, classes).");
        return scores;
    }

    private static int CountCorrect(Tensor<T> scores, int[] labels)
    {
        int classes = scores.Shape[1], correct = 0;
        ReadOnlySpan<T> s = scores.Span;
        for (int i = 0; i < labels.Length; i++)
        {
            ReadOnlySpan<T> row = s.Slice(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                    best = c;
            }
            if (best == labels[i])
                correct++;
        }
        return correct;
    }
}
