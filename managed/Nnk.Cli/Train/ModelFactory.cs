using System.Numerics;

namespace Nnk.Cli.Train;

/// <summary>Builds the model <see cref="TrainSettings"/> names for inputs of a given shape.</summary>
internal static class ModelFactory
{
    /// <summary>The input shape the MNIST BN-CNN is built for.</summary>
    public static readonly int[] MnistBnCnnInput = [1, 28, 28];

    /// <summary>Why <paramref name="model"/> cannot take inputs of <paramref name="inputShape"/>, or null when it can.</summary>
    public static string? Incompatibility(ModelKind model, IReadOnlyList<int> inputShape) =>
        model == ModelKind.MnistBnCnn && !inputShape.SequenceEqual(MnistBnCnnInput)
            ? $"mnist-bn-cnn takes inputs (1, 28, 28), but the dataset's are ({string.Join(", ", inputShape)}); " +
              "use three-layer-convnet or fc-net"
            : null;

    /// <summary>Creates the model with fresh weights seeded by the settings' seed.</summary>
    /// <param name="settings">Model, weight scale, hidden sizes, regularisation and seed.</param>
    /// <param name="inputShape">(C, H, W) of one input.</param>
    /// <param name="numClasses">Classes scored.</param>
    /// <param name="kernels">Backend the model runs on.</param>
    /// <exception cref="ArgumentException">The model cannot take inputs of <paramref name="inputShape"/>.</exception>
    public static IModel<T> Create<T>(TrainSettings settings, int[] inputShape, int numClasses, IKernels<T> kernels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Incompatibility(settings.Model, inputShape) is string problem)
            throw new ArgumentException(problem + ".", nameof(inputShape));
        int seed = settings.Runtime.Seed;
        return settings.Model switch
        {
            ModelKind.MnistBnCnn => Sequential<T>.MnistBnCnn(seed, settings.WeightScale, settings.Reg, kernels),
            ModelKind.ThreeLayerConvNet => new ThreeLayerConvNet<T>(inputShape, hiddenDim: settings.HiddenDims![0],
                numClasses: numClasses, weightScale: settings.WeightScale ?? 1e-3, reg: settings.Reg, seed: seed, kernels: kernels),
            ModelKind.FcNet => new FullyConnectedNet<T>(settings.HiddenDims!, inputDim: inputShape.Aggregate(1, (a, b) => a * b),
                numClasses: numClasses, reg: settings.Reg, weightScale: settings.WeightScale ?? 1e-2, seed: seed, kernels: kernels),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Model, "Unknown model."),
        };
    }
}
