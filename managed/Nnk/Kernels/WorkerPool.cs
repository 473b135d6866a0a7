using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Nnk;

/// <summary>The body of a chunked loop: runs items [start, end) as worker <paramref name="worker"/>, reading its inputs from <paramref name="state"/>.</summary>
internal delegate void ChunkBody<TState>(in TState state, int worker, int start, int end) where TState : struct;

/// <summary>
/// Splits a loop over items into contiguous chunks, one per worker, so each worker can own a slice of
/// scratch space. Allocation-free in steady state, so a training step allocates nothing: bodies are
/// static lambdas (cached by the compiler) that get their inputs as a struct, the job object that
/// carries them is cached per calling thread, and the helpers are <see cref="HelperThreads"/>, not the
/// .NET thread pool (whose queues allocate now and then).
/// </summary>
internal static class WorkerPool
{
    /// <summary>Test seam, null outside tests: run by the worker that has just counted a loop's last
    /// chunk, before it signals the caller (WorkerPoolLateSignalTests holds that worker back there).</summary>
    internal static Action? LastChunkCounted;

    /// <summary>Runs body(state, worker, start, end) for <paramref name="workers"/> contiguous chunks of [0, count);
    /// the calling thread runs chunks too, and the call returns when every chunk has finished.</summary>
    /// <exception cref="Exception">The first exception a chunk threw, rethrown after every chunk has finished.</exception>
    public static void ForChunks<TState>(int count, int workers, in TState state, ChunkBody<TState> body)
        where TState : struct
    {
        workers = Math.Clamp(workers, 1, Math.Max(count, 1));
        if (workers == 1)
        {
            body(state, 0, 0, count);
            return;
        }
        ChunkJob<TState> job = ChunkJob<TState>.Rent();
        try
        {
            job.Run(count, workers, state, body);
        }
        finally
        {
            ChunkJob<TState>.Return(job);
        }
    }
}

/// <summary>
/// One chunked loop in flight. Workers (the caller and helper threads) claim chunk indices from a
/// shared counter, so the caller never waits for a chunk nobody has started: a helper that picks the
/// job up late finds every chunk claimed and does nothing, even if the job has been reused meanwhile.
/// </summary>
internal sealed class ChunkJob<TState> : IChunkWork where TState : struct
{
    [ThreadStatic]
    private static ChunkJob<TState>? t_cached;

    // Far above any worker count and far below overflow: a stale work item claims nothing.
    private const int Exhausted = int.MaxValue / 2;

    // Kernel events and Lock rather than Monitor-based primitives: a monitor that the GC deflated
    // allocates again when it is next waited on.
    private readonly ManualResetEvent _done = new(false);
    private TState _state;
    private ChunkBody<TState>? _body;
    private int _count;
    private int _workers;
    private int _next;
    private int _finished;
    private Exception? _error;

    private ChunkJob()
    {
        _next = Exhausted;
    }

    /// <summary>This thread's cached job, or a new one when it is in use (a nested loop).</summary>
    public static ChunkJob<TState> Rent()
    {
        ChunkJob<TState>? job = t_cached;
        if (job is null)
            return new ChunkJob<TState>();
        t_cached = null;
        return job;
    }

    public static void Return(ChunkJob<TState> job) => t_cached = job;

    public void Run(int count, int workers, in TState state, ChunkBody<TState> body)
    {
        _state = state;
        _body = body;
        _count = count;
        _workers = workers;
        _finished = 0;
        _error = null;
        _done.Reset();
        // Publishes the fields above: a claim that sees the reset counter also sees this loop.
        Interlocked.Exchange(ref _next, 0);
        HelperThreads.Post(this, workers - 1);

        ClaimChunks();
        // The counter, not the event, says when this loop is done: the last worker of an earlier
        // loop of this job counts its chunk and then sets the event, and if it is preempted in
        // between, its Set can land after this loop's Reset and wake this wait while chunks still
        // run (seen: 1 loop in ~8000 returned early under load, its chunks then writing to memory
        // the caller had stopped pinning).
        if (!HelperThreads.SpinUntil(ref _finished, workers))
            while (Volatile.Read(ref _finished) < workers)
            {
                _done.WaitOne();
                _done.Reset();
            }
        // Exhausted again: a work item still queued must not claim a chunk of the next loop before it is published.
        Interlocked.Exchange(ref _next, Exhausted);
        _body = null;
        _state = default;
        if (_error is Exception error)
            ExceptionDispatchInfo.Throw(error);
    }

    public void ClaimChunks()
    {
        int worker;
        while ((worker = Interlocked.Increment(ref _next) - 1) < _workers)
        {
            try
            {
                int start = (int)((long)_count * worker / _workers);
                int end = (int)((long)_count * (worker + 1) / _workers);
                _body!(_state, worker, start, end);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            if (Interlocked.Increment(ref _finished) == _workers)
            {
                WorkerPool.LastChunkCounted?.Invoke();
                _done.Set();
            }
        }
    }
}

/// <summary>Work a helper thread can join: it claims and runs chunks until none are left.</summary>
internal interface IChunkWork
{
    void ClaimChunks();
}

/// <summary>
/// Background threads that run posted <see cref="IChunkWork"/>: one queue under a lock, a semaphore
/// counting posts, and as many threads as the widest loop so far needed. Posting allocates only when
/// the queue or the thread count grows.
/// </summary>
internal static class HelperThreads
{
    private static readonly Lock s_lock = new();
    private static readonly Semaphore s_posted = new(0, int.MaxValue);
    // Roomy from the start: posts pile up while helpers are starved of CPU, and growing allocates.
    private static IChunkWork?[] s_queue = new IChunkWork?[256];
    private static int s_head;
    private static int s_count;
    private static int s_threads;

    /// <summary>Asks <paramref name="helpers"/> helper threads to join <paramref name="work"/>.</summary>
    public static void Post(IChunkWork work, int helpers)
    {
        lock (s_lock)
        {
            while (s_threads < helpers)
                StartThread();
            if (s_count + helpers > s_queue.Length)
                Grow(s_count + helpers);
            for (int i = 0; i < helpers; i++)
                s_queue[(s_head + s_count++) % s_queue.Length] = work;
        }
        s_posted.Release(helpers);
    }

    private static void Grow(int needed)
    {
        var queue = new IChunkWork?[Math.Max(needed, 2 * s_queue.Length)];
        for (int i = 0; i < s_count; i++)
            queue[i] = s_queue[(s_head + i) % s_queue.Length];
        s_queue = queue;
        s_head = 0;
    }

    private static void StartThread()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = $"nnk worker {++s_threads}" };
        thread.Start();
    }

    // How long a waiting thread spins before it blocks (none under OMP_WAIT_POLICY=passive, which
    // native's OpenMP threads follow too): a blocked thread wakes tens of microseconds after it is
    // signalled, longer than a short kernel's chunk, and a training step's kernels come back to back.
    // Settable for tests (WorkerPoolLateSignalTests), which need a caller that spins and one that waits.
    internal static long SpinTicks { get; set; } =
        string.Equals(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), "passive", StringComparison.OrdinalIgnoreCase)
            ? 0
            : Stopwatch.Frequency / 5000;

    /// <summary>Spins for up to 200 µs until <paramref name="counter"/> reaches <paramref name="target"/>; whether it did.</summary>
    public static bool SpinUntil(ref int counter, int target)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref counter) < target)
        {
            if (Stopwatch.GetTimestamp() >= deadline)
                return false;
            Thread.SpinWait(16);
        }
        return true;
    }

    // The next post: spinning for a while first, then blocked.
    private static void WaitForPost()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            // A hint read outside the lock; the semaphore decides who takes the post.
            if (Volatile.Read(ref s_count) > 0 && s_posted.WaitOne(0))
                return;
            Thread.SpinWait(16);
        }
        s_posted.WaitOne();
    }

    private static void Run()
    {
        while (true)
        {
            WaitForPost();
            IChunkWork work;
            lock (s_lock)
            {
                work = s_queue[s_head]!;
                s_queue[s_head] = null;
                s_head = (s_head + 1) % s_queue.Length;
                s_count--;
            }
            work.ClaimChunks();
        }
    }
}
