namespace Nnk.Interop;

public static unsafe partial class NnkNative
{
    /// <summary>Throws unless a buffer of <paramref name="actual"/> elements has the product of <paramref name="dims"/>; <paramref name="optional"/> also accepts 0.</summary>
    private static void RequireLength(int actual, string paramName, ReadOnlySpan<long> dims, string shape, bool optional = false)
    {
        long expected = 1;
        try
        {
            foreach (long dim in dims)
            {
                expected = checked(expected * dim);
            }
        }
        catch (OverflowException)
        {
            throw new ArgumentOutOfRangeException(paramName, $"The element count of {shape} does not fit in 64 bits.");
        }
        if (actual != expected && !(optional && actual == 0))
        {
            throw new ArgumentException(
                $"{paramName} has {actual} elements but the descriptor {shape} needs {expected}{(optional ? " (or 0 to skip it)" : "")}.",
                paramName);
        }
    }
}
