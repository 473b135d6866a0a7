using System.Buffers.Binary;
using System.Text.Json;
using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// The checkpoint file: a bit-identical round trip of everything a run holds, its safetensors header
/// read with an independent JSON parser, the periodic files and finding the latest, loading only a
/// model, and every way a checkpoint can be unusable or not fit.
/// </summary>
public class CheckpointTests
{
    [Fact]
    public void SaveLoadSave_RestoresParametersAndOptimizerStateBitIdentically()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2));
        solver.Train();
        string first = directory.File("first.safetensors"), second = directory.File("second.safetensors");
        solver.SaveCheckpoint(first);

        var loadedModel = TrainingSetups.Net<double>();
        var loaded = new Solver<double>(loadedModel, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2));
        loaded.LoadCheckpoint(first);
        loaded.SaveCheckpoint(second);

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        foreach ((string name, Tensor<double> w) in model.Params)
        {
            Assert.Equal(w.Span.ToArray(), loadedModel.Params[name].Span.ToArray());
            var state = (IUpdateRuleState<double>)solver.Rules[name];
            var loadedState = (IUpdateRuleState<double>)loaded.Rules[name];
            Assert.Equal(state.StepCount, loadedState.StepCount);
            Assert.Equal(12, loadedState.StepCount);
            Assert.Equal(state.State("m").ToArray(), loadedState.State("m").ToArray());
            Assert.Equal(state.State("v").ToArray(), loadedState.State("v").ToArray());
            Assert.Equal(solver.Rules[name].Config.LearningRate, loaded.Rules[name].Config.LearningRate);
        }
        Assert.Equal(5e-3 * 0.9 * 0.9, loaded.Rules["W1"].Config.LearningRate, 1e-18);
        Assert.Equal(solver.Random.GetState(), loaded.Random.GetState());
        Assert.Equal(solver.LossHistory, loaded.LossHistory);
        Assert.Equal(solver.BestValAcc, loaded.BestValAcc);
    }

    [Fact]
    public void Checkpoint_Header_IsValidSafeTensorsWithTheDocumentedNamesAndMetadata()
    {
        using var directory = new TempDirectory();
        var solver = new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(),
            TrainingSetups.Options("adam", 2, directory.Path));
        solver.Train();

        byte[] bytes = File.ReadAllBytes(directory.File("checkpoint_epoch_2.safetensors"));
        long headerLength = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        using JsonDocument header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var entries = header.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__")
            .ToDictionary(e => e.Name, e => e.Value);

        var sizes = new Dictionary<string, int> { ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8 };
        var ranges = entries.Values.Select(e => (Begin: e.GetProperty("data_offsets")[0].GetInt64(), End: e.GetProperty("data_offsets")[1].GetInt64()))
            .Order().ToArray();
        Assert.Equal(0, ranges[0].Begin);
        for (int i = 1; i < ranges.Length; i++)
            Assert.Equal(ranges[i - 1].End, ranges[i].Begin);
        Assert.Equal(bytes.Length - 8 - headerLength, ranges[^1].End);
        foreach ((string name, JsonElement entry) in entries)
        {
            string dtype = entry.GetProperty("dtype").GetString()!;
            long count = entry.GetProperty("shape").EnumerateArray().Aggregate(1L, (c, d) => c * d.GetInt64());
            long span = entry.GetProperty("data_offsets")[1].GetInt64() - entry.GetProperty("data_offsets")[0].GetInt64();
            Assert.True(sizes.ContainsKey(dtype), $"{name} has dtype {dtype}");
            Assert.Equal(count * sizes[dtype], span);
        }

        string[] names =
        [
            "W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3",
            "running_mean1", "running_var1", "running_mean2", "running_var2",
            "optim.W1.m", "optim.W1.v", "optim.W1.t", "optim.W1.learning_rate", "optim.gamma2.m",
            "best.W1", "best.beta2", "history.loss", "history.train_acc", "history.val_acc",
        ];
        Assert.All(names, name => Assert.True(entries.ContainsKey(name), $"no tensor {name}"));
        Assert.Equal("F64", entries["W1"].GetProperty("dtype").GetString());
        Assert.Equal([6, 12], entries["W1"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([6, 12], entries["optim.W1.m"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal("I64", entries["optim.W1.t"].GetProperty("dtype").GetString());
        Assert.Equal(0, entries["optim.W1.t"].GetProperty("shape").GetArrayLength());
        Assert.Equal([12], entries["history.loss"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([3], entries["history.val_acc"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));

        JsonElement metadata = header.RootElement.GetProperty("__metadata__");
        Assert.All(metadata.EnumerateObject(), m => Assert.Equal(JsonValueKind.String, m.Value.ValueKind));
        Assert.Equal("nnk.checkpoint", metadata.GetProperty("format").GetString());
        Assert.Equal("FullyConnectedNet", metadata.GetProperty("model").GetString());
        Assert.Equal("adam", metadata.GetProperty("update_rule").GetString());
        Assert.Equal("2", metadata.GetProperty("epoch").GetString());
        Assert.Equal("12", metadata.GetProperty("iteration").GetString());
        Assert.Equal("xoshiro256**", metadata.GetProperty("rng").GetString());
        Assert.Matches("^[0-9a-f]{16} [0-9a-f]{16} [0-9a-f]{16} [0-9a-f]{16}$", metadata.GetProperty("rng_state").GetString());
        Assert.Equal(0.005, JsonDocument.Parse(metadata.GetProperty("optim_config").GetString()!).RootElement.GetProperty("learning_rate").GetDouble());
    }

    [Fact]
    public void Checkpoint_Float32Model_StoresF32Parameters()
    {
        using var directory = new TempDirectory();
        var solver = new Solver<float>(TrainingSetups.Net<float>(), TrainingSetups.Blobs<float>(), TrainingSetups.Options("sgd_momentum", 1));
        solver.Train();
        string path = directory.File("f32.safetensors");
        solver.SaveCheckpoint(path);

        SafeTensorsFile file = SafeTensors.Read(path);

        Assert.Equal(SafeTensorsDType.F32, file.Tensors["W1"].DType);
        Assert.Equal(SafeTensorsDType.F32, file.Tensors["optim.W1.velocity"].DType);
        Assert.Equal(SafeTensorsDType.F32, file.Tensors["running_var2"].DType);
        Assert.Equal(SafeTensorsDType.F64, file.Tensors["history.loss"].DType);
        Assert.Equal("F32", file.Metadata["dtype"]);
    }

    [Fact]
    public void Train_CheckpointEvery2_WritesEvenEpochsAndFindLatestPicksTheHighest()
    {
        using var directory = new TempDirectory();
        SolverOptions options = TrainingSetups.Options("sgd", 5, directory.File("run"));
        options.CheckpointEvery = 2;
        options.CheckpointName = "fc";
        new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), options).Train();

        Assert.Equal(["fc_epoch_2.safetensors", "fc_epoch_4.safetensors"],
            Directory.EnumerateFiles(directory.File("run")).Select(Path.GetFileName).Order());
        Assert.Equal(directory.File("run/fc_epoch_4.safetensors"), Checkpoint.FindLatest(directory.File("run"), "fc"));
        Assert.Null(Checkpoint.FindLatest(directory.File("run")));
        Assert.Null(Checkpoint.FindLatest(directory.File("missing")));
    }

    [Fact]
    public void FindLatest_ComparesEpochsAsNumbersAndIgnoresTemporaryFiles()
    {
        using var directory = new TempDirectory();
        foreach (string name in new[] { "checkpoint_epoch_9.safetensors", "checkpoint_epoch_10.safetensors",
                     "checkpoint_epoch_11.safetensors.tmp", "checkpoint_epoch_x.safetensors", "other_epoch_12.safetensors" })
            File.WriteAllBytes(directory.File(name), []);

        Assert.Equal(directory.File("checkpoint_epoch_10.safetensors"), Checkpoint.FindLatest(directory.Path));
    }

    // A process killed while writing epoch 2's checkpoint leaves a torn .tmp beside the good epoch-1 file.
    [Fact]
    public void TornTemporaryCheckpoint_IsIgnoredAndTheGoodOneResumes()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2, directory.Path));
        solver.Train();
        string good = directory.File("checkpoint_epoch_1.safetensors"), torn = directory.File("checkpoint_epoch_2.safetensors.tmp");
        byte[] epoch2 = File.ReadAllBytes(directory.File("checkpoint_epoch_2.safetensors"));
        File.Delete(directory.File("checkpoint_epoch_2.safetensors"));
        File.WriteAllBytes(torn, epoch2[..(epoch2.Length / 2)]);

        Assert.Equal(good, Checkpoint.FindLatest(directory.Path));
        var tornError = Assert.Throws<InvalidDataException>(() =>
            new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2)).LoadCheckpoint(torn));
        Assert.Contains(torn, tornError.Message);

        var resumedModel = TrainingSetups.Net<double>();
        var resumed = new Solver<double>(resumedModel, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 2));
        resumed.LoadCheckpoint(good);
        resumed.Train();
        foreach ((string name, Tensor<double> w) in model.Params)
            Assert.Equal(w.Span.ToArray(), resumedModel.Params[name].Span.ToArray());
    }

    [Fact]
    public void LoadCheckpoint_TruncatedFile_ThrowsInvalidDataNamingTheFileAndChangesNothing()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var model = TrainingSetups.Net<double>();
        double[] before = model.Params["W1"].Span.ToArray();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam"));

        var error = Assert.Throws<InvalidDataException>(() => solver.LoadCheckpoint(path));

        Assert.Contains(path, error.Message);
        Assert.Equal(0, solver.Iteration);
        Assert.Equal(before, model.Params["W1"].Span.ToArray());
    }

    [Fact]
    public void LoadCheckpoint_CorruptHeader_ThrowsInvalidDataNamingTheFile()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[8] = (byte)'#';
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() =>
            new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam")).LoadCheckpoint(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("JSON", error.Message);
    }

    [Fact]
    public void LoadCheckpoint_PlainSafeTensorsFile_ThrowsInvalidDataPointingToLoadModel()
    {
        using var directory = new TempDirectory();
        string path = directory.File("weights.safetensors");
        SafeTensors.Write(path, new Dictionary<string, SafeTensor> { ["W1"] = SafeTensor.From<double>(new double[72], [6, 12]) });

        var error = Assert.Throws<InvalidDataException>(() =>
            new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam")).LoadCheckpoint(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("LoadModel", error.Message);
    }

    [Fact]
    public void LoadCheckpoint_OtherArchitecture_ThrowsArgumentNamingTheTensorAndChangesNothing()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);
        var model = TrainingSetups.Net<double>(hiddenDims: [12, 11]);
        double[] before = model.Params["W1"].Span.ToArray();
        var solver = new Solver<double>(model, TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam"));

        var error = Assert.Throws<ArgumentException>(() => solver.LoadCheckpoint(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("W2", error.Message);
        Assert.Contains("[12, 10]", error.Message);
        Assert.Contains("[12, 11]", error.Message);
        Assert.Equal(before, model.Params["W1"].Span.ToArray());
        Assert.Equal(0, solver.Iteration);
    }

    [Fact]
    public void LoadCheckpoint_OtherUpdateRule_ThrowsArgumentNamingBoth()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);

        var error = Assert.Throws<ArgumentException>(() =>
            new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("rmsprop")).LoadCheckpoint(path));

        Assert.Contains("\"adam\"", error.Message);
        Assert.Contains("\"rmsprop\"", error.Message);
    }

    [Fact]
    public void LoadCheckpoint_Float64IntoFloat32Solver_ThrowsArgument()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);

        var error = Assert.Throws<ArgumentException>(() =>
            new Solver<float>(TrainingSetups.Net<float>(), TrainingSetups.Blobs<float>(), TrainingSetups.Options("adam")).LoadCheckpoint(path));

        Assert.Contains("F64", error.Message);
    }

    [Fact]
    public void LoadCheckpoint_OtherBatchSize_ThrowsArgumentNamingIterationsPerEpoch()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);
        SolverOptions options = TrainingSetups.Options("adam");
        options.BatchSize = 30;

        var error = Assert.Throws<ArgumentException>(() =>
            new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), options).LoadCheckpoint(path));

        Assert.Contains("6 iterations per epoch", error.Message);
    }

    [Fact]
    public void LoadCheckpoint_AfterTrain_Throws()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);
        var solver = new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 1));
        solver.Train();

        Assert.Throws<InvalidOperationException>(() => solver.LoadCheckpoint(path));
    }

    [Fact]
    public void LoadModel_Best_GivesTheScoresOfTheTrainedModel()
    {
        using var directory = new TempDirectory();
        var model = TrainingSetups.Net<double>();
        SolverData<double> data = TrainingSetups.Blobs<double>();
        new Solver<double>(model, data, TrainingSetups.Options("adam", 3, directory.Path)).Train();

        var loaded = TrainingSetups.Net<double>();
        Checkpoint.LoadModel(directory.File("checkpoint_epoch_3.safetensors"), loaded, best: true);

        Assert.Equal(model.Loss(data.XVal, null).Scores!.Span.ToArray(), loaded.Loss(data.XVal, null).Scores!.Span.ToArray());
    }

    [Fact]
    public void LoadModel_FileWithATensorTheModelLacks_ThrowsArgument()
    {
        using var directory = new TempDirectory();
        string path = SavedCheckpoint(directory);

        var error = Assert.Throws<ArgumentException>(() => Checkpoint.LoadModel(path, TrainingSetups.Net<double>(hiddenDims: [12])));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void CheckpointMetadata_IsWrittenAndReservedKeysAreRefused()
    {
        using var directory = new TempDirectory();
        SolverOptions options = TrainingSetups.Options("sgd", 1, directory.Path);
        options.CheckpointMetadata = new Dictionary<string, string> { ["hidden_dims"] = "12,10" };
        new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), options).Train();

        Assert.Equal("12,10", SafeTensors.Read(directory.File("checkpoint_epoch_1.safetensors")).Metadata["hidden_dims"]);
        Assert.Throws<ArgumentException>(() => options.CheckpointMetadata = new Dictionary<string, string> { ["epoch"] = "7" });
    }

    [Fact]
    public void RunningStatistics_AreTheModelsBatchNormParamsNumberedAsGamma()
    {
        var net = TrainingSetups.Net<double>();
        Assert.Equal([1, 2], net.RunningStatistics.Keys.Order());
        Assert.Same(net.BatchNormParams[1], net.RunningStatistics[2]);

        var conv = TrainingSetups.ConvNet();
        Assert.Equal([1, 2], conv.RunningStatistics.Keys.Order());
        Assert.Same(((SpatialBatchNormLayer<double>)conv.Layers[1]).BatchNormParam, conv.RunningStatistics[1]);
        Assert.Same(((BatchNormLayer<double>)conv.Layers[5]).BatchNormParam, conv.RunningStatistics[2]);
    }

    /// <summary>The checkpoint of a float64 adam run of one epoch of the fully connected net.</summary>
    private static string SavedCheckpoint(TempDirectory directory)
    {
        var solver = new Solver<double>(TrainingSetups.Net<double>(), TrainingSetups.Blobs<double>(), TrainingSetups.Options("adam", 1));
        solver.Train();
        string path = directory.File("saved.safetensors");
        solver.SaveCheckpoint(path);
        return path;
    }
}
