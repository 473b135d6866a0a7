using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// The Solver's generator against published reference outputs, its bounded draws, and the
/// property checkpoints rely on: a generator given another's state continues its sequence.
/// </summary>
public class Xoshiro256StarStarTests
{
    // The SplitMix64 outputs for seed 1234567 that the generator's authors' reference code prints.
    [Fact]
    public void SplitMix64_Seed1234567_GivesReferenceOutputs()
    {
        ulong state = 1234567;
        ulong[] expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
        foreach (ulong value in expected)
            Assert.Equal(value, Xoshiro256StarStar.SplitMix64(ref state));
    }

    // The reference xoshiro256** from state (1, 2, 3, 4): the first output is rotl(2*5, 7)*9 = 11520.
    [Fact]
    public void NextUInt64_FromState1234_GivesReferenceOutputs()
    {
        var random = new Xoshiro256StarStar(0);
        random.SetState([1, 2, 3, 4]);
        ulong[] expected = [11520, 0, 1509978240, 1215971899390074240];
        foreach (ulong value in expected)
            Assert.Equal(value, random.NextUInt64());
    }

    [Fact]
    public void SetState_OfAnotherGenerator_ContinuesItsSequence()
    {
        var first = new Xoshiro256StarStar(42);
        for (int i = 0; i < 10; i++)
            first.Next(1000);
        var second = new Xoshiro256StarStar(7);
        second.SetState(first.GetState());

        for (int i = 0; i < 100; i++)
            Assert.Equal(first.Next(300), second.Next(300));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void Next_StaysBelowBound(int maxExclusive)
    {
        var random = new Xoshiro256StarStar(3);
        for (int i = 0; i < 1000; i++)
            Assert.InRange(random.Next(maxExclusive), 0, maxExclusive - 1);
    }

    // 60000 draws over 3 values: each count is within 5 standard deviations (about 115) of 20000.
    [Fact]
    public void Next_SmallBound_IsRoughlyUniform()
    {
        var random = new Xoshiro256StarStar(5);
        int[] counts = new int[3];
        for (int i = 0; i < 60000; i++)
            counts[random.Next(3)]++;
        Assert.All(counts, c => Assert.InRange(c, 20000 - 600, 20000 + 600));
    }

    [Fact]
    public void SetState_AllZero_Throws() =>
        Assert.Throws<ArgumentException>(() => new Xoshiro256StarStar(1).SetState([0, 0, 0, 0]));

    [Fact]
    public void SetState_WrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => new Xoshiro256StarStar(1).SetState([1, 2, 3]));
}
