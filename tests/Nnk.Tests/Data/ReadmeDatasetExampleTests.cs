using Nnk;

namespace Nnk.Tests.Data;

/// <summary>The README's dataset example, on a small generated MNIST set: the splits feed a Solver as shown.</summary>
public class ReadmeDatasetExampleTests
{
    [Fact]
    public void ReadmeDatasetExample_SplitsPrintTheirShapesAndTrainASolver()
    {
        using var dir = new TempDirectory();
        SyntheticData.WriteMnist(dir.Path, train: 60, test: 20);
        var model = new FullyConnectedNet<float>([16], inputDim: 28 * 28, numClasses: 10, seed: 1);
        var solverOptions = new SolverOptions { NumEpochs = 1, BatchSize = 10, Verbose = false };

        var splits = Nnk.Datasets.LoadMnist<float>(dir.Path, new DataSplitOptions { NumTraining = 50, NumValidation = 10, NumTest = 20 });
        var solver = new Nnk.Solver<float>(model, splits.ToSolverData(), solverOptions);
        solver.Train();

        Assert.Equal("Mnist: train (50, 1, 28, 28), val (10, 1, 28, 28), test (20, 1, 28, 28)", splits.ToString());
        Assert.Equal(5, solver.LossHistory.Count);
    }
}
