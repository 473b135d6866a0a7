using Nnk;
using Nnk.Cli.Progress;

namespace Nnk.Tests.Cli;

/// <summary>Progress on stderr: a bar redrawn in place on a terminal, plain lines elsewhere, and epoch timing.</summary>
public class ProgressDisplayTests
{
    [Fact]
    public void Report_NotATerminal_WritesPlainLinesWithIterationsAndRate()
    {
        var error = new StringWriter();
        var clock = new TrainingClock(batchSize: 10);
        var display = new ProgressDisplay(error, terminal: false, plainInterval: TimeSpan.Zero, clock);
        clock.Start();

        var progress = new SolverProgress(Iteration: 5, NumIterations: 20, Epoch: 1, Loss: 0.5);
        clock.Observe(progress);
        display.Report(progress);

        Assert.Matches(@"^progress: iteration 5/20 \(25 ?%\), epoch 1, loss 0\.5000, \d+ images/s, ETA \d+:\d\d\r?\n$", error.ToString());
        Assert.DoesNotContain("\r\u001b", error.ToString());
    }

    [Fact]
    public void Report_Terminal_DrawsBarInPlaceAndClearsItForLogLines()
    {
        var error = new StringWriter();
        var output = new StringWriter();
        var clock = new TrainingClock(batchSize: 10);
        var display = new ProgressDisplay(error, terminal: true, plainInterval: TimeSpan.Zero, clock);
        var log = new ProgressAwareWriter(output, display);
        clock.Start();

        display.Report(new SolverProgress(10, 20, 0, 1.25));
        log.WriteLine("(Iteration 11 / 20) loss: 1.250000");
        display.Finish();

        string bar = error.ToString();
        Assert.Contains("\r\u001b[2K[############------------] iteration 10/20", bar);
        Assert.EndsWith("\r\u001b[2K", bar);
        Assert.DoesNotContain("\n", bar);
        Assert.Equal("(Iteration 11 / 20) loss: 1.250000" + Environment.NewLine, output.ToString());
    }

    [Fact]
    public void Observe_RecordsOneTimePerCompletedEpoch()
    {
        var clock = new TrainingClock(batchSize: 4);
        clock.Start();

        clock.Observe(new SolverProgress(1, 6, 0, 1));
        clock.Observe(new SolverProgress(2, 6, 0, 1));
        clock.Observe(new SolverProgress(3, 6, 1, 1));
        clock.Observe(new SolverProgress(6, 6, 2, 1));
        clock.Stop();

        Assert.Equal(2, clock.Epochs);
        Assert.All(clock.EpochSeconds, s => Assert.True(s >= 0));
        Assert.Equal(6, clock.Iterations);
        Assert.True(clock.ImagesPerSecond > 0);
    }
}
