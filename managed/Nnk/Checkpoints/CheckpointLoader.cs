using System.Globalization;
using System.Numerics;

namespace Nnk;

/// <summary>
/// Reads a checkpoint into a model or a solver in two phases: the Plan methods check every tensor and
/// metadata value and queue the copies, and <see cref="Apply"/> runs them, so a checkpoint that does not
/// fit changes nothing. A file that is not a usable checkpoint gives an <see cref="InvalidDataException"/>;
/// one that is, but for another model or run, an <see cref="ArgumentException"/>; both name the file.
/// </summary>
internal sealed class CheckpointLoader<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly SafeTensorsDType s_dtype = SafeTensorsDTypes.Of<T>();

    private readonly SafeTensorsFile _file;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<Action> _copies = [];

    public CheckpointLoader(SafeTensorsFile file) => _file = file;

    /// <summary>Queues the model's parameters (from <paramref name="prefix"/> + name) and its running statistics.</summary>
    public void PlanModel(IModel<T> model, string prefix)
    {
        foreach ((string name, Tensor<T> w) in model.Params)
        {
            T[] values = ModelTensor(prefix + name, w.Shape);
            _copies.Add(() => values.CopyTo(w.Span));
        }
        if (model is not IHasRunningStatistics<T> statistics)
            return;
        foreach ((int layer, BatchNormParam<T> bn) in statistics.RunningStatistics)
        {
            PlanRunningStatistic(Checkpoint.RunningMeanName(layer), bn.RunningMean, t => bn.RunningMean = t);
            PlanRunningStatistic(Checkpoint.RunningVarName(layer), bn.RunningVar, t => bn.RunningVar = t);
        }
    }

    /// <summary>Queues everything a solver resumes from: the model, the rules, the generator and the progress.</summary>
    public void PlanSolver(Solver<T> solver)
    {
        if (!_file.Metadata.TryGetValue("format", out string? format) || format != Checkpoint.Format)
            throw Invalid((format is null ? "its metadata has no \"format\"" : $"its metadata \"format\" is \"{format}\"") +
                $", not \"{Checkpoint.Format}\"; to load only weights, use Checkpoint.LoadModel");
        int version = Int("format_version", 1);
        if (version != Checkpoint.FormatVersion)
            throw Invalid($"it has format_version {version}, but this library reads version {Checkpoint.FormatVersion}");

        Expect("dtype", SafeTensorsDTypes.Name(s_dtype), $"the solver trains {typeof(T).Name}");
        Expect("model", Checkpoint.ModelKind(solver.Model), "the solver's model");
        Expect("update_rule", solver.UpdateRuleName, "the solver's update rule");
        int iterationsPerEpoch = Int("iterations_per_epoch", 1);
        if (iterationsPerEpoch != solver.IterationsPerEpoch)
            throw Mismatch($"it was written with {iterationsPerEpoch} iterations per epoch, but this solver has " +
                $"{solver.IterationsPerEpoch} (N_train / batch size {solver.BatchSize}); resume with the same data and batch size");
        int iteration = Int("iteration", 0);
        if (iteration > solver.NumIterations)
            throw Mismatch($"it stopped at iteration {iteration}, past the {solver.NumIterations} iterations of this solver's run");
        int epoch = Int("epoch", 0);
        double bestValAcc = Double("best_val_acc");

        PlanModel(solver.Model, "");
        foreach ((string name, IUpdateRule<T> rule) in solver.Rules)
            PlanRule(name, rule, solver.Model.Params[name]);
        PlanRandom(solver.Random);

        double[] loss = History("history.loss");
        double[] trainAcc = History("history.train_acc");
        double[] valAcc = History("history.val_acc");
        if (trainAcc.Length != valAcc.Length)
            throw Invalid($"history.train_acc has {trainAcc.Length} entries but history.val_acc {valAcc.Length}; they must match");
        Dictionary<string, Tensor<T>> best = BestParams(solver.Model);
        _copies.Add(() => solver.RestoreProgress(epoch, iteration, loss, trainAcc, valAcc, bestValAcc, best));
    }

    /// <summary>Fails unless every tensor in the file was planned or is one that <paramref name="ignore"/> accepts.</summary>
    public void RequireAllUsed(Func<string, bool> ignore)
    {
        string[] unused = _file.Tensors.Keys.Where(name => !_used.Contains(name) && !ignore(name)).ToArray();
        if (unused.Length > 0)
            throw Mismatch($"it holds tensors with no place in the model or solver: {string.Join(", ", unused)}");
    }

    /// <summary>Runs the queued copies; nothing can fail any more.</summary>
    public void Apply()
    {
        foreach (Action copy in _copies)
            copy();
    }

    private void PlanRunningStatistic(string name, Tensor<T>? current, Action<Tensor<T>> set)
    {
        if (!_file.Tensors.TryGetValue(name, out SafeTensor? tensor))
        {
            // A model whose statistics do not exist yet (no training call) matches a checkpoint written before one.
            if (current is not null)
                throw Mismatch($"it has no tensor \"{name}\", which the model's batch-norm layer needs");
            return;
        }
        if (current is not null)
        {
            T[] values = ModelTensor(name, current.Shape);
            _copies.Add(() => values.CopyTo(current.Span));
            return;
        }
        RequireDType(name, tensor);
        if (tensor.Shape.Count != 1 || tensor.Shape[0] < 1)
            throw Mismatch($"tensor \"{name}\" has shape {SafeTensor.Format(tensor.Shape)}; running statistics have one positive dimension");
        _used.Add(name);
        Tensor<T> created = tensor.ToTensor<T>();
        _copies.Add(() => set(created));
    }

    private void PlanRule(string param, IUpdateRule<T> rule, Tensor<T> w)
    {
        IUpdateRuleState<T> state = Checkpoint.RuleState(rule);
        string stepsName = Checkpoint.OptimName(param, "t");
        long steps = Scalar<long>(stepsName);
        if (steps < 0)
            throw Invalid($"tensor \"{stepsName}\" is {steps}; a step count is at least 0");
        string rateName = Checkpoint.OptimName(param, "learning_rate");
        double rate = Scalar<double>(rateName);
        if (!(rate > 0) || double.IsInfinity(rate))
            throw Invalid($"tensor \"{rateName}\" is {rate}; a learning rate is positive and finite");

        var arrays = new List<(string Name, T[] Values)>();
        foreach (string stateName in state.StateNames)
        {
            string name = Checkpoint.OptimName(param, stateName);
            SafeTensor tensor = Require(name);
            RequireDType(name, tensor);
            if (tensor.ElementCount != w.Length)
                throw Invalid($"tensor \"{name}\" has {tensor.ElementCount} elements but the parameter \"{param}\" has {w.Length}");
            arrays.Add((stateName, tensor.ToArray<T>()));
        }
        _copies.Add(() =>
        {
            state.ResetState(w.Length, steps);
            foreach ((string stateName, T[] values) in arrays)
                values.CopyTo(state.State(stateName));
            rule.Config.LearningRate = rate;
        });
    }

    private void PlanRandom(Xoshiro256StarStar random)
    {
        if (Metadata("rng") != Checkpoint.RngName)
            throw Invalid($"its metadata \"rng\" is \"{Metadata("rng")}\"; this library's solver uses \"{Checkpoint.RngName}\"");
        string text = Metadata("rng_state");
        string[] words = text.Split(' ');
        var state = new ulong[Xoshiro256StarStar.StateLength];
        if (words.Length != state.Length
            || words.Where((word, i) => !ulong.TryParse(word, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state[i])).Any()
            || state.All(word => word == 0))
            throw Invalid($"its metadata \"rng_state\" is \"{text}\", not {state.Length} hexadecimal words, not all zero");
        _copies.Add(() => random.SetState(state));
    }

    private double[] History(string name)
    {
        SafeTensor tensor = Require(name);
        if (tensor.DType != SafeTensorsDType.F64 || tensor.Shape.Count != 1)
            throw Invalid($"tensor \"{name}\" is {tensor}; a history is F64 with one dimension");
        return tensor.ToArray<double>();
    }

    private Dictionary<string, Tensor<T>> BestParams(IModel<T> model)
    {
        var best = new Dictionary<string, Tensor<T>>(StringComparer.Ordinal);
        string[] present = model.Params.Keys.Where(name => _file.Tensors.ContainsKey(Checkpoint.BestName(name))).ToArray();
        if (present.Length == 0)
            return best;
        if (present.Length != model.Params.Count)
            throw Invalid($"it holds best.* tensors for {string.Join(", ", present)} only, not for every parameter");
        foreach ((string name, Tensor<T> w) in model.Params)
            best[name] = Tensor<T>.FromArray(ModelTensor(Checkpoint.BestName(name), w.Shape), w.Shape);
        return best;
    }

    // A tensor that must match a model tensor: its absence, type or shape means another model.
    private T[] ModelTensor(string name, TensorShape shape)
    {
        if (!_file.Tensors.TryGetValue(name, out SafeTensor? tensor))
            throw Mismatch($"it has no tensor \"{name}\", which the model needs with shape {SafeTensor.Format(shape)}");
        if (tensor.DType != s_dtype)
            throw Mismatch($"tensor \"{name}\" holds {SafeTensorsDTypes.Name(tensor.DType)} elements but the model is {typeof(T).Name} " +
                $"({SafeTensorsDTypes.Name(s_dtype)})");
        if (!tensor.Shape.SequenceEqual(shape))
            throw Mismatch($"tensor \"{name}\" has shape {SafeTensor.Format(tensor.Shape)} but the model's has {SafeTensor.Format(shape)}");
        _used.Add(name);
        return tensor.ToArray<T>();
    }

    private TElement Scalar<TElement>(string name) where TElement : unmanaged
    {
        SafeTensor tensor = Require(name);
        if (tensor.DType != SafeTensorsDTypes.Of<TElement>() || tensor.ElementCount != 1)
            throw Invalid($"tensor \"{name}\" is {tensor}; expected one {SafeTensorsDTypes.Name(SafeTensorsDTypes.Of<TElement>())} value");
        return tensor.ToArray<TElement>()[0];
    }

    private SafeTensor Require(string name)
    {
        if (!_file.Tensors.TryGetValue(name, out SafeTensor? tensor))
            throw Invalid($"it has no tensor \"{name}\"");
        _used.Add(name);
        return tensor;
    }

    private void RequireDType(string name, SafeTensor tensor)
    {
        if (tensor.DType != s_dtype)
            throw Mismatch($"tensor \"{name}\" holds {SafeTensorsDTypes.Name(tensor.DType)} elements but the model is {typeof(T).Name} " +
                $"({SafeTensorsDTypes.Name(s_dtype)})");
    }

    private void Expect(string key, string expected, string what)
    {
        string actual = Metadata(key);
        if (actual != expected)
            throw Mismatch($"its {key} is \"{actual}\" but {what} is \"{expected}\"");
    }

    private string Metadata(string key) =>
        _file.Metadata.TryGetValue(key, out string? value) ? value : throw Invalid($"its metadata has no \"{key}\"");

    private int Int(string key, int minimum)
    {
        string text = Metadata(key);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < minimum)
            throw Invalid($"its metadata \"{key}\" is \"{text}\", not an integer of at least {minimum}");
        return value;
    }

    private double Double(string key)
    {
        string text = Metadata(key);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw Invalid($"its metadata \"{key}\" is \"{text}\", not a number");
        return value;
    }

    private InvalidDataException Invalid(string reason) => new($"{_file.Path} is not a usable nnk checkpoint: {reason}.");

    private ArgumentException Mismatch(string reason) => new($"The checkpoint {_file.Path} does not fit: {reason}.", "path");
}
