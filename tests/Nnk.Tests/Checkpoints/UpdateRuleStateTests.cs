using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// What checkpoints need from the update rules: named state and a step count that, copied into a
/// fresh rule, make it continue exactly as the original.
/// </summary>
public class UpdateRuleStateTests
{
    private const int Length = 37;

    public static TheoryData<string, string[]> RulesAndState => new()
    {
        { "sgd", [] },
        { "sgd_momentum", ["velocity"] },
        { "rmsprop", ["cache"] },
        { "adam", ["m", "v"] },
    };

    [Theory]
    [MemberData(nameof(RulesAndState))]
    public void StateNames_AreTheSeedsNames(string rule, string[] names) =>
        Assert.Equal(names, State(UpdateRules.Create<double>(rule)).StateNames);

    [Theory]
    [MemberData(nameof(RulesAndState))]
    public void StepCount_CountsSteps_AndStateHasParameterLength(string rule, string[] names)
    {
        var state = State(UpdateRules.Create<double>(rule));
        Assert.Equal(-1, state.StateLength);
        Assert.All(names, name => Assert.True(state.State(name).IsEmpty));

        double[] w = Values(1), dw = Values(2);
        for (int i = 0; i < 3; i++)
            ((IUpdateRule<double>)state).Step(w, dw);

        Assert.Equal(3, state.StepCount);
        Assert.Equal(Length, state.StateLength);
        Assert.All(names, name => Assert.Equal(Length, state.State(name).Length));
    }

    [Theory]
    [MemberData(nameof(RulesAndState))]
    public void ResetStateAndCopy_ContinuesBitIdentically(string rule, string[] names)
    {
        IUpdateRule<double> original = UpdateRules.Create<double>(rule);
        double[] w = Values(1);
        for (int i = 0; i < 3; i++)
            original.Step(w, Values(10 + i));

        IUpdateRule<double> restored = UpdateRules.Create<double>(rule);
        State(restored).ResetState(Length, State(original).StepCount);
        foreach (string name in names)
            State(original).State(name).CopyTo(State(restored).State(name));
        double[] wRestored = (double[])w.Clone();
        for (int i = 0; i < 2; i++)
        {
            original.Step(w, Values(20 + i));
            restored.Step(wRestored, Values(20 + i));
        }

        Assert.Equal(w, wRestored);
    }

    [Fact]
    public void State_UnknownName_ThrowsNamingTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => State(UpdateRules.Create<double>("adam")).State("velocity"));
        Assert.Contains("velocity", error.Message);
        Assert.Contains("[m, v]", error.Message);
    }

    private static IUpdateRuleState<double> State(IUpdateRule<double> rule) => (IUpdateRuleState<double>)rule;

    private static double[] Values(int seed) => Tensor<double>.RandN([Length], seed).Span.ToArray();
}
