using Nnk;

namespace Nnk.Tests.Concurrency;

/// <summary>
/// The managed kernels' worker pool: every item of a loop runs once, in contiguous chunks, one per
/// worker; loops that follow each other at once (helpers still spinning from the last one) all
/// complete; a chunk's exception reaches the caller after every chunk has finished.
/// </summary>
public class WorkerPoolTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 3)]
    [InlineData(7, 1)]
    [InlineData(10, 2)]
    [InlineData(11, 4)]
    public void ForChunks_RunsEveryItemOnceInContiguousChunks(int count, int workers)
    {
        var visits = new int[count];
        var owners = new int[count];
        WorkerPool.ForChunks(count, workers, (visits, owners), static (in args, worker, start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref args.visits[i]);
                args.owners[i] = worker;
            }
        });
        Assert.All(visits, v => Assert.Equal(1, v));
        for (int i = 1; i < count; i++)
            Assert.True(owners[i] >= owners[i - 1], $"item {i} of worker {owners[i]} after worker {owners[i - 1]}");
    }

    [Fact]
    public void ForChunks_ThousandsOfLoopsBackToBack_AllComplete()
    {
        var sums = new long[2];
        for (int loop = 0; loop < 5000; loop++)
        {
            sums[0] = sums[1] = 0;
            WorkerPool.ForChunks(64, 2, ValueTuple.Create(sums), static (in args, worker, start, end) =>
            {
                for (int i = start; i < end; i++)
                    args.Item1[worker] += i;
            });
            Assert.Equal(63 * 64 / 2, sums[0] + sums[1]);
        }
    }

    [Fact]
    public void ForChunks_AChunkThrows_TheCallerGetsItAfterEveryChunkFinished()
    {
        var finished = new int[1];
        var error = Assert.Throws<InvalidOperationException>(() =>
            WorkerPool.ForChunks(4, 4, ValueTuple.Create(finished), static (in args, worker, _, _) =>
            {
                if (worker == 1)
                    throw new InvalidOperationException("chunk 1");
                Thread.Sleep(20);
                Interlocked.Increment(ref args.Item1[0]);
            }));
        Assert.Equal("chunk 1", error.Message);
        Assert.Equal(3, Volatile.Read(ref finished[0]));
    }

    [Fact]
    public void SpinUntil_ReachedCounter_ReturnsTrue_UnreachedOne_GivesUp()
    {
        int counter = 3;
        Assert.True(HelperThreads.SpinUntil(ref counter, 3));
        Assert.False(HelperThreads.SpinUntil(ref counter, 4));
    }
}
