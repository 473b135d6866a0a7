using System.Numerics;

namespace Nnk;

/// <summary>
/// Seeded standard-normal generator (Box-Muller over <see cref="Random"/>), so weights and test
/// data are reproducible from a seed.
/// </summary>
internal sealed class NormalRandom(int seed)
{
    private readonly Random _uniform = new(seed);
    private double _spare;
    private bool _hasSpare;

    public double Next()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        // 1 - NextDouble() lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - _uniform.NextDouble();
        double u2 = _uniform.NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = radius * Math.Sin(2.0 * Math.PI * u2);
        _hasSpare = true;
        return radius * Math.Cos(2.0 * Math.PI * u2);
    }

    public void Fill<T>(Span<T> destination) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = T.CreateChecked(Next());
    }
}
