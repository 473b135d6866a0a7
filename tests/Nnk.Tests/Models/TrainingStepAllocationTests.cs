using Nnk;
using Xunit.Abstractions;

namespace Nnk.Tests.Models;

/// <summary>
/// A training step at a fixed batch size allocates nothing, on both backends. In the NumThreads
/// collection, which runs alone: another class changing the thread count mid-measurement would
/// make the managed kernels set up new helper threads and jobs, which allocate once.
/// </summary>
[Collection("NumThreads")]
public class TrainingStepAllocationTests(ITestOutputHelper output)
{
    public static TheoryData<Backend> NativeAndManaged => new() { Backend.Native, Backend.Managed };

    // The bytes one training step allocates on the calling thread after warm-up: nothing on either backend
    // (the managed kernels' parallel loops hand their work to pool threads without allocating).
    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void MnistBnCnnStep_AtFixedBatchSize_AllocatesNothing_Float32(Backend backend)
    {
        var model = Sequential<float>.MnistBnCnn(kernels: Kernels.For<float>(backend));
        var (xd, y) = RandomBatch(n: 32, [1, 28, 28], classes: 10, seed: 1);
        double perStep = BytesPerStep(model, xd.Cast<float>(), y);

        output.WriteLine($"{backend}: {perStep} bytes per training step (N = 32, float32)");
        Assert.True(perStep == 0, $"a training step allocated {perStep} bytes; its buffers should be reused");
    }

    // The seeds' network keeps its buffers between steps: after warm-up a step allocates nothing.
    [Theory]
    [MemberData(nameof(NativeAndManaged))]
    public void ThreeLayerConvNetStep_AtFixedBatchSize_AllocatesNothing_Float32(Backend backend)
    {
        var model = new ThreeLayerConvNet<float>(inputDim: [3, 16, 16], numFilters: 4, filterSize: 3, hiddenDim: 7,
            kernels: Kernels.For<float>(backend));
        var (xd, y) = RandomBatch(n: 8, [3, 16, 16], classes: 10, seed: 1);

        Assert.Equal(0.0, BytesPerStep(model, xd.Cast<float>(), y));
    }

    // Every hidden-layer variant of the seeds' fully connected net, with and without dropout; the
    // unseeded case draws a fresh mask every step, the seeded one the same mask every step.
    public static TheoryData<Backend, NormalizationKind, double, int?> FullyConnectedNetCases
    {
        get
        {
            var data = new TheoryData<Backend, NormalizationKind, double, int?>();
            foreach (Backend backend in new[] { Backend.Native, Backend.Managed })
            {
                foreach (NormalizationKind normalization in Enum.GetValues<NormalizationKind>())
                    data.Add(backend, normalization, 1.0, 1);
                data.Add(backend, NormalizationKind.None, 0.5, 1);
                data.Add(backend, NormalizationKind.BatchNorm, 0.5, 1);
                data.Add(backend, NormalizationKind.LayerNorm, 0.5, null);
            }
            return data;
        }
    }

    // Inputs (N, 3, 8, 8) flattened by the net to 192 features, as the Solver hands it image batches.
    [Theory]
    [MemberData(nameof(FullyConnectedNetCases))]
    public void FullyConnectedNetStep_AtFixedBatchSize_AllocatesNothing_Float32(
        Backend backend, NormalizationKind normalization, double keepRatio, int? seed)
    {
        var model = new FullyConnectedNet<float>([40, 30], inputDim: 3 * 8 * 8, numClasses: 10, dropoutKeepRatio: keepRatio,
            normalization: normalization, reg: 0.1, weightScale: 5e-2, seed: seed, kernels: Kernels.For<float>(backend));
        var (xd, y) = RandomBatch(n: 16, [3, 8, 8], classes: 10, seed: 1);
        double perStep = BytesPerStep(model, xd.Cast<float>(), y);

        output.WriteLine($"{backend}, {normalization}, keep {keepRatio}, seed {seed?.ToString() ?? "none"}: {perStep} bytes per step");
        Assert.True(perStep == 0, $"a training step allocated {perStep} bytes; its buffers should be reused");
    }

    // The bytes the calling thread allocates per training step after 3 steps of warm-up: the fewest of
    // three blocks of 20 steps (not rounded: one allocation in a block makes it nonzero). A one-time
    // allocation can still fall into a block after warm-up when the machine is loaded, such as the
    // calling thread's first blocking wait for the pool's helpers (its wait state, once per thread) or
    // the pool's queue growing while its helpers are starved of CPU (seen once: 87.6 bytes per step,
    // with a build running beside the suite). A step that allocates shows in every block.
    private static double BytesPerStep(IModel<float> model, Tensor<float> x, int[] y)
    {
        for (int i = 0; i < 3; i++)
            model.Loss(x, y);
        const int steps = 20;
        double fewest = double.MaxValue;
        for (int block = 0; block < 3; block++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++)
                model.Loss(x, y);
            fewest = Math.Min(fewest, (double)(GC.GetAllocatedBytesForCurrentThread() - before) / steps);
        }
        return fewest;
    }

    private static (Tensor<double> X, int[] Y) RandomBatch(int n, int[] inputDim, int classes, int seed)
    {
        var x = Tensor<double>.RandN([n, .. inputDim], seed);
        var rng = new Random(seed);
        int[] y = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        return (x, y);
    }
}
