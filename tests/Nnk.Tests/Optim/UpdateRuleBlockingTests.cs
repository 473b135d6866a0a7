using Nnk;

namespace Nnk.Tests.Optim;

/// <summary>
/// A large parameter's step runs in blocks shared out over threads. Every rule is element-wise, so
/// each element must come out bit for bit as it does when stepped alone, at one thread and at two:
/// checked on the elements at block edges (blocks of 2048) and at adam's and rmsprop's parallel
/// threshold (65536; sgd and sgd_momentum share out only larger parameters, so they run blocked on one thread here).
/// In the NumThreads collection, which runs alone, because it changes the thread count.
/// </summary>
[Collection("NumThreads")]
public class UpdateRuleBlockingTests
{
    // Past the parallel threshold and not a multiple of the block length: a short last block.
    private const int Length = 100_003;
    private static readonly int[] s_probes = [0, 1, 2047, 2048, 2049, 4095, 65535, 65536, 98303, 98304, Length - 1];

    public static TheoryData<string> RuleNames => ["sgd", "sgd_momentum", "rmsprop", "adam"];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void LargeParameter_EveryElementAsIfSteppedAlone_AtOneAndTwoThreads(string name)
    {
        int saved = NnkRuntime.NumThreads;
        try
        {
            float[] alone = StepProbesAlone(name);
            foreach (int threads in new[] { 1, 2 })
            {
                NnkRuntime.NumThreads = threads;
                float[] w = Steps(name, Length, index => index);
                for (int k = 0; k < s_probes.Length; k++)
                    Assert.True(alone[k] == w[s_probes[k]],
                        $"{name}, {threads} thread(s): element {s_probes[k]} is {w[s_probes[k]]:R}, stepped alone {alone[k]:R}");
            }
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void LargeParameter_StepAtTwoThreads_AllocatesNothing(string name)
    {
        int saved = NnkRuntime.NumThreads;
        try
        {
            NnkRuntime.NumThreads = 2;
            IUpdateRule<float> rule = UpdateRules.Create<float>(name);
            float[] w = new float[Length], dw = new float[Length];
            Array.Fill(w, 1f);
            Array.Fill(dw, 0.5f);
            rule.Step(w, dw);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++)
                rule.Step(w, dw);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            NnkRuntime.NumThreads = saved;
        }
    }

    // The probes stepped as one small parameter, on one thread, with the same values.
    private static float[] StepProbesAlone(string name) => Steps(name, s_probes.Length, k => s_probes[k]);

    // Three steps of a parameter whose element k holds the values of element index(k) of the large
    // parameter: w and dw vary from element to element and from step to step.
    private static float[] Steps(string name, int length, Func<int, int> index)
    {
        IUpdateRule<float> rule = UpdateRules.Create<float>(name, new OptimConfig { LearningRate = 0.05 });
        float[] w = new float[length], dw = new float[length];
        for (int k = 0; k < length; k++)
            w[k] = MathF.Sin(index(k) * 0.37f);
        for (int step = 0; step < 3; step++)
        {
            for (int k = 0; k < length; k++)
                dw[k] = MathF.Cos(index(k) * 0.11f + step);
            rule.Step(w, dw);
        }
        return w;
    }
}
