using Nnk;

namespace Nnk.Tests;

/// <summary>Theory data: every backend, so each kernel test runs on native and managed alike.</summary>
public static class BackendData
{
    public static TheoryData<Backend> All => new() { Backend.Native, Backend.Managed, Backend.ManagedNaive };

    /// <summary>max |a - b| / max |b|: a scale-aware comparison for outputs that contain near-zero values.</summary>
    public static double MaxAbsErrorRelativeToScale<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0, worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            Assert.False(double.IsNaN(a), $"NaN at element {i}");
            scale = Math.Max(scale, Math.Abs(e));
            worst = Math.Max(worst, Math.Abs(a - e));
        }
        return worst / Math.Max(scale, 1e-30);
    }
}
