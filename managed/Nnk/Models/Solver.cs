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
/// <para>
/// Checkpoints (<see cref="SaveCheckpoint"/>, and every <see cref="SolverOptions.CheckpointEvery"/> epochs
/// into <see cref="SolverOptions.CheckpointDirectory"/>) hold everything training depends on; a new solver
/// with the same model architecture, data and options that loads one (<see cref="LoadCheckpoint"/>)
/// and then trains ends exactly where this one would have.
/// </para>
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
    private readonly string? _checkpointDirectory;
    private readonly string _checkpointName;
    private readonly int _checkpointEvery;
    private readonly Dictionary<string, IUpdateRule<T>> _updateRules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor<T>> _bestParams = new(StringComparer.Ordinal);
    private readonly List<double> _lossHistory = [];
    private readonly List<double> _trainAccHistory = [];
    private readonly List<double> _valAccHistory = [];
    private readonly Xoshiro256StarStar _random;

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
        _checkpointDirectory = options.CheckpointDirectory;
        _checkpointName = options.CheckpointName;
        _checkpointEvery = options.CheckpointEvery;
        UpdateRuleName = options.UpdateRule;
        OptimConfig = options.OptimConfig.Clone();
        BatchSize = options.BatchSize;
        Seed = options.Seed;
        CheckpointMetadata = options.CheckpointMetadata;
        _random = new Xoshiro256StarStar(unchecked((ulong)options.Seed));

        // UpdateRules.Create clones the configuration, so every parameter decays its own learning rate.
        foreach (string name in model.Params.Keys)
            _updateRules[name] = UpdateRules.Create<T>(options.UpdateRule, options.OptimConfig);

        int numTrain = data.XTrain.Shape[0];
        IterationsPerEpoch = Math.Max(numTrain / options.BatchSize, 1);
        NumIterations = checked(_numEpochs * IterationsPerEpoch);

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

    /// <summary>Iterations run so far (each one sampled a minibatch and asked for the loss).</summary>
    public int Iteration { get; private set; }

    /// <summary>Iterations of the whole run: epochs times max(N_train / batch size, 1).</summary>
    public int NumIterations { get; }

    /// <summary>The model being trained.</summary>
    internal IModel<T> Model => _model;

    /// <summary>Each parameter's update rule, by parameter name.</summary>
    internal IReadOnlyDictionary<string, IUpdateRule<T>> Rules => _updateRules;

    /// <summary>The generator that samples minibatches and accuracy subsets.</summary>
    internal Xoshiro256StarStar Random => _random;

    internal string UpdateRuleName { get; }

    /// <summary>The update rule's configuration as the options gave it, before any decay.</summary>
    internal OptimConfig OptimConfig { get; }

    internal int BatchSize { get; }

    internal double LrDecay => _lrDecay;

    internal int NumEpochs => _numEpochs;

    internal int IterationsPerEpoch { get; }

    internal int Seed { get; }

    internal IReadOnlyDictionary<string, string> CheckpointMetadata { get; }

    /// <summary>
    /// Writes a checkpoint of this run to <paramref name="path"/>, atomically (see <see cref="SafeTensors.Write(string, IReadOnlyDictionary{string, SafeTensor}, IReadOnlyDictionary{string, string}?)"/>):
    /// the model's parameters and batch-norm running statistics, each update rule's state and current learning
    /// rate, the generator's state, the epoch and iteration, the histories, and the best parameters and
    /// validation accuracy. <see cref="Checkpoint"/> describes the layout. Call it from the thread that trains,
    /// between iterations: from <see cref="SolverOptions.Progress"/> when it reports synchronously, or after
    /// <see cref="Train"/> returned or was cancelled (then the checkpoint resumes at the next iteration). After
    /// a non-finite loss stopped training, the model holds restored parameters and no longer continues the run.
    /// </summary>
    /// <param name="path">The file to create or replace; its directory must exist.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file could not be written; an existing file at <paramref name="path"/> is unchanged.</exception>
    public void SaveCheckpoint(string path) => Checkpoint.Save(path, this);

    /// <summary>
    /// Restores a checkpoint that <see cref="SaveCheckpoint"/> wrote, so that <see cref="Train"/> continues from
    /// its iteration: the model's parameters and running statistics, the update rules' state and learning rates,
    /// the generator, the epoch and iteration, the histories, the best parameters and validation accuracy. The
    /// solver must have been made with a model of the same kind and parameter shapes, the same update rule, and
    /// data and batch size giving the same iterations per epoch; the other options are this solver's own, so use
    /// the same ones for a run identical to one that never stopped (more epochs continue the run further).
    /// Everything is checked before anything changes, so on an exception the solver and model are untouched.
    /// </summary>
    /// <param name="path">A checkpoint file.</param>
    /// <exception cref="InvalidOperationException"><see cref="Train"/> has already been called.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file, not an nnk checkpoint, or
    /// an incomplete one; the message names the file.</exception>
    /// <exception cref="ArgumentException">The checkpoint does not fit this solver (another model kind, parameter
    /// shape, element type, update rule or number of iterations per epoch, or more iterations than this run has);
    /// the message names the file and both values.</exception>
    public void LoadCheckpoint(string path)
    {
        if (_trainCalled)
            throw new InvalidOperationException("LoadCheckpoint must come before Train; create a new Solver to resume from a checkpoint.");
        Checkpoint.Load(path, this);
    }

    /// <summary>
    /// Runs the iterations from <see cref="Iteration"/> on (the first, or the one after a loaded checkpoint),
    /// writing the periodic checkpoints <see cref="SolverOptions.CheckpointDirectory"/> asks for, then puts the
    /// parameters with the best validation accuracy back into the model. Can be called once per solver.
    /// </summary>
    /// <param name="cancellationToken">Checked before every iteration; on cancellation the model keeps its current parameters.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Train was already called; or the loss became NaN or infinite,
    /// in which case training stops and the model gets the best parameters so far, if an accuracy check
    /// has happened, else keeps its current ones; or the model returned no gradient, or one of the wrong
    /// size, for a parameter, or no scores of shape (N, classes).</exception>
    /// <exception cref="IOException">A periodic checkpoint could not be written; the previous file of that name, if any, is unchanged.</exception>
    public void Train(CancellationToken cancellationToken = default)
    {
        if (_trainCalled)
            throw new InvalidOperationException("Train has already been called on this solver; create a new Solver to train again.");
        _trainCalled = true;

        for (int t = Iteration; t < NumIterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double loss = Step();
            _lossHistory.Add(loss);
            Iteration = t + 1;
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

            bool epochEnd = (t + 1) % IterationsPerEpoch == 0;
            if (epochEnd)
            {
                Epoch++;
                foreach (IUpdateRule<T> rule in _updateRules.Values)
                    rule.Config.LearningRate *= _lrDecay;
            }

            if (t == 0 || t == NumIterations - 1 || epochEnd)
                CheckpointAccuracy();

            if (epochEnd && _checkpointDirectory is not null && Epoch % _checkpointEvery == 0)
            {
                Directory.CreateDirectory(_checkpointDirectory);
                SaveCheckpoint(Path.Combine(_checkpointDirectory, Checkpoint.FileName(_checkpointName, Epoch)));
            }

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

    /// <summary>
    /// Puts back the progress a checkpoint recorded; <see cref="Checkpoint"/> has checked every value and
    /// restores the model, the rules and the generator itself.
    /// </summary>
    internal void RestoreProgress(int epoch, int iteration, double[] lossHistory, double[] trainAccHistory,
        double[] valAccHistory, double bestValAcc, IReadOnlyDictionary<string, Tensor<T>> bestParams)
    {
        Epoch = epoch;
        Iteration = iteration;
        _lossHistory.Clear();
        _lossHistory.AddRange(lossHistory);
        _trainAccHistory.Clear();
        _trainAccHistory.AddRange(trainAccHistory);
        _valAccHistory.Clear();
        _valAccHistory.AddRange(valAccHistory);
        BestValAcc = bestValAcc;
        _bestParams.Clear();
        foreach ((string name, Tensor<T> best) in bestParams)
            _bestParams[name] = best;
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
