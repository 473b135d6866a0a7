using System.Diagnostics;
using Nnk;

namespace Nnk.Tests.Concurrency;

/// <summary>No other test runs beside these: they hold back one of the shared helper threads and set
/// how long callers spin.</summary>
[CollectionDefinition("WorkerPoolSeam", DisableParallelization = true)]
public class WorkerPoolSeamCollection
{
}

/// <summary>
/// A loop ends when its own chunks have: a worker of the loop before that counted its chunk but was
/// slow to signal must not end the next loop of the same job early. That happened while the caller
/// waited on the event rather than on the count: the next loop returned while its chunks still ran
/// (under load, about one loop in 8000), and a kernel's chunks then wrote through pointers the
/// caller no longer pinned.
/// </summary>
[Collection("WorkerPoolSeam")]
public class WorkerPoolLateSignalTests
{
    [Fact]
    public void ForChunks_AWorkerOfTheLoopBeforeSignalsLate_TheNextLoopStillWaitsForItsOwnChunks()
    {
        int caller = Environment.CurrentManagedThreadId;
        long spin = HelperThreads.SpinTicks;
        // Three helper threads: one held back below, two for the next loop.
        WorkerPool.ForChunks(4, 4, 0, static (in _, _, _, _) => Thread.Sleep(1));
        using var release = new ManualResetEventSlim(false);
        int armed = 0, held = 0, early = 0;
        WorkerPool.LastChunkCounted = () =>
        {
            if (Environment.CurrentManagedThreadId == caller || Interlocked.Exchange(ref armed, 0) != 1)
                return;
            Interlocked.Increment(ref held);
            release.Wait(TimeSpan.FromSeconds(1));
        };
        try
        {
            for (int attempt = 0; attempt < 20; attempt++)
            {
                release.Reset();
                Volatile.Write(ref armed, 1);
                int heldBefore = Volatile.Read(ref held);
                // Both loops run on one job (the caller's cached job of this state type), whose event the
                // late worker signals. In the first the caller spins as long as it takes: the helpers'
                // chunks end after its own, the last of them is counted and held back before it
                // signals, and the caller sees the count.
                var done = new int[3];
                HelperThreads.SpinTicks = Stopwatch.Frequency;
                WorkerPool.ForChunks(3, 3, (caller, done, release, false), Chunk);
                bool exercised = Volatile.Read(ref held) > heldBefore;
                // In the second the caller waits at once; a helper lets the held worker signal, then
                // runs on for 60 ms.
                HelperThreads.SpinTicks = 0;
                Array.Clear(done);
                WorkerPool.ForChunks(3, 3, (caller, done, release, true), Chunk);
                release.Set();
                if (exercised && done.Sum() != 3)
                    early++;
            }
        }
        finally
        {
            WorkerPool.LastChunkCounted = null;
            HelperThreads.SpinTicks = spin;
        }
        Assert.True(held > 0, "no attempt held back the worker that counted a loop's last chunk");
        Assert.Equal(0, early);
    }

    private static void Chunk(in (int Caller, int[] Done, ManualResetEventSlim Release, bool Second) a, int worker,
        int start, int end)
    {
        if (Environment.CurrentManagedThreadId == a.Caller)
        {
            Busy(2000);
        }
        else if (!a.Second)
        {
            Thread.Sleep(5);
        }
        else
        {
            Thread.Sleep(5);
            a.Release.Set();
            Thread.Sleep(60);
        }
        Volatile.Write(ref a.Done[worker], 1);
    }

    // Spins for the given microseconds (a sleep would give the thread up for a millisecond or more).
    private static void Busy(int microseconds)
    {
        long end = Stopwatch.GetTimestamp() + Stopwatch.Frequency * microseconds / 1_000_000;
        while (Stopwatch.GetTimestamp() < end)
            Thread.SpinWait(1);
    }
}
