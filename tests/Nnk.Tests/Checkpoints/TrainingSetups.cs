using System.Numerics;
using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>Small models, synthetic data and solver options the checkpoint tests train, all on the managed backend.</summary>
internal static class TrainingSetups
{
    public const int Classes = 3;
    public const int Features = 6;

    /// <summary>Three Gaussian blobs in 6 dimensions, centres 3 apart: 120 training and 30 validation inputs.</summary>
    public static SolverData<T> Blobs<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        (Tensor<T> xTrain, int[] yTrain) = Blob<T>(120, seed: 21);
        (Tensor<T> xVal, int[] yVal) = Blob<T>(30, seed: 22);
        return new SolverData<T>(xTrain, yTrain, xVal, yVal);
    }

    /// <summary>The blobs as 1x4x4 images (16 features), for the convolutional model.</summary>
    public static SolverData<double> Images()
    {
        (Tensor<double> xTrain, int[] yTrain) = Blob<double>(60, seed: 23, features: 16);
        (Tensor<double> xVal, int[] yVal) = Blob<double>(20, seed: 24, features: 16);
        return new SolverData<double>(xTrain.Reshape([60, 1, 4, 4]), yTrain, xVal.Reshape([20, 1, 4, 4]), yVal);
    }

    /// <summary>Two hidden layers of 12 and 10 units with batch norm (and optionally dropout), seeded.</summary>
    public static FullyConnectedNet<T> Net<T>(double dropoutKeepRatio = 1.0, int[]? hiddenDims = null)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(hiddenDims ?? [12, 10], Features, Classes, dropoutKeepRatio, NormalizationKind.BatchNorm, reg: 1e-3,
            weightScale: 0.1, seed: 5, kernels: Kernels.For<T>(Backend.Managed));

    /// <summary>conv 4 3x3 pad 1 - spatial batch norm - relu - avg pool 2x2 - affine 8 - batch norm - relu - affine 3.</summary>
    public static Sequential<double> ConvNet()
    {
        IKernels<double> kernels = Kernels.For<double>(Backend.Managed);
        ILayer<double>[] layers =
        [
            new Conv2dLayer<double>(1, 4, 3, new ConvParam(stride: 1, pad: 1), 0.3, seed: 1, kernels),
            new SpatialBatchNormLayer<double>(4, kernels),
            new ReluLayer<double>(kernels),
            new AvgPool2dLayer<double>(new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2), kernels),
            new AffineLayer<double>(4 * 2 * 2, 8, 0.3, seed: 2, kernels),
            new BatchNormLayer<double>(8, kernels),
            new ReluLayer<double>(kernels),
            new AffineLayer<double>(8, Classes, 0.3, seed: 3, kernels),
        ];
        return new Sequential<double>(layers, [1, 4, 4], reg: 1e-3, kernels);
    }

    /// <summary>Quiet options that exercise every piece of state: decay, accuracy subsampling (which draws from
    /// the generator) and the given rule.</summary>
    public static SolverOptions Options(string updateRule, int numEpochs = 4, string? checkpointDirectory = null) => new()
    {
        UpdateRule = updateRule,
        OptimConfig = new OptimConfig { LearningRate = updateRule is "sgd" or "sgd_momentum" ? 0.05 : 5e-3 },
        LrDecay = 0.9,
        BatchSize = 20,
        NumEpochs = numEpochs,
        NumTrainSamples = 50,
        NumValSamples = 25,
        Verbose = false,
        Seed = 3,
        CheckpointDirectory = checkpointDirectory,
    };

    private static (Tensor<T> X, int[] Y) Blob<T>(int n, int seed, int features = Features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Tensor<T>.RandN([n, features], seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % Classes;
            x[i, y[i]] += T.CreateChecked(3.0);
        }
        return (x, y);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its callback on the training thread, at once.</summary>
internal sealed class ImmediateProgress(Action<SolverProgress> report) : IProgress<SolverProgress>
{
    public void Report(SolverProgress value) => report(value);
}
