using BenchmarkDotNet.Running;
using Nnk.Bench.Speedup;

// `speedup ...` runs the harness, `summarize ...` takes the medians of several of its rounds; anything else goes to BenchmarkDotNet (for example --filter '*Conv*').
if (args.Length > 0 && args[0] == "speedup")
    return SpeedupHarness.Run(args[1..]);
if (args.Length > 0 && args[0] == "summarize")
    return PeerSummary.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(SpeedupHarness).Assembly).Run(args);
return 0;
