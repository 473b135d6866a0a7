using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>Length checks shared by the kernel implementations, so each throws the same message.</summary>
internal static class KernelArguments
{
    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>; the shape text is built only then.</summary>
    public static void RequireLength(int actual, int expected, string name,
        [InterpolatedStringHandlerArgument(nameof(actual), nameof(expected))] LengthMessage shape)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} has {actual} elements but {shape.ToString()} needs {expected}.", name);
    }

    /// <summary>An optional buffer is either empty (skipped: false) or exactly the expected length (true).</summary>
    public static bool OptionalLength(int actual, int expected, string name,
        [InterpolatedStringHandlerArgument(nameof(actual), nameof(expected))] OptionalLengthMessage shape)
    {
        if (actual == 0)
            return false;
        if (actual != expected)
            throw new ArgumentException($"{name} has {actual} elements but {shape.ToString()} needs {expected}.", name);
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
        RequireLength(x.Length, g.InputLength, "x", $"x ({g.N}, {g.C}, {g.H}, {g.W})");
        RequireLength(w.Length, g.WeightLength, "w", $"w ({g.F}, {g.C}, {g.KH}, {g.KW})");
        RequireLength(y.Length, g.OutputLength, "y", $"y ({g.N}, {g.F}, {g.OutH}, {g.OutW})");
    }

    public static void Pool2d<T>(in PoolGeometry g, ReadOnlySpan<T> input, ReadOnlySpan<T> output, string inputName, string outputName)
    {
        g.Validate();
        RequireLength(input.Length, g.InputLength, inputName, $"{inputName} ({g.N}, {g.C}, {g.H}, {g.W})");
        RequireLength(output.Length, g.OutputLength, outputName, $"{outputName} ({g.N}, {g.C}, {g.OutH}, {g.OutW})");
    }

    public static void PoolIndices(in PoolGeometry g, ReadOnlySpan<int> argmax) =>
        RequireLength(argmax.Length, g.OutputLength, "argmax", $"argmax ({g.N}, {g.C}, {g.OutH}, {g.OutW})");
}
