namespace Nnk;

/// <summary>Splits a loop over items into contiguous chunks, one per worker, so each worker can own a slice of scratch space.</summary>
internal static class WorkerPool
{
    /// <summary>Runs body(worker, start, end) for <paramref name="workers"/> contiguous chunks of [0, count).</summary>
    public static void ForChunks(int count, int workers, Action<int, int, int> body)
    {
        workers = Math.Clamp(workers, 1, Math.Max(count, 1));
        if (workers == 1)
        {
            body(0, 0, count);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            int start = (int)((long)count * worker / workers);
            int end = (int)((long)count * (worker + 1) / workers);
            body(worker, start, end);
        });
    }
}
