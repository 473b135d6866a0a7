namespace Nnk;

/// <summary>Checks every model shares, so each gives the same message.</summary>
internal static class ModelArguments
{
    /// <summary>An L2 strength: non-negative and finite.</summary>
    public static double Reg(double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(nameof(value), value, "Reg must be non-negative and finite.");
        return value;
    }

    /// <summary>One label in [0, classes) per input of x.</summary>
    public static void Labels(int[] y, TensorShape xShape, int classes)
    {
        int n = xShape[0];
        if (y.Length != n)
            throw new ArgumentException($"y has {y.Length} labels but x {xShape} has {n} inputs.", nameof(y));
        for (int i = 0; i < n; i++)
        {
            if ((uint)y[i] >= (uint)classes)
                throw new ArgumentException($"y[{i}] = {y[i]} is outside [0, {classes}).", nameof(y));
        }
    }
}
