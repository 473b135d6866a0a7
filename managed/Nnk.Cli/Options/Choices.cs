using Nnk.Cli.Train;

namespace Nnk.Cli.Options;

/// <summary>The names the command line accepts for each enumerated value, in the order help lists them,
/// and the way back from a value to its name.</summary>
internal static class Choices
{
    /// <summary>Models <c>nnk train</c> can build.</summary>
    public static readonly IReadOnlyDictionary<string, ModelKind> Models = new Dictionary<string, ModelKind>
    {
        ["mnist-bn-cnn"] = ModelKind.MnistBnCnn,
        ["three-layer-convnet"] = ModelKind.ThreeLayerConvNet,
        ["fc-net"] = ModelKind.FcNet,
    };

    /// <summary>Datasets the loaders read.</summary>
    public static readonly IReadOnlyDictionary<string, DatasetKind> Datasets = new Dictionary<string, DatasetKind>
    {
        ["mnist"] = DatasetKind.Mnist,
        ["fashion-mnist"] = DatasetKind.FashionMnist,
        ["cifar10"] = DatasetKind.Cifar10,
    };

    /// <summary>Kernel backends.</summary>
    public static readonly IReadOnlyDictionary<string, Backend> Backends = new Dictionary<string, Backend>
    {
        ["native"] = Backend.Native,
        ["managed"] = Backend.Managed,
    };

    /// <summary>Element types.</summary>
    public static readonly IReadOnlyDictionary<string, DType> DTypes = new Dictionary<string, DType>
    {
        ["float32"] = DType.Float32,
        ["float64"] = DType.Float64,
    };

    /// <summary>The command-line name of <paramref name="value"/> in <paramref name="choices"/>.</summary>
    public static string NameOf<T>(IReadOnlyDictionary<string, T> choices, T value) where T : struct =>
        choices.First(pair => EqualityComparer<T>.Default.Equals(pair.Value, value)).Key;
}
