using System.Buffers;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Nnk;

/// <summary>
/// The nnk checkpoint: a <see cref="SafeTensors"/> file holding a <see cref="Solver{T}"/> run, written
/// by <see cref="Solver{T}.SaveCheckpoint"/> and read by <see cref="Solver{T}.LoadCheckpoint"/> and
/// <see cref="LoadModel{T}"/>. Tensor names:
/// <list type="bullet">
/// <item><description>the model's parameters as the model names them (<c>W1</c>, <c>b1</c>, <c>gamma1</c>, ...), F32 or F64;</description></item>
/// <item><description><c>running_mean{k}</c>, <c>running_var{k}</c>: the running statistics of batch-norm layer k (<see cref="IHasRunningStatistics{T}"/>);</description></item>
/// <item><description><c>optim.{param}.{state}</c>: the update rule's state, shaped like the parameter (<c>velocity</c> for
/// sgd_momentum, <c>cache</c> for rmsprop, <c>m</c> and <c>v</c> for adam), <c>optim.{param}.t</c> the steps taken (I64
/// scalar) and <c>optim.{param}.learning_rate</c> the current, decayed rate (F64 scalar);</description></item>
/// <item><description><c>best.{param}</c>: the parameters of the best validation accuracy so far;</description></item>
/// <item><description><c>history.loss</c>, <c>history.train_acc</c>, <c>history.val_acc</c>: the solver's histories (F64).</description></item>
/// </list>
/// The <c>__metadata__</c> map holds <c>format</c> ("nnk.checkpoint"), <c>format_version</c>, <c>nnk_version</c>,
/// <c>model</c> (the model's class, e.g. "FullyConnectedNet"), <c>dtype</c>, <c>update_rule</c>, <c>optim_config</c>
/// (the configured hyperparameters as JSON), <c>lr_decay</c>, <c>batch_size</c>, <c>seed</c>, <c>num_epochs</c>,
/// <c>num_iterations</c>, <c>iterations_per_epoch</c>, <c>epoch</c>, <c>iteration</c>, <c>best_val_acc</c>, and
/// <c>rng</c> ("xoshiro256**") with <c>rng_state</c> (its four state words in hexadecimal), plus any
/// <see cref="SolverOptions.CheckpointMetadata"/>. Numbers are written so that they read back exactly.
/// </summary>
public static class Checkpoint
{
    /// <summary>The <c>format</c> metadata value that marks an nnk checkpoint.</summary>
    public const string Format = "nnk.checkpoint";

    /// <summary>The layout version this library writes and reads.</summary>
    public const int FormatVersion = 1;

    internal const string RngName = "xoshiro256**";

    private const string Extension = ".safetensors";

    // Prefixes of the tensors that are not the model's own.
    private static readonly string[] s_solverPrefixes = ["optim.", "best.", "history."];

    private static readonly ReadOnlyCollection<string> s_reservedMetadataKeys = Array.AsReadOnly(new[]
    {
        "format", "format_version", "nnk_version", "model", "dtype", "update_rule", "optim_config", "lr_decay",
        "batch_size", "seed", "num_epochs", "num_iterations", "iterations_per_epoch", "epoch", "iteration",
        "best_val_acc", "rng", "rng_state",
    });

    /// <summary>The metadata keys a checkpoint writes itself, which <see cref="SolverOptions.CheckpointMetadata"/> may not use.</summary>
    public static IReadOnlyList<string> ReservedMetadataKeys => s_reservedMetadataKeys;

    /// <summary>The file name of the checkpoint a solver writes at the end of an epoch: <c>{name}_epoch_{epoch}.safetensors</c>.</summary>
    /// <param name="name">The <see cref="SolverOptions.CheckpointName"/>.</param>
    /// <param name="epoch">The epoch just completed, at least 0.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public static string FileName(string name, int epoch)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return string.Create(CultureInfo.InvariantCulture, $"{name}_epoch_{epoch}{Extension}");
    }

    /// <summary>
    /// The path of the checkpoint of the highest epoch named <c>{name}_epoch_{N}.safetensors</c> in
    /// <paramref name="directory"/> (comparing N as numbers), or null when there is none or the directory
    /// does not exist: what a "resume from the latest" option loads.
    /// </summary>
    /// <param name="directory">The <see cref="SolverOptions.CheckpointDirectory"/>.</param>
    /// <param name="name">The <see cref="SolverOptions.CheckpointName"/>; "checkpoint" by default.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> or <paramref name="name"/> is null or empty.</exception>
    public static string? FindLatest(string directory, string name = "checkpoint")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Directory.Exists(directory))
            return null;
        string prefix = name + "_epoch_";
        string? latest = null;
        int latestEpoch = -1;
        foreach (string file in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            string fileName = Path.GetFileName(file);
            if (!fileName.StartsWith(prefix, StringComparison.Ordinal) || !fileName.EndsWith(Extension, StringComparison.Ordinal))
                continue;
            ReadOnlySpan<char> number = fileName.AsSpan(prefix.Length, fileName.Length - prefix.Length - Extension.Length);
            if (int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) && epoch > latestEpoch)
                (latest, latestEpoch) = (Path.GetFullPath(file), epoch);
        }
        return latest;
    }

    /// <summary>
    /// Loads a model's parameters and batch-norm running statistics from a checkpoint, or from any safetensors
    /// file that names them as the model does (for example one exported from PyTorch with those names), for
    /// evaluation or prediction. The update-rule state, histories and metadata are ignored. Every tensor is
    /// checked before any is copied, so on an exception the model is untouched.
    /// </summary>
    /// <param name="path">A checkpoint or safetensors file.</param>
    /// <param name="model">The model to fill; it must have the same parameter names and shapes.</param>
    /// <param name="best">True to load the <c>best.{param}</c> tensors (the parameters of the best validation
    /// accuracy, which <see cref="Solver{T}.Train"/> ends with) instead of the current ones; the running
    /// statistics are the current ones either way, as at the end of training.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names the file.</exception>
    /// <exception cref="ArgumentException">The file lacks a tensor the model needs, holds one of another element type or
    /// shape, or holds model tensors the model does not have; the message names the file and the tensor.</exception>
    public static void LoadModel<T>(string path, IModel<T> model, bool best = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        var loader = new CheckpointLoader<T>(SafeTensors.Read(path));
        loader.PlanModel(model, best ? "best." : "");
        // The solver's tensors, and with best the current parameters, are in a checkpoint but not for the model.
        loader.RequireAllUsed(ignore: name =>
            s_solverPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)) || model.Params.ContainsKey(name));
        loader.Apply();
    }

    /// <summary>Writes <paramref name="solver"/>'s run to <paramref name="path"/>; see <see cref="Solver{T}.SaveCheckpoint"/>.</summary>
    internal static void Save<T>(string path, Solver<T> solver) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        void Add(string name, SafeTensor tensor)
        {
            if (!tensors.TryAdd(name, tensor))
                throw new InvalidOperationException(
                    $"The checkpoint would hold two tensors named \"{name}\": a model parameter's name collides with a checkpoint name.");
        }

        IModel<T> model = solver.Model;
        foreach ((string name, Tensor<T> w) in model.Params)
            Add(name, SafeTensor.From(w));
        if (model is IHasRunningStatistics<T> statistics)
        {
            foreach ((int layer, BatchNormParam<T> bn) in statistics.RunningStatistics)
            {
                if (bn.RunningMean is { } mean)
                    Add(RunningMeanName(layer), SafeTensor.From(mean));
                if (bn.RunningVar is { } variance)
                    Add(RunningVarName(layer), SafeTensor.From(variance));
            }
        }
        foreach ((string name, IUpdateRule<T> rule) in solver.Rules)
        {
            IUpdateRuleState<T> state = RuleState(rule);
            Tensor<T> w = model.Params[name];
            foreach (string stateName in state.StateNames)
            {
                // A rule that has not stepped yet has zero state, which is what a fresh rule starts from.
                ReadOnlySpan<T> values = state.StateLength < 0 ? new T[w.Length] : state.State(stateName);
                Add(OptimName(name, stateName), SafeTensor.From(values, w.Shape));
            }
            Add(OptimName(name, "t"), SafeTensor.Scalar(state.StepCount));
            Add(OptimName(name, "learning_rate"), SafeTensor.Scalar(rule.Config.LearningRate));
        }
        foreach ((string name, Tensor<T> best) in solver.BestParams)
            Add(BestName(name), SafeTensor.From(best));
        Add("history.loss", SafeTensor.From<double>(solver.LossHistory.ToArray()));
        Add("history.train_acc", SafeTensor.From<double>(solver.TrainAccHistory.ToArray()));
        Add("history.val_acc", SafeTensor.From<double>(solver.ValAccHistory.ToArray()));

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["format_version"] = Text(FormatVersion),
            ["nnk_version"] = typeof(Checkpoint).Assembly.GetName().Version?.ToString() ?? "unknown",
            ["model"] = ModelKind(model),
            ["dtype"] = SafeTensorsDTypes.Name(SafeTensorsDTypes.Of<T>()),
            ["update_rule"] = solver.UpdateRuleName,
            ["optim_config"] = OptimConfigJson(solver.OptimConfig),
            ["lr_decay"] = Text(solver.LrDecay),
            ["batch_size"] = Text(solver.BatchSize),
            ["seed"] = Text(solver.Seed),
            ["num_epochs"] = Text(solver.NumEpochs),
            ["num_iterations"] = Text(solver.NumIterations),
            ["iterations_per_epoch"] = Text(solver.IterationsPerEpoch),
            ["epoch"] = Text(solver.Epoch),
            ["iteration"] = Text(solver.Iteration),
            ["best_val_acc"] = Text(solver.BestValAcc),
            ["rng"] = RngName,
            ["rng_state"] = string.Join(' ', solver.Random.GetState().Select(word => word.ToString("x16", CultureInfo.InvariantCulture))),
        };
        foreach ((string key, string value) in solver.CheckpointMetadata)
            metadata.Add(key, value);

        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Restores <paramref name="solver"/> from <paramref name="path"/>; see <see cref="Solver{T}.LoadCheckpoint"/>.</summary>
    internal static void Load<T>(string path, Solver<T> solver) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var loader = new CheckpointLoader<T>(SafeTensors.Read(path));
        loader.PlanSolver(solver);
        loader.RequireAllUsed(ignore: _ => false);
        loader.Apply();
    }

    internal static string RunningMeanName(int layer) => string.Create(CultureInfo.InvariantCulture, $"running_mean{layer}");

    internal static string RunningVarName(int layer) => string.Create(CultureInfo.InvariantCulture, $"running_var{layer}");

    internal static string OptimName(string param, string state) => $"optim.{param}.{state}";

    internal static string BestName(string param) => "best." + param;

    /// <summary>The model's class without its generic arity, for example "FullyConnectedNet".</summary>
    internal static string ModelKind(object model)
    {
        string name = model.GetType().Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    internal static IUpdateRuleState<T> RuleState<T>(IUpdateRule<T> rule) where T : unmanaged, IFloatingPointIeee754<T> =>
        rule as IUpdateRuleState<T> ?? throw new InvalidOperationException(
            $"The update rule {rule.GetType().Name} does not expose its state, so it cannot be checkpointed.");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    // "R" gives the shortest text that parses back to the same double.
    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string OptimConfigJson(OptimConfig config)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("learning_rate", config.LearningRate);
            json.WriteNumber("momentum", config.Momentum);
            json.WriteNumber("decay_rate", config.DecayRate);
            json.WriteNumber("epsilon", config.Epsilon);
            json.WriteNumber("beta1", config.Beta1);
            json.WriteNumber("beta2", config.Beta2);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
