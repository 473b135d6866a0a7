using System.Diagnostics;

namespace Nnk.Tests.Interop;

/// <summary>The generated bindings must match native/include/nnk.h (DESIGN.md, Interop).</summary>
public class BindingsDriftTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public void GeneratedBindings_MatchHeader()
    {
        var (exitCode, output) = RunGenerator("--check");

        Assert.True(exitCode == 0,
            $"interop/Nnk.Interop/Generated is out of date with native/include/nnk.h (exit code {exitCode}); " +
            $"run `/usr/bin/python3 interop/generate_bindings.py`.\n{output}");
    }

    [Fact]
    public void Check_FailsWithDiff_WhenHeaderParameterTypeChanges()
    {
        string header = File.ReadAllText(Path.Combine(RepoRoot, "native", "include", "nnk.h"));
        const string original = "nnk_set_num_threads(int32_t num_threads)";
        Assert.Contains(original, header);
        string directory = Directory.CreateTempSubdirectory("nnk-drift-").FullName;
        try
        {
            string changed = Path.Combine(directory, "nnk.h");
            File.WriteAllText(changed, header.Replace(original, "nnk_set_num_threads(int64_t num_threads)"));

            var (exitCode, output) = RunGenerator("--header", changed, "--check");

            Assert.True(exitCode == 1, $"expected exit code 1 from --check, got {exitCode}:\n{output}");
            Assert.Contains("+    public static partial nnk_status nnk_set_num_threads([NativeTypeName(\"int64_t\")] long num_threads);", output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string RepoRoot => RepositoryRoot.Path;

    private static (int ExitCode, string Output) RunGenerator(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        start.ArgumentList.Add(Path.Combine(RepoRoot, "interop", "generate_bindings.py"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException("generate_bindings.py did not finish within 2 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
