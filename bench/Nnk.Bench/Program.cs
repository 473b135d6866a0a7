using BenchmarkDotNet.Running;
using Nnk.Bench.Speedup;

// `speedup ...` runs the harness; anything else goes to BenchmarkDotNet (for example --filter '*Conv*').
if (args.Length > 0 && args[0] == "speedup")
    return SpeedupHarness.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(SpeedupHarness).Assembly).Run(args);
return 0;
