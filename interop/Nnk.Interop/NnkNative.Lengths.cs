namespace Nnk.Interop;

internal static unsafe partial class NnkNative
{
    /// <summary>
    /// Throws unless a buffer of <paramref name="actual"/> elements has the product of
    /// <paramref name="dims"/> (named by <paramref name="names"/> in the message);
    /// <paramref name="optional"/> also accepts 0. The message is built only on failure, so a
    /// passing check allocates nothing.
    /// </summary>
    private static void RequireLength(int actual, string paramName, ReadOnlySpan<long> dims, ReadOnlySpan<string> names,
        bool optional = false)
    {
        long expected = 1;
        bool overflow = false;
        foreach (long dim in dims)
        {
            Int128 product = (Int128)expected * dim;
            overflow |= product > long.MaxValue || product < long.MinValue;
            expected = unchecked((long)product);
        }
        if (overflow)
        {
            throw new ArgumentOutOfRangeException(paramName, $"The element count of {Shape(dims, names)} does not fit in 64 bits.");
        }
        if (actual != expected && !(optional && actual == 0))
        {
            throw new ArgumentException(
                $"{paramName} has {actual} elements but the descriptor {Shape(dims, names)} needs {expected}{(optional ? " (or 0 to skip it)" : "")}.",
                paramName);
        }
    }

    private static string Shape(ReadOnlySpan<long> dims, ReadOnlySpan<string> names)
    {
        var parts = new string[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            parts[i] = $"{names[i]}={dims[i]}";
        }
        return "(" + string.Join(", ", parts) + ")";
    }
}
