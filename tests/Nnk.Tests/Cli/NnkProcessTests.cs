using System.Diagnostics;
using Nnk.Tests.Data;

namespace Nnk.Tests.Cli;

/// <summary>The built <c>nnk</c> executable runs as a process: its apphost, libnnk, BLAS and SkiaSharp's native
/// library all load from the build output.</summary>
public class NnkProcessTests
{
    [Fact]
    public async Task BuiltExecutable_TrainsWithPlotsAndJson_Exit0()
    {
        using var temp = new TempDirectory();
        PatternDigits.Write(temp.Path);
        string json = Path.Combine(temp.Path, "run.json");
        string plots = Path.Combine(temp.Path, "plots");
        var start = new ProcessStartInfo(NnkExecutable.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "train", "--model", "fc-net", "--data", temp.Path, "--num-train", "250", "--num-val", "50",
                     "--num-test", "50", "--epochs", "1", "--hidden-dims", "16", "--json", json, "--plots", plots })
            start.ArgumentList.Add(arg);

        using Process process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Task<string> error = process.StandardError.ReadToEndAsync(timeout.Token);
        string output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output}\n{await error}");
        Assert.Contains("Test accuracy:", output);
        Assert.True(File.Exists(json));
        Png.AssertValid(Path.Combine(plots, "training.png"));
    }
}
