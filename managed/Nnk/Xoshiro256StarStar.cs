using System.Numerics;

namespace Nnk;

/// <summary>
/// The xoshiro256** generator (Blackman and Vigna), seeded through SplitMix64 as its authors
/// recommend. Unlike <see cref="Random"/>, its whole state is four words that can be read and
/// put back, so a checkpoint can store it and a resumed run draws the same numbers as one that
/// never stopped. Not thread-safe.
/// </summary>
internal sealed class Xoshiro256StarStar
{
    /// <summary>Words of state.</summary>
    public const int StateLength = 4;

    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator whose state is four SplitMix64 outputs from <paramref name="seed"/>.</summary>
    public Xoshiro256StarStar(ulong seed)
    {
        _s0 = SplitMix64(ref seed);
        _s1 = SplitMix64(ref seed);
        _s2 = SplitMix64(ref seed);
        _s3 = SplitMix64(ref seed);
    }

    /// <summary>The four state words; a generator given them continues exactly as this one.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Replaces the state, for example by one that <see cref="GetState"/> returned.</summary>
    /// <exception cref="ArgumentException">Not four words, or all four zero (a state the generator never leaves).</exception>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != StateLength)
            throw new ArgumentException(
                $"xoshiro256** has {StateLength} words of state, but {state.Length} were given.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("The all-zero state is not a valid xoshiro256** state.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniformly distributed integer in [0, <paramref name="maxExclusive"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is less than 1.</exception>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        // Lemire's multiply-and-reject: the high half of x * n is uniform once the few low
        // halves below 2^32 mod n are rejected, with no division on the common path.
        uint n = (uint)maxExclusive;
        ulong product = (ulong)(uint)(NextUInt64() >> 32) * n;
        if ((uint)product < n)
        {
            uint threshold = (0u - n) % n;
            while ((uint)product < threshold)
                product = (ulong)(uint)(NextUInt64() >> 32) * n;
        }
        return (int)(product >> 32);
    }

    /// <summary>One step of SplitMix64: advances <paramref name="state"/> and returns its mixed output.</summary>
    internal static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
