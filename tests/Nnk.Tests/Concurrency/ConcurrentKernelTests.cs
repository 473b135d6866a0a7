using Nnk;

namespace Nnk.Tests.Concurrency;

/// <summary>
/// The library called from several managed threads at once, each with its own buffers: every
/// result equals the one computed alone, and an error message reports the failing thread's own
/// numbers, never another thread's. Also: buffers stay pinned correctly while the GC compacts.
/// </summary>
[Collection("NumThreads")]
public class ConcurrentKernelTests
{
    private const int Threads = 8;
    private const int Rounds = 6;

    public static TheoryData<Backend> FastBackends => new() { Backend.Native, Backend.Managed };

    [Theory]
    [MemberData(nameof(FastBackends))]
    public void EightThreads_RunningEveryKernelFamily_MatchSingleThreadedResults_Float64(Backend backend)
    {
        IKernels<double> kernels = Kernels.For<double>(backend);
        var expected = Enumerable.Range(0, Threads).Select(t => RunAll(kernels, seed: 100 + t)).ToArray();

        var actual = new double[Threads][][];
        var failures = new Exception?[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int round = 0; round < Rounds; round++)
                    actual[t] = RunAll(kernels, seed: 100 + t);
            }
            catch (Exception e)
            {
                failures[t] = e;
            }
        })).ToArray();
        foreach (Thread thread in threads)
            thread.Start();
        foreach (Thread thread in threads)
            thread.Join();

        for (int t = 0; t < Threads; t++)
        {
            Assert.Null(failures[t]);
            for (int i = 0; i < expected[t].Length; i++)
                Assert.True(expected[t][i].AsSpan().SequenceEqual(actual[t][i]),
                    $"thread {t}, output {i}: differs from the single-threaded result");
        }
    }

    [Theory]
    [MemberData(nameof(FastBackends))]
    public void EightThreads_FailingAtOnce_EachGetsItsOwnErrorMessage(Backend backend)
    {
        IKernels<float> kernels = Kernels.For<float>(backend);
        var messages = new string?[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 50; round++)
            {
                // Thread t gives y a length of 1000 + t: the message must name that length.
                int n = 2, d = 3, m = 4;
                var ex = Record.Exception(() => kernels.Gemm(false, false, n, m, d, 1f, new float[n * d], new float[d * m],
                    0f, new float[1000 + t]));
                messages[t] = ex?.Message;
                if (ex is null || !ex.Message.Contains($"{1000 + t}"))
                    return;
            }
        })).ToArray();
        foreach (Thread thread in threads)
            thread.Start();
        foreach (Thread thread in threads)
            thread.Join();

        for (int t = 0; t < Threads; t++)
        {
            Assert.NotNull(messages[t]);
            Assert.Contains($"{1000 + t}", messages[t]);
            for (int other = 0; other < Threads; other++)
                if (other != t)
                    Assert.DoesNotContain($"{1000 + other}", messages[t]);
        }
    }

    // Arrays move when the GC compacts; every native call must pin what it reads and writes.
    [Fact]
    public void NativeCalls_WhileTheGcCompactsContinuously_GiveUnchangedResults_Float64()
    {
        IKernels<double> kernels = Kernels.For<double>(Backend.Native);
        double[][] expected = RunAll(kernels, seed: 7);
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            var garbage = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                garbage.Add(new byte[4096]);
                if (garbage.Count > 256)
                    garbage.RemoveRange(0, 128);
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                // A breather between collections: back to back, they starved the calls under test
                // for minutes on a loaded machine; a compaction every millisecond still lands in
                // the middle of every call.
                Thread.Sleep(1);
            }
        });
        collector.Start();
        try
        {
            for (int round = 0; round < 20; round++)
            {
                double[][] actual = RunAll(kernels, seed: 7);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"round {round}, output {i} changed under GC");
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    // One of each kernel family on inputs drawn from seed: conv, pooling, batch and group norm,
    // gemm, relu and the softmax loss, forward and backward. Fresh arrays every call.
    private static double[][] RunAll(IKernels<double> kernels, int seed)
    {
        var x = Tensor<double>.RandN([3, 4, 9, 8], seed);
        var w = Tensor<double>.RandN([5, 4, 3, 3], seed + 1);
        var b = Tensor<double>.RandN([5], seed + 2);
        var (conv, convCache) = Conv2d.Forward(x, w, b, new ConvParam(stride: 1, pad: 1), kernels);
        var (dx, dw, db) = Conv2d.Backward(Tensor<double>.RandN(conv.Shape, seed + 3), convCache);

        var (pooled, poolCache) = MaxPool2d.Forward(conv, new PoolParam(poolHeight: 2, poolWidth: 2, stride: 2), kernels);
        Tensor<double> dpool = MaxPool2d.Backward(Tensor<double>.RandN(pooled.Shape, seed + 4), poolCache);

        var bnParam = new BatchNormParam<double>();
        var gamma = Tensor<double>.RandN([5], seed + 5);
        var beta = Tensor<double>.RandN([5], seed + 6);
        var (bn, bnCache) = SpatialBatchNorm.Forward(conv, gamma, beta, bnParam, kernels);
        var (dbn, dgamma, dbeta) = SpatialBatchNorm.Backward(Tensor<double>.RandN(bn.Shape, seed + 7), bnCache);

        var (gn, gnCache) = GroupNorm.Forward(x, Tensor<double>.Ones([4]), Tensor<double>.Zeros([4]), groups: 2,
            kernels: kernels);
        var (dgn, _, _) = GroupNorm.Backward(Tensor<double>.RandN(gn.Shape, seed + 8), gnCache);

        var flat = Tensor<double>.RandN([6, 10], seed + 9);
        var weights = Tensor<double>.RandN([10, 7], seed + 10);
        var scores = new double[6 * 7];
        kernels.Gemm(false, false, 6, 7, 10, 1.0, flat.Span, weights.Span, 0.0, scores);
        var relu = new double[scores.Length];
        kernels.ReluForward(scores, relu);
        var dscores = new double[scores.Length];
        int[] labels = [0, 1, 2, 3, 4, 5];
        double loss = kernels.SoftmaxLoss(6, 7, relu, labels, dscores);

        return
        [
            conv.Span.ToArray(), dx.Span.ToArray(), dw.Span.ToArray(), db.Span.ToArray(), pooled.Span.ToArray(),
            dpool.Span.ToArray(), bn.Span.ToArray(), dbn.Span.ToArray(), dgamma.Span.ToArray(), dbeta.Span.ToArray(),
            bnParam.RunningMean!.Span.ToArray(), gn.Span.ToArray(), dgn.Span.ToArray(), relu, dscores, [loss],
        ];
    }
}
