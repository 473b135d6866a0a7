using Nnk.Bench.Speedup;

namespace Nnk.Tests.Bench;

/// <summary>`Nnk.Bench summarize` takes medians over rounds and marks each row against the targets.</summary>
public sealed class PeerSummaryTests
{
    private static SpeedupRow Row(string shape, string pass, int threads, double nativeMs, double? peerMs, double? ceiling, string unit = "GFLOP/s") =>
        new(shape, pass, threads, "openblas", null, null, nativeMs, null, null, 0, unit, peerMs, ceiling);

    [Fact]
    public void Median_OddAndEvenCounts() =>
        Assert.Equal((2.0, 2.5), (PeerSummary.Median([3, 1, 2]), PeerSummary.Median([4, 1, 3, 2])));

    [Fact]
    public void Format_TakesMediansOverRounds_AndMarksTargets()
    {
        // conv_3l forward: 481.7 MFLOP; median nnk 8 ms = 60.2 GFLOP/s, 60 % of a 100 GFLOP/s ceiling (target 75).
        SpeedupRow[] rows =
        [
            Row("conv_3l", "forward", 1, 8, 10, 100), Row("conv_3l", "forward", 1, 20, 11, 100), Row("conv_3l", "forward", 1, 7, 9, 100),
            Row("train_3l", "step", 1, 7, 10, null, "steps/s"),
        ];

        string text = PeerSummary.Format(rows, rounds: 3);

        Assert.Contains("### 1 thread(s), medians of 3 round(s)", text);
        // The rounds' own ratios: 8/10, 20/11 and 7/9.
        Assert.Contains("| conv_3l | forward | 8.00 | 10.00 | 0.80 | 0.78-1.82 | <= 0.8 met | 60.2 GFLOP/s | 100.0 | 60 | >= 75 **missed** |", text);
        // A training step must reach 0.67x; it has no ceiling. One round gives one ratio.
        Assert.Contains("| train_3l | step | 7.00 | 10.00 | 0.70 | 0.70 | <= 0.67 **missed** |", text);
    }

    [Fact]
    public void Format_PercentOfCeiling_PairsEachRoundWithItsOwnCeiling()
    {
        // conv_3l forward, 481.7 MFLOP: 60.2 GFLOP/s of 100 (60 %), 24.1 of 50 (48 %), 68.8 of 80 (86 %).
        // The median of the rounds' % is 60; the median rate over the median ceiling would read 75.
        SpeedupRow[] rows =
        [
            Row("conv_3l", "forward", 1, 8, 10, 100), Row("conv_3l", "forward", 1, 20, 11, 50), Row("conv_3l", "forward", 1, 7, 9, 80),
        ];

        string text = PeerSummary.Format(rows, rounds: 3);

        Assert.Contains("| conv_3l | forward | 8.00 | 10.00 | 0.80 | 0.78-1.82 | <= 0.8 met | 60.2 GFLOP/s | 80.0 | 60 | >= 75 **missed** |", text);
    }

    [Fact]
    public void Format_WithoutPeerTimes_LeavesTheRatiosEmpty()
    {
        SpeedupRow[] rows = [Row("conv_3l", "forward", 2, 8, null, 100), Row("conv_3l", "forward", 2, 9, null, 100)];

        string text = PeerSummary.Format(rows, rounds: 2);

        Assert.Contains("### 2 thread(s), medians of 2 round(s)", text);
        Assert.Contains("| conv_3l | forward | 8.50 | - | - | - | - |", text);
    }

    [Fact]
    public void Run_WithoutFiles_PrintsUsageAndFails() => Assert.Equal(2, PeerSummary.Run([]));

    [Fact]
    public void Run_MissingFile_Fails() => Assert.Equal(1, PeerSummary.Run([Path.Combine(Path.GetTempPath(), "nnk-no-such-file.json")]));
}
