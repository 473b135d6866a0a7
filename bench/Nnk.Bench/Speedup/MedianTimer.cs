using System.Diagnostics;

namespace Nnk.Bench.Speedup;

/// <summary>Median wall time of repeated calls after warm-up, within a time budget (the machines are shared and noisy; medians resist that).</summary>
public static class MedianTimer
{
    public static double MedianMilliseconds(Action call, int warmup, int minSamples, int maxSamples, TimeSpan budget)
    {
        for (int i = 0; i < warmup; i++)
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
