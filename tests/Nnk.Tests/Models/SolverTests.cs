using System.Numerics;
using System.Text.RegularExpressions;
using Nnk;

namespace Nnk.Tests.Models;

/// <summary>
/// The Solver against the seeds' <c>Solver</c>: training a softmax regression on separable blobs,
/// learning-rate decay, history lengths, restoring the best parameters, the log format, stopping on
/// a non-finite loss, cancellation, <c>check_accuracy</c> on known scores, and bad input.
/// </summary>
public class SolverTests
{
    private const int Classes = 3;
    private const int Features = 4;
    private const int NumTrain = 300;
    private const int NumVal = 60;

    [Fact]
    public void Train_SeparableBlobs_ReducesLossAndReachesValAccAbove90Percent_Float64()
    {
        var model = new SoftmaxRegression<double>(Features, Classes);
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 5, batchSize: 30, learningRate: 0.1));

        solver.Train();

        double first = solver.LossHistory.Take(5).Average(), last = solver.LossHistory.TakeLast(5).Average();
        Assert.True(last < 0.5 * first, $"mean loss of the last 5 iterations {last} should be under half of the first 5's {first}");
        Assert.True(solver.BestValAcc > 0.9, $"best validation accuracy {solver.BestValAcc} should exceed 0.9");
    }

    [Fact]
    public void Train_SeparableBlobs_ReachesValAccAbove90Percent_Float32()
    {
        var model = new SoftmaxRegression<float>(Features, Classes);
        var solver = new Solver<float>(model, Blobs<float>(), Quiet(numEpochs: 5, batchSize: 30, learningRate: 0.1));

        solver.Train();

        Assert.True(solver.BestValAcc > 0.9, $"best validation accuracy {solver.BestValAcc} should exceed 0.9");
    }

    // sgd with a constant gradient of 1 moves w by exactly the learning rate, so each step shows the
    // rate in force: 2 iterations per epoch, rate 0.1 halved at every epoch end.
    [Fact]
    public void Train_LrDecay_MultipliesLearningRateByDecayAtEveryEpochEnd()
    {
        var model = new ConstantGradientModel();
        var options = Quiet(numEpochs: 4, batchSize: 2, learningRate: 0.1);
        options.LrDecay = 0.5;
        var solver = new Solver<double>(model, ConstantGradientModel.Data(4), options);

        solver.Train();

        double[] steps = model.WeightsSeen.Zip(model.WeightsSeen.Skip(1), (before, after) => before - after).ToArray();
        double[] expected = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125];
        Assert.Equal(expected.Length, steps.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], steps[i], 1e-15);
        Assert.Equal(4, solver.Epoch);
    }

    [Fact]
    public void Train_Histories_HaveOneLossPerIterationAndOneAccuracyPerEpochPlusOne()
    {
        var model = new SoftmaxRegression<double>(Features, Classes);
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 3, batchSize: 40, learningRate: 0.1));

        solver.Train();

        Assert.Equal(3 * (NumTrain / 40), solver.NumIterations);
        Assert.Equal(solver.NumIterations, solver.LossHistory.Count);
        Assert.Equal(4, solver.TrainAccHistory.Count);
        Assert.Equal(4, solver.ValAccHistory.Count);
        Assert.Equal(solver.ValAccHistory.Max(), solver.BestValAcc);
    }

    [Fact]
    public void Train_End_ModelHoldsBestParams()
    {
        var model = new SoftmaxRegression<double>(Features, Classes);
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 3, batchSize: 30, learningRate: 0.1));

        solver.Train();

        Assert.Equal(model.Params.Keys.Order(), solver.BestParams.Keys.Order());
        foreach ((string name, Tensor<double> w) in model.Params)
            Assert.Equal(solver.BestParams[name].Span.ToArray(), w.Span.ToArray());
    }

    // Class 0 is predicted while w > -0.15: true after the first step (w = -0.1), false from the
    // second on, so the best parameters are the first check's, far from where training ends.
    [Fact]
    public void Train_ValAccFallsAfterFirstCheck_RestoresParamsOfFirstCheck()
    {
        var model = new ConstantGradientModel();
        var solver = new Solver<double>(model, ConstantGradientModel.Data(4), Quiet(numEpochs: 3, batchSize: 2, learningRate: 0.1));

        solver.Train();

        Assert.Equal([1.0, 0.0, 0.0, 0.0], solver.ValAccHistory);
        Assert.Equal(1.0, solver.BestValAcc);
        Assert.Equal(-0.5, model.WeightsSeen[^1], 1e-15);
        Assert.Equal(-0.1, model.Params["w"][0], 1e-15);
    }

    [Fact]
    public void Train_Verbose_WritesSeedFormatLines()
    {
        var model = new SoftmaxRegression<double>(Features, Classes);
        var log = new StringWriter();
        var options = Quiet(numEpochs: 2, batchSize: 30, learningRate: 0.1);
        options.Verbose = true;
        options.PrintEvery = 4;
        options.Log = log;
        var solver = new Solver<double>(model, Blobs<double>(), options);

        solver.Train();

        string[] lines = log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        var iteration = new Regex(@"^\(Iteration (\d+) / 20\) loss: \d+\.\d{6}$");
        var epoch = new Regex(@"^\(Epoch (\d+) / 2\) train acc: [01]\.\d{6}; val_acc: [01]\.\d{6}$");
        Assert.All(lines, line => Assert.True(iteration.IsMatch(line) || epoch.IsMatch(line), $"unexpected line \"{line}\""));
        // Zero weights give equal scores, so the first loss is ln(3).
        Assert.Equal("(Iteration 1 / 20) loss: 1.098612", lines[0]);
        Assert.StartsWith("(Epoch 0 / 2) train acc: ", lines[1]);
        Assert.Equal(["1", "5", "9", "13", "17"],
            lines.Select(l => iteration.Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value));
        Assert.Equal(["0", "1", "2"], lines.Select(l => epoch.Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value));
    }

    [Fact]
    public void Train_NotVerbose_WritesNothing()
    {
        var log = new StringWriter();
        var options = Quiet(numEpochs: 1, batchSize: 30, learningRate: 0.1);
        options.Log = log;
        new Solver<double>(new SoftmaxRegression<double>(Features, Classes), Blobs<double>(), options).Train();

        Assert.Equal("", log.ToString());
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void Train_NonFiniteLossAtIteration17_StopsRestoresBestAndThrows(double badLoss, string shown)
    {
        var model = new SoftmaxRegression<double>(Features, Classes) { BadLoss = badLoss, BadLossAtCall = 17 };
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 20, batchSize: 30, learningRate: 0.1));

        var error = Assert.Throws<InvalidOperationException>(() => solver.Train());

        Assert.StartsWith($"loss became {shown} at iteration 17 / 200", error.Message);
        Assert.Equal(17, solver.LossHistory.Count);
        Assert.NotEmpty(solver.BestParams);
        foreach ((string name, Tensor<double> w) in model.Params)
            Assert.Equal(solver.BestParams[name].Span.ToArray(), w.Span.ToArray());
    }

    [Fact]
    public void Train_NaNLossAtFirstIteration_KeepsParamsAndThrows()
    {
        var model = new SoftmaxRegression<double>(Features, Classes) { BadLoss = double.NaN, BadLossAtCall = 1 };
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 1, batchSize: 30, learningRate: 0.1));

        var error = Assert.Throws<InvalidOperationException>(() => solver.Train());

        Assert.StartsWith("loss became NaN at iteration 1 / 10", error.Message);
        Assert.Empty(solver.BestParams);
        Assert.All(model.Params.Values, w => Assert.All(w.Span.ToArray(), v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void Train_CancelledAfterFiveIterations_ThrowsAndKeepsCurrentParams()
    {
        using var cancellation = new CancellationTokenSource();
        var model = new SoftmaxRegression<double>(Features, Classes);
        model.OnTrainingCall = call =>
        {
            if (call == 5)
                cancellation.Cancel();
        };
        var solver = new Solver<double>(model, Blobs<double>(), Quiet(numEpochs: 2, batchSize: 30, learningRate: 0.1));

        Assert.Throws<OperationCanceledException>(() => solver.Train(cancellation.Token));

        // The fifth update (sgd, rate 0.1) ran before the token was checked, and nothing was restored.
        Assert.Equal(5, solver.LossHistory.Count);
        double[] current = model.Params["W"].Span.ToArray();
        double[] expected = model.WeightsSeen[^1].Zip(model.LastDw, (w, dw) => w - 0.1 * dw).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], current[i], 1e-15);
        Assert.NotEqual(solver.BestParams["W"].Span.ToArray(), current);
    }

    // Scores are the inputs themselves; rows 0, 2 and 4 have their label's score highest (row 3 ties
    // classes 0 and 2 and counts as 0), so 3 of 5 are right, in batches of 2, 2 and 1.
    [Fact]
    public void CheckAccuracy_KnownScoresInBatchesWithTail_IsFractionCorrect()
    {
        double[] scores =
        [
            0.9, 0.1, 0.0,
            0.2, 0.3, 0.5,
            0.0, 0.0, 1.0,
            0.4, 0.1, 0.4,
            0.1, 0.8, 0.1,
        ];
        var x = Tensor<double>.FromArray(scores, [5, 3]);
        int[] y = [0, 1, 2, 2, 1];
        var solver = new Solver<double>(new IdentityScoresModel(), new SolverData<double>(x, y, x, y), Quiet(1, 5, 0.1));

        Assert.Equal(0.6, solver.CheckAccuracy(x, y, batchSize: 2), 1e-15);
        Assert.Equal(0.6, solver.CheckAccuracy(x, y, numSamples: 5), 1e-15);
    }

    [Fact]
    public void CheckAccuracy_NumSamplesBelowN_UsesThatManySamples()
    {
        var x = Tensor<double>.FromArray([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [4, 2]);
        int[] right = [0, 0, 0, 0], wrong = [1, 1, 1, 1];
        var model = new IdentityScoresModel();
        var solver = new Solver<double>(model, new SolverData<double>(x, right, x, right), Quiet(1, 4, 0.1));

        Assert.Equal(1.0, solver.CheckAccuracy(x, right, numSamples: 3));
        Assert.Equal(3, model.RowsScored);
        Assert.Equal(0.0, solver.CheckAccuracy(x, wrong, numSamples: 3));
    }

    [Fact]
    public void SolverOptions_BatchSizeZero_Throws()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SolverOptions { BatchSize = 0 });
        Assert.Equal("BatchSize", error.ParamName);
    }

    [Fact]
    public void SolverOptions_UnknownUpdateRule_ThrowsListingKnownRules()
    {
        var error = Assert.Throws<ArgumentException>(() => new SolverOptions { UpdateRule = "adagrad" });
        Assert.Equal("UpdateRule", error.ParamName);
        Assert.Contains("adagrad", error.Message);
        Assert.Contains("sgd, sgd_momentum, rmsprop, adam", error.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void SolverOptions_LrDecayOutsideUnitInterval_Throws(double decay) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SolverOptions { LrDecay = decay });

    [Fact]
    public void SolverData_TrainLabelCountDiffersFromInputs_Throws()
    {
        var x = new Tensor<double>([5, 2]);
        var error = Assert.Throws<ArgumentException>(() => new SolverData<double>(x, new int[4], x, new int[5]));
        Assert.Equal("yTrain", error.ParamName);
        Assert.Contains("4 labels", error.Message);
        Assert.Contains("(5, 2)", error.Message);
    }

    [Fact]
    public void SolverData_ValLabelCountDiffersFromInputs_Throws()
    {
        var x = new Tensor<double>([5, 2]);
        var error = Assert.Throws<ArgumentException>(() => new SolverData<double>(x, new int[5], x, new int[6]));
        Assert.Equal("yVal", error.ParamName);
    }

    [Fact]
    public void SolverData_ValInputsOfOtherShape_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new SolverData<double>(new Tensor<double>([5, 2]), new int[5], new Tensor<double>([5, 3]), new int[5]));
        Assert.Equal("xVal", error.ParamName);
    }

    [Fact]
    public void Train_CalledTwice_Throws()
    {
        var solver = new Solver<double>(new SoftmaxRegression<double>(Features, Classes), Blobs<double>(), Quiet(1, 30, 0.1));
        solver.Train();

        Assert.Throws<InvalidOperationException>(() => solver.Train());
    }

    private static SolverOptions Quiet(int numEpochs, int batchSize, double learningRate) => new()
    {
        NumEpochs = numEpochs,
        BatchSize = batchSize,
        OptimConfig = new OptimConfig { LearningRate = learningRate },
        Verbose = false,
        Seed = 1,
    };

    /// <summary>Three Gaussian blobs (unit variance) around centres 6 apart: 300 training and 60 validation inputs.</summary>
    private static SolverData<T> Blobs<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        (Tensor<T> xTrain, int[] yTrain) = Blob<T>(NumTrain, seed: 11);
        (Tensor<T> xVal, int[] yVal) = Blob<T>(NumVal, seed: 12);
        return new SolverData<T>(xTrain, yTrain, xVal, yVal);
    }

    private static (Tensor<T> X, int[] Y) Blob<T>(int n, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Tensor<T>.RandN([n, Features], seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % Classes;
            x[i, y[i]] += T.CreateChecked(6.0);
        }
        return (x, y);
    }

    /// <summary>scores = x W + b with a softmax loss, from zero weights; can return a chosen loss at one call.</summary>
    private sealed class SoftmaxRegression<T> : IModel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Dictionary<string, Tensor<T>> _params;
        private int _trainingCalls;

        public SoftmaxRegression(int features, int classes) => _params = new()
        {
            ["W"] = new Tensor<T>([features, classes]),
            ["b"] = new Tensor<T>([classes]),
        };

        public IReadOnlyDictionary<string, Tensor<T>> Params => _params;

        /// <summary>Loss returned instead of the true one at training call <see cref="BadLossAtCall"/> (1-based).</summary>
        public double BadLoss { get; init; }

        public int BadLossAtCall { get; init; }

        /// <summary>Called with the 1-based training call number before the call returns.</summary>
        public Action<int>? OnTrainingCall { get; set; }

        /// <summary>A copy of W at every training call, before the solver's update from that call.</summary>
        public List<T[]> WeightsSeen { get; } = [];

        /// <summary>The gradient of W returned by the latest training call.</summary>
        public T[] LastDw { get; private set; } = [];

        public LossResult<T> Loss(Tensor<T> x, int[]? y)
        {
            var (scores, cache) = Affine.Forward(x, _params["W"], _params["b"]);
            if (y is null)
                return new LossResult<T>(double.NaN, new Dictionary<string, Tensor<T>>(), scores);

            _trainingCalls++;
            WeightsSeen.Add(_params["W"].Span.ToArray());
            var (loss, dscores) = Nnk.Loss.Softmax(scores, y);
            var (_, dw, db) = Affine.Backward(dscores, cache);
            LastDw = dw.Span.ToArray();
            OnTrainingCall?.Invoke(_trainingCalls);
            return new LossResult<T>(_trainingCalls == BadLossAtCall ? BadLoss : loss,
                new Dictionary<string, Tensor<T>> { ["W"] = dw, ["b"] = db }, null);
        }
    }

    /// <summary>
    /// One parameter w (initially 0) with loss 1 and gradient 1 whatever the input; records w at every
    /// training call. Scores (N, 2) are (w, -0.15) per row, so class 0 wins while w > -0.15.
    /// </summary>
    private sealed class ConstantGradientModel : IModel<double>
    {
        private readonly Dictionary<string, Tensor<double>> _params = new() { ["w"] = new Tensor<double>([1]) };

        public IReadOnlyDictionary<string, Tensor<double>> Params => _params;

        public List<double> WeightsSeen { get; } = [];

        /// <summary>n inputs of one feature, all labelled 0, as both training and validation sets.</summary>
        public static SolverData<double> Data(int n)
        {
            var x = new Tensor<double>([n, 1]);
            return new SolverData<double>(x, new int[n], x, new int[n]);
        }

        public LossResult<double> Loss(Tensor<double> x, int[]? y)
        {
            double w = _params["w"][0];
            if (y is null)
            {
                var scores = new Tensor<double>([x.Shape[0], 2]);
                for (int i = 0; i < x.Shape[0]; i++)
                {
                    scores[i, 0] = w;
                    scores[i, 1] = -0.15;
                }
                return new LossResult<double>(double.NaN, new Dictionary<string, Tensor<double>>(), scores);
            }
            WeightsSeen.Add(w);
            return new LossResult<double>(1.0, new Dictionary<string, Tensor<double>> { ["w"] = Tensor<double>.Ones([1]) }, null);
        }
    }

    /// <summary>Returns its input (N, C) as the scores and counts the rows scored; one unused parameter.</summary>
    private sealed class IdentityScoresModel : IModel<double>
    {
        public IReadOnlyDictionary<string, Tensor<double>> Params { get; } =
            new Dictionary<string, Tensor<double>> { ["unused"] = new Tensor<double>([1]) };

        public int RowsScored { get; private set; }

        public LossResult<double> Loss(Tensor<double> x, int[]? y)
        {
            if (y is not null)
                return new LossResult<double>(0.0, new Dictionary<string, Tensor<double>> { ["unused"] = new Tensor<double>([1]) }, null);
            RowsScored += x.Shape[0];
            return new LossResult<double>(double.NaN, new Dictionary<string, Tensor<double>>(), x.Clone());
        }
    }
}
