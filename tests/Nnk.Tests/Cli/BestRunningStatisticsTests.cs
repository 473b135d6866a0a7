using Nnk;
using Nnk.Cli.Progress;
using Nnk.Cli.Train;

namespace Nnk.Tests.Cli;

/// <summary>The command puts back the batch-norm running statistics of the check whose parameters the solver keeps.</summary>
public class BestRunningStatisticsTests
{
    [Fact]
    public void Restore_AfterTraining_RunningStatisticsAreThoseOfTheBestCheck()
    {
        // Random inputs and labels: validation accuracy wanders, so the best check is not the last one.
        var model = new FullyConnectedNet<double>([8], inputDim: 6, numClasses: 3, normalization: NormalizationKind.BatchNorm,
            weightScale: 0.5, seed: 1);
        var data = new SolverData<double>(Tensor<double>.RandN([60, 6], seed: 2), Labels(60, 3), Tensor<double>.RandN([30, 6], seed: 4),
            Labels(30, 5));
        var atChecks = new List<double[]>();
        Solver<double>? solver = null;
        BestRunningStatistics<double>? best = null;
        int checks = 0;
        solver = new Solver<double>(model, data, new SolverOptions
        {
            UpdateRule = "adam",
            BatchSize = 10,
            NumEpochs = 8,
            Verbose = false,
            Progress = new CallbackProgress<SolverProgress>(_ =>
            {
                best!.Observe(solver!);
                if (solver!.ValAccHistory.Count > checks)
                {
                    checks = solver.ValAccHistory.Count;
                    atChecks.Add(model.BatchNormParams[0].RunningMean!.Span.ToArray());
                }
            }),
        });
        best = new BestRunningStatistics<double>(model, solver);

        solver.Train();
        best.Restore();

        double[] val = solver.ValAccHistory.ToArray();
        int kept = Array.IndexOf(val, val.Max());
        Assert.True(kept < val.Length - 1, $"the best check should come before the last for this test to mean anything; val_acc {string.Join(", ", val)}");
        Assert.Equal(atChecks[kept], model.BatchNormParams[0].RunningMean!.Span.ToArray());
        Assert.NotEqual(atChecks[^1], atChecks[kept]);
    }

    private static int[] Labels(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(3)).ToArray();
    }
}
