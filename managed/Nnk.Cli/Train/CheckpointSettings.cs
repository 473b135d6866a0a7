using System.Text.Json;

namespace Nnk.Cli.Train;

/// <summary>
/// The settings of <c>nnk train</c> that rebuild a run, stored as JSON under <see cref="MetadataKey"/> in
/// the metadata of every checkpoint it writes, so that <c>--resume FILE</c> can make the same model,
/// data splits and solver options without the original command line.
/// </summary>
internal sealed record CheckpointSettings
{
    /// <summary>The checkpoint metadata key holding these settings.</summary>
    public const string MetadataKey = "nnk_cli_train";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Model name, as --model takes it.</summary>
    public required string Model { get; init; }

    /// <summary>Dataset name, as --dataset takes it.</summary>
    public required string Dataset { get; init; }

    /// <summary>Element type name, as --dtype takes it.</summary>
    public required string Dtype { get; init; }

    /// <summary>--num-train, or null for the dataset's default.</summary>
    public int? NumTrain { get; init; }

    /// <summary>--num-val, or null for the dataset's default.</summary>
    public int? NumVal { get; init; }

    /// <summary>--num-test, or null for the dataset's default.</summary>
    public int? NumTest { get; init; }

    /// <summary>Epochs the run was asked for.</summary>
    public required int Epochs { get; init; }

    /// <summary>Inputs per minibatch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Update rule.</summary>
    public required string UpdateRule { get; init; }

    /// <summary>Initial learning rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Learning-rate decay per epoch.</summary>
    public required double LrDecay { get; init; }

    /// <summary>L2 regularisation strength.</summary>
    public required double Reg { get; init; }

    /// <summary>Initial weight scale, or null for the model's own initialisation.</summary>
    public double? WeightScale { get; init; }

    /// <summary>Hidden layer sizes, or null.</summary>
    public int[]? HiddenDims { get; init; }

    /// <summary>Iterations between loss lines.</summary>
    public required int PrintEvery { get; init; }

    /// <summary>Seed of the weights and sampling.</summary>
    public required int Seed { get; init; }

    /// <summary>The settings of <paramref name="settings"/> that a resumed run needs.</summary>
    public static CheckpointSettings From(TrainSettings settings) => new()
    {
        Model = settings.ModelName,
        Dataset = settings.DatasetName,
        Dtype = settings.Runtime.DTypeName,
        NumTrain = settings.NumTrain,
        NumVal = settings.NumVal,
        NumTest = settings.NumTest,
        Epochs = settings.Epochs,
        BatchSize = settings.BatchSize,
        UpdateRule = settings.UpdateRule,
        LearningRate = settings.LearningRate,
        LrDecay = settings.LrDecay,
        Reg = settings.Reg,
        WeightScale = settings.WeightScale,
        HiddenDims = settings.HiddenDims,
        PrintEvery = settings.PrintEvery,
        Seed = settings.Runtime.Seed,
    };

    /// <summary>The metadata entry holding these settings.</summary>
    public KeyValuePair<string, string> ToMetadata() => new(MetadataKey, JsonSerializer.Serialize(this, Json));

    /// <summary>The settings stored in a checkpoint's metadata, or null when it holds none (a checkpoint not written by
    /// <c>nnk train</c>).</summary>
    /// <exception cref="InvalidDataException">The entry is there but is not valid settings; the message names the file.</exception>
    public static CheckpointSettings? FromMetadata(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(MetadataKey, out string? json))
            return null;
        try
        {
            return JsonSerializer.Deserialize<CheckpointSettings>(json, Json)
                ?? throw new InvalidDataException($"The checkpoint '{path}' has an empty \"{MetadataKey}\" entry.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint '{path}' has an unreadable \"{MetadataKey}\" entry: {e.Message}", e);
        }
    }
}
