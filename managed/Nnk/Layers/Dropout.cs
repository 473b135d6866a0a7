using System.Numerics;
using System.Numerics.Tensors;

namespace Nnk;

/// <summary>
/// The seeds' <c>dropout_param</c>: mode, keep probability and an optional seed. The seed makes the
/// mask reproducible, for gradient checks; leave it null in training for a fresh mask every call.
/// </summary>
public sealed class DropoutParam
{
    private double _p = 0.5;

    /// <summary>Train (units dropped, survivors scaled by 1/P) or test (identity).</summary>
    public NormMode Mode { get; set; } = NormMode.Train;

    /// <summary>Probability of keeping each unit, in (0, 1], 0.5 by default (the seeds' <c>p</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside (0, 1].</exception>
    public double P
    {
        get => _p;
        set
        {
            if (!(value > 0 && value <= 1))
                throw new ArgumentOutOfRangeException(nameof(value), value, "The keep probability P must lie in (0, 1].");
            _p = value;
        }
    }

    /// <summary>Seed of the mask's generator; null draws a fresh seed every call.</summary>
    public int? Seed { get; set; }
}

/// <summary>What <see cref="Dropout.Backward{T}"/> needs: the parameters and, in training, the mask.</summary>
public sealed class DropoutCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal DropoutCache(NormMode mode, double p, Tensor<T>? mask)
    {
        Mode = mode;
        P = p;
        Mask = mask;
    }

    /// <summary>The mode of the forward pass.</summary>
    public NormMode Mode { get; }
    /// <summary>The keep probability of the forward pass.</summary>
    public double P { get; }
    /// <summary>Training: 1/P where a unit was kept and 0 where dropped, shaped like x. Test: null.</summary>
    public Tensor<T>? Mask { get; }
}

/// <summary>
/// Inverted dropout as the seeds' <c>dropout_forward</c> / <c>dropout_backward</c>: in training each
/// unit is kept with probability P and scaled by 1/P, so the expected output equals the input and
/// test mode is the identity. Elementwise and cheap, so it runs in managed code on every backend.
/// </summary>
public static class Dropout
{
    /// <summary>Forward pass over x of any shape; returns out (a new tensor like x) and the cache.</summary>
    /// <param name="x">Input, any shape.</param>
    /// <param name="dropoutParam">Mode, keep probability and seed.</param>
    public static (Tensor<T> Out, DropoutCache<T> Cache) Forward<T>(Tensor<T> x, DropoutParam dropoutParam)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dropoutParam);
        double p = dropoutParam.P;
        if (dropoutParam.Mode != NormMode.Train)
            return (x.Clone(), new DropoutCache<T>(dropoutParam.Mode, p, null));
        Random random = dropoutParam.Seed is int seed ? new Random(seed) : new Random();
        var mask = new Tensor<T>(x.Shape);
        FillMask(mask.Span, p, random);
        var y = new Tensor<T>(x.Shape);
        TensorPrimitives.Multiply(x.Span, mask.Span, y.Span);
        return (y, new DropoutCache<T>(NormMode.Train, p, mask));
    }

    /// <summary>Draws an inverted-dropout mask: 1/p where random keeps a unit (probability p), else 0.</summary>
    internal static void FillMask<T>(Span<T> mask, double p, Random random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.CreateChecked(1.0 / p);
        for (int i = 0; i < mask.Length; i++)
            mask[i] = random.NextDouble() < p ? scale : T.Zero;
    }

    /// <summary>Backward pass: dout times the forward mask in training, dout itself (copied) in test.</summary>
    /// <param name="dout">Upstream gradient, shaped like x.</param>
    /// <param name="cache">The cache the forward pass returned.</param>
    /// <exception cref="ArgumentException">dout does not have x's shape.</exception>
    public static Tensor<T> Backward<T>(Tensor<T> dout, DropoutCache<T> cache) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dout);
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.Mask is null)
            return dout.Clone();
        if (dout.Shape != cache.Mask.Shape)
            throw new ArgumentException(
                $"dout must have the forward output's shape {cache.Mask.Shape}, but its shape is {dout.Shape}.", nameof(dout));
        var dx = new Tensor<T>(dout.Shape);
        TensorPrimitives.Multiply(dout.Span, cache.Mask.Span, dx.Span);
        return dx;
    }
}
