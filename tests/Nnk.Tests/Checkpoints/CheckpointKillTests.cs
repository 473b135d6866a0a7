using System.Diagnostics;
using Nnk.Tests.Cli;
using Nnk.Tests.Data;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// Crash safety of checkpoints, the hard way: an <c>nnk train</c> process writing a checkpoint
/// every epoch (an epoch is one tiny iteration, so writes come back to back) is killed with
/// SIGKILL at random moments, many times, each run resuming the last. After every kill the latest
/// complete checkpoint must load, and at the end a resumed run must finish normally.
/// </summary>
public class CheckpointKillTests
{
    private const int Kills = 12;

    [Fact]
    public async Task SigkillWhileWritingCheckpoints_LatestCheckpointAlwaysLoadsAndResumes()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path, train: 120, test: 20);
        string checkpoints = Path.Combine(temp.Path, "checkpoints");
        var random = new Random(20261201);
        int killedWithCheckpoint = 0, lastEpoch = 0;

        for (int kill = 0; kill < Kills; kill++)
        {
            string? latest = Latest(checkpoints);
            using Process process = Start(latest is null ? ["--checkpoint", checkpoints] : ["--checkpoint", checkpoints, "--resume", checkpoints],
                epochs: 1_000_000);
            // Past the runtime's start-up (about 0.3-1 s here), into the stream of checkpoint writes.
            _ = process.StandardOutput.ReadToEndAsync();
            await Task.Delay(random.Next(700, 2500));
            process.Kill();   // SIGKILL on Linux: no handler, no flush, no cleanup
            await process.WaitForExitAsync();

            latest = Latest(checkpoints);
            if (latest is null)
                continue;
            killedWithCheckpoint++;
            SafeTensorsFile file = SafeTensors.Read(latest);   // throws on a torn or corrupt file
            int epoch = int.Parse(file.Metadata["epoch"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(epoch >= lastEpoch, $"the latest checkpoint went back from epoch {lastEpoch} to {epoch}");
            lastEpoch = epoch;
        }

        Assert.True(killedWithCheckpoint >= Kills / 2,
            $"only {killedWithCheckpoint} of {Kills} killed runs had written a checkpoint; the kills came too early to test anything");
        using Process finish = Start(["--checkpoint", checkpoints, "--resume", checkpoints], epochs: lastEpoch + 3);
        string output = await finish.StandardOutput.ReadToEndAsync();
        await finish.WaitForExitAsync();
        Assert.True(finish.ExitCode == 0, $"resuming from epoch {lastEpoch} failed with exit {finish.ExitCode}:\n{output}");
        Assert.Contains("Test accuracy:", output);
    }

    private static string? Latest(string directory) => Checkpoint.FindLatest(directory, "fc-net");

    private static Process Start(string[] extra, int epochs)
    {
        var start = new ProcessStartInfo(NnkExecutable.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string data = Path.GetDirectoryName(extra[1])!;
        foreach (string arg in new[] { "train", "--model", "fc-net", "--data", data, "--num-train", "100", "--num-val", "20",
                     "--num-test", "20", "--batch-size", "100", "--hidden-dims", "8", "--epochs", $"{epochs}", "--quiet",
                     "--dtype", "float64", "--backend", "managed", "--threads", "1" })
            start.ArgumentList.Add(arg);
        foreach (string arg in extra)
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        // Drain stderr so a chatty process never blocks on a full pipe (stdout is read by the caller or below).
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }
}
