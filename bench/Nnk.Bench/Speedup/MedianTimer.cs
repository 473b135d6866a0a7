using System.Diagnostics;

namespace Nnk.Bench.Speedup;

/// <summary>Median wall time of repeated calls after warm-up, within a time budget (the machines are shared and noisy; medians resist that).</summary>
public static class MedianTimer
{
    // .NET's tiered JIT runs a method's first calls unoptimised and swaps in optimised code only after
    // about 30 calls and a quiet spell of 100 ms, so two warm-up calls timed a short managed kernel's
    // tier-0 code: pool_seed backward 0.95 ms, against 0.11 ms optimised.
    private static readonly TimeSpan WarmupTime = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// The median of at least <paramref name="minSamples"/> and at most <paramref name="maxSamples"/>
    /// timed calls, sampled for up to <paramref name="budget"/>; before them, with
    /// <paramref name="warmup"/> > 0, at least that many calls and for at least 300 ms.
    /// </summary>
    public static double MedianMilliseconds(Action call, int warmup, int minSamples, int maxSamples, TimeSpan budget)
    {
        var warming = Stopwatch.StartNew();
        for (int i = 0; i < warmup || (warmup > 0 && warming.Elapsed < WarmupTime); i++)
            call();
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (samples.Count < minSamples || (samples.Count < maxSamples && total.Elapsed < budget))
        {
            long start = Stopwatch.GetTimestamp();
            call();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        samples.Sort();
        int mid = samples.Count / 2;
        return samples.Count % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
    }
}
