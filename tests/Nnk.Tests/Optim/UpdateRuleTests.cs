using System.Numerics;
using Nnk;

namespace Nnk.Tests.Optim;

/// <summary>
/// The four update rules against the seeds' formulas, written again here as plain double loops,
/// in float and double; their state across steps; allocation; and bad input.
/// </summary>
public class UpdateRuleTests
{
    // Not a multiple of any vector width, so the vectorised loops' tails are exercised too.
    private const int Length = 37;
    private const int Steps = 3;
    private const double DoubleTolerance = 1e-12;
    private const double FloatTolerance = 1e-6;

    public static TheoryData<string> RuleNames => ["sgd", "sgd_momentum", "rmsprop", "adam"];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Rule_ThreeStepsWithDefaults_MatchReference_Float64(string name) =>
        AssertMatchesReference<double>(name, new OptimConfig(), DoubleTolerance);

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Rule_ThreeStepsWithDefaults_MatchReference_Float32(string name) =>
        AssertMatchesReference<float>(name, new OptimConfig(), FloatTolerance);

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Rule_ThreeStepsWithOtherConfig_MatchReference_Float64(string name) =>
        AssertMatchesReference<double>(name, OtherConfig(), DoubleTolerance);

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Rule_ThreeStepsWithOtherConfig_MatchReference_Float32(string name) =>
        AssertMatchesReference<float>(name, OtherConfig(), FloatTolerance);

    // First step by hand, w = 1, dw = 0.5, defaults (learning_rate 1e-2):
    //   sgd:          1 - 0.01*0.5                                    = 0.995
    //   sgd_momentum: v = 0.9*0 - 0.01*0.5 = -0.005; w = 1 + v        = 0.995
    //   rmsprop:      cache = 0.01*0.25 = 0.0025; sqrt = 0.05;
    //                 1 - 0.005/(0.05 + 1e-8) = 1 - 0.1/1.0000002     = 1 - 0.099999980000004 = 0.900000019999996
    //   adam:         m = 0.05, v = 0.00025; mt = 0.5, vt = 0.25;
    //                 1 - 0.01*0.5/(0.5 + 1e-8) = 1 - 0.01/1.00000002 = 1 - 0.0099999998000000040 = 0.990000000199999996
    [Theory]
    [InlineData("sgd", 0.995)]
    [InlineData("sgd_momentum", 0.995)]
    [InlineData("rmsprop", 0.900000019999996)]
    [InlineData("adam", 0.990000000199999996)]
    public void Rule_FirstStep_MatchesHandComputedValue_Float64(string name, double expected)
    {
        double[] w = [1.0];
        UpdateRules.Create<double>(name).Step(w, [0.5]);
        Assert.Equal(expected, w[0], 1e-15);
    }

    [Theory]
    [InlineData("sgd", 0.995)]
    [InlineData("sgd_momentum", 0.995)]
    [InlineData("rmsprop", 0.900000019999996)]
    [InlineData("adam", 0.990000000199999996)]
    public void Rule_FirstStep_MatchesHandComputedValue_Float32(string name, double expected)
    {
        float[] w = [1.0f];
        UpdateRules.Create<float>(name).Step(w, [0.5f]);
        Assert.Equal(expected, w[0], 1e-7);
    }

    // Second step by hand, same dw: v = 0.9*(-0.005) - 0.005 = -0.0095; w = 0.995 - 0.0095 = 0.9855.
    [Fact]
    public void SgdMomentum_KeepsVelocityAcrossSteps()
    {
        double[] w = [1.0];
        IUpdateRule<double> rule = UpdateRules.Create<double>("sgd_momentum");
        rule.Step(w, [0.5]);
        rule.Step(w, [0.5]);
        Assert.Equal(0.9855, w[0], 1e-15);
    }

    // Second step by hand, dw = 1 then 0: m = 0.09, v = 0.000999 and, with t = 2,
    // w -= 0.01 * (0.09/0.19) / (sqrt(0.000999/0.001999) + 1e-8) = 0.0067005...;
    // had t restarted at 1 the step would be 0.01 * 0.9/sqrt(0.999) = 0.0090045...
    [Fact]
    public void Adam_KeepsStepCountAcrossSteps()
    {
        double[] w = [1.0];
        IUpdateRule<double> rule = UpdateRules.Create<double>("adam");
        rule.Step(w, [1.0]);
        double afterFirst = w[0];
        rule.Step(w, [0.0]);
        double expectedStep = 0.01 * (0.09 / 0.19) / (Math.Sqrt(0.000999 / 0.001999) + 1e-8);
        Assert.Equal(afterFirst - expectedStep, w[0], 1e-15);
        Assert.Equal(0.0067005, afterFirst - w[0], 1e-7);
    }

    [Fact]
    public void OptimConfig_Defaults_AreTheSeeds()
    {
        var config = new OptimConfig();
        Assert.Equal(1e-2, config.LearningRate);
        Assert.Equal(0.9, config.Momentum);
        Assert.Equal(0.99, config.DecayRate);
        Assert.Equal(1e-8, config.Epsilon);
        Assert.Equal(0.9, config.Beta1);
        Assert.Equal(0.999, config.Beta2);
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Create_WithoutConfig_UsesDefaultsAndSeedName(string name)
    {
        IUpdateRule<float> rule = UpdateRules.Create<float>(name);
        Assert.Equal(name, rule.Name);
        Assert.Equal(1e-2, rule.Config.LearningRate);
        Assert.Equal(0.999, rule.Config.Beta2);
    }

    [Fact]
    public void Create_ClonesConfig_SoRulesDoNotShareIt()
    {
        var config = new OptimConfig { LearningRate = 0.5 };
        IUpdateRule<double> first = UpdateRules.Create<double>("sgd", config);
        IUpdateRule<double> second = UpdateRules.Create<double>("sgd", config);
        config.LearningRate = 0.25;
        first.Config.LearningRate = 0.125;
        Assert.NotSame(config, first.Config);
        Assert.Equal(0.125, first.Config.LearningRate);
        Assert.Equal(0.5, second.Config.LearningRate);
    }

    [Fact]
    public void Config_ChangedBetweenSteps_TakesEffectAtNextStep()
    {
        double[] w = [1.0];
        IUpdateRule<double> rule = UpdateRules.Create<double>("sgd");
        rule.Step(w, [1.0]);
        rule.Config.LearningRate = 0.5;
        rule.Step(w, [1.0]);
        Assert.Equal(1.0 - 0.01 - 0.5, w[0], 1e-15);
    }

    [Fact]
    public void OptimConfig_Clone_CopiesEveryValue()
    {
        var config = new OptimConfig { LearningRate = 0.3, Momentum = 0.5, DecayRate = 0.6, Epsilon = 1e-6, Beta1 = 0.7, Beta2 = 0.8 };
        OptimConfig clone = config.Clone();
        Assert.NotSame(config, clone);
        Assert.Equal((0.3, 0.5, 0.6, 1e-6, 0.7, 0.8),
            (clone.LearningRate, clone.Momentum, clone.DecayRate, clone.Epsilon, clone.Beta1, clone.Beta2));
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Step_AfterFirstCall_AllocatesNothing(string name)
    {
        IUpdateRule<float> rule = UpdateRules.Create<float>(name);
        float[] w = new float[Length], dw = new float[Length];
        Array.Fill(w, 1f);
        Array.Fill(dw, 0.5f);
        rule.Step(w, dw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            rule.Step(w, dw);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Names_AreTheSeedNames() =>
        Assert.Equal(["sgd", "sgd_momentum", "rmsprop", "adam"], UpdateRules.Names);

    [Theory]
    [InlineData("Adam")]
    [InlineData("sgd-momentum")]
    [InlineData("")]
    public void Create_UnknownName_ThrowsListingKnownNames(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => UpdateRules.Create<float>(name));
        Assert.Equal("name", ex.ParamName);
        foreach (string known in UpdateRules.Names)
            Assert.Contains(known, ex.Message);
    }

    [Fact]
    public void Create_NullName_Throws() =>
        Assert.Throws<ArgumentNullException>(() => UpdateRules.Create<float>(null!));

    [Fact]
    public void Create_UnsupportedElementType_Throws() =>
        Assert.Throws<NotSupportedException>(() => UpdateRules.Create<Half>("sgd"));

    [Theory]
    [InlineData(nameof(OptimConfig.LearningRate), 0.0)]
    [InlineData(nameof(OptimConfig.LearningRate), -1e-3)]
    [InlineData(nameof(OptimConfig.LearningRate), double.NaN)]
    [InlineData(nameof(OptimConfig.LearningRate), double.PositiveInfinity)]
    [InlineData(nameof(OptimConfig.Epsilon), 0.0)]
    [InlineData(nameof(OptimConfig.Epsilon), -1e-8)]
    [InlineData(nameof(OptimConfig.Epsilon), double.PositiveInfinity)]
    [InlineData(nameof(OptimConfig.Momentum), -0.1)]
    [InlineData(nameof(OptimConfig.Momentum), 1.0)]
    [InlineData(nameof(OptimConfig.DecayRate), 1.0)]
    [InlineData(nameof(OptimConfig.DecayRate), double.NaN)]
    [InlineData(nameof(OptimConfig.Beta1), -0.5)]
    [InlineData(nameof(OptimConfig.Beta1), 1.0)]
    [InlineData(nameof(OptimConfig.Beta2), 1.5)]
    public void OptimConfig_BadValue_ThrowsNamingPropertyAndValue(string property, double value)
    {
        var config = new OptimConfig();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Set(config, property, value));
        Assert.Equal(property, ex.ParamName);
        Assert.Equal(value, ex.ActualValue);
        Assert.Contains(property, ex.Message);
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Step_WAndDwOfDifferentLengths_Throws(string name)
    {
        IUpdateRule<double> rule = UpdateRules.Create<double>(name);
        var ex = Assert.Throws<ArgumentException>(() => rule.Step(new double[5], new double[4]));
        Assert.Equal("dw", ex.ParamName);
        Assert.Contains("5", ex.Message);
        Assert.Contains("4", ex.Message);
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Step_LengthDifferentFromFirstStep_Throws(string name)
    {
        IUpdateRule<double> rule = UpdateRules.Create<double>(name);
        rule.Step(new double[6], new double[6]);
        var ex = Assert.Throws<ArgumentException>(() => rule.Step(new double[7], new double[7]));
        Assert.Equal("w", ex.ParamName);
        Assert.Contains("6", ex.Message);
        Assert.Contains("7", ex.Message);
    }

    private static OptimConfig OtherConfig() =>
        new() { LearningRate = 0.05, Momentum = 0.5, DecayRate = 0.9, Epsilon = 1e-4, Beta1 = 0.8, Beta2 = 0.95 };

    private static void Set(OptimConfig config, string property, double value)
    {
        switch (property)
        {
            case nameof(OptimConfig.LearningRate): config.LearningRate = value; break;
            case nameof(OptimConfig.Momentum): config.Momentum = value; break;
            case nameof(OptimConfig.DecayRate): config.DecayRate = value; break;
            case nameof(OptimConfig.Epsilon): config.Epsilon = value; break;
            case nameof(OptimConfig.Beta1): config.Beta1 = value; break;
            case nameof(OptimConfig.Beta2): config.Beta2 = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(property), property, "Not an OptimConfig property.");
        }
    }

    /// <summary>
    /// Runs the rule for <see cref="Steps"/> steps on fixed-seed weights and gradients (rounded to
    /// <typeparamref name="T"/> first, so both sides start from the same numbers) and compares every
    /// element after every step with <see cref="Reference"/>, within <paramref name="tolerance"/>.
    /// </summary>
    private static void AssertMatchesReference<T>(string name, OptimConfig config, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(1234);
        T[] w = new T[Length];
        T[][] grads = new T[Steps][];
        for (int i = 0; i < Length; i++)
            w[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        for (int s = 0; s < Steps; s++)
        {
            grads[s] = new T[Length];
            for (int i = 0; i < Length; i++)
                grads[s][i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        }

        double[][] expected = Reference(name, config, ToDouble(w), grads.Select(ToDouble).ToArray());
        IUpdateRule<T> rule = UpdateRules.Create<T>(name, config);
        for (int s = 0; s < Steps; s++)
        {
            rule.Step(w, grads[s]);
            for (int i = 0; i < Length; i++)
                Assert.Equal(expected[s][i], double.CreateChecked(w[i]), tolerance);
        }
    }

    private static double[] ToDouble<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T> =>
        values.Select(double.CreateChecked).ToArray();

    /// <summary>The seeds' optim.py, element by element in double; returns w after each step.</summary>
    private static double[][] Reference(string name, OptimConfig c, double[] w0, double[][] grads)
    {
        int n = w0.Length;
        double[] w = (double[])w0.Clone();
        double[] a = new double[n], b = new double[n];
        var after = new double[grads.Length][];
        for (int t = 1; t <= grads.Length; t++)
        {
            double[] dw = grads[t - 1];
            for (int i = 0; i < n; i++)
            {
                switch (name)
                {
                    case "sgd":
                        w[i] -= c.LearningRate * dw[i];
                        break;
                    case "sgd_momentum":
                        a[i] = c.Momentum * a[i] - c.LearningRate * dw[i];
                        w[i] += a[i];
                        break;
                    case "rmsprop":
                        a[i] = c.DecayRate * a[i] + (1 - c.DecayRate) * dw[i] * dw[i];
                        w[i] -= c.LearningRate * dw[i] / (Math.Sqrt(a[i]) + c.Epsilon);
                        break;
                    case "adam":
                        a[i] = c.Beta1 * a[i] + (1 - c.Beta1) * dw[i];
                        b[i] = c.Beta2 * b[i] + (1 - c.Beta2) * dw[i] * dw[i];
                        double mt = a[i] / (1 - Math.Pow(c.Beta1, t));
                        double vt = b[i] / (1 - Math.Pow(c.Beta2, t));
                        w[i] -= c.LearningRate * mt / (Math.Sqrt(vt) + c.Epsilon);
                        break;
                    default:
                        throw new ArgumentOutOfRangeException(nameof(name), name, "Not a rule name.");
                }
            }
            after[t - 1] = (double[])w.Clone();
        }
        return after;
    }
}
