namespace Nnk;

/// <summary>Length checks shared by the kernel implementations, so each throws the same message.</summary>
internal static class KernelArguments
{
    public static void RequireLength<T>(ReadOnlySpan<T> span, int expected, string name, string shape)
    {
        if (span.Length != expected)
            throw new ArgumentException(
                $"{name} has {span.Length} elements but {shape} needs {expected}.", name);
    }

    /// <summary>An optional span is either empty (skipped) or exactly the expected length.</summary>
    public static bool OptionalLength<T>(ReadOnlySpan<T> span, int expected, string name, string shape)
    {
        if (span.IsEmpty)
            return false;
        RequireLength(span, expected, name, shape);
        return true;
    }

    public static void RequireWorkspace<T>(ReadOnlySpan<T> workspace, int needed)
    {
        if (workspace.Length < needed)
            throw new ArgumentException(
                $"workspace has {workspace.Length} elements but at least {needed} are needed.", nameof(workspace));
    }

    public static void Conv2d<T>(in ConvGeometry g, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> y)
    {
        g.Validate();
        RequireLength(x, g.InputLength, "x", $"x ({g.N}, {g.C}, {g.H}, {g.W})");
        RequireLength(w, g.WeightLength, "w", $"w ({g.F}, {g.C}, {g.KH}, {g.KW})");
        RequireLength(y, g.OutputLength, "y", $"y ({g.N}, {g.F}, {g.OutH}, {g.OutW})");
    }

    public static void Pool2d<T>(in PoolGeometry g, ReadOnlySpan<T> input, ReadOnlySpan<T> output, string inputName, string outputName)
    {
        g.Validate();
        RequireLength(input, g.InputLength, inputName, $"{inputName} ({g.N}, {g.C}, {g.H}, {g.W})");
        RequireLength(output, g.OutputLength, outputName, $"{outputName} ({g.N}, {g.C}, {g.OutH}, {g.OutW})");
    }

    public static void PoolIndices(in PoolGeometry g, ReadOnlySpan<int> argmax) =>
        RequireLength(argmax, g.OutputLength, "argmax", $"argmax ({g.N}, {g.C}, {g.OutH}, {g.OutW})");
}
