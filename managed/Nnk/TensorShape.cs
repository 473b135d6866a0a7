using System.Collections;

namespace Nnk;

/// <summary>
/// The dimensions of a <see cref="Tensor{T}"/>, outermost first (NCHW for images). Immutable;
/// converts implicitly to <see cref="ReadOnlySpan{T}"/> so it can be passed wherever a shape is
/// expected, for example <c>Tensor&lt;float&gt;.Ones(y.Shape)</c>.
/// </summary>
public readonly struct TensorShape : IReadOnlyList<int>, IEquatable<TensorShape>
{
    private readonly int[]? _dims;

    /// <summary>Creates a shape from its dimensions; each must be at least 1.</summary>
    /// <exception cref="ArgumentException">A dimension is less than 1, there are none, or the
    /// element count exceeds <see cref="Array.MaxLength"/>.</exception>
    public TensorShape(ReadOnlySpan<int> dims)
    {
        if (dims.Length == 0)
            throw new ArgumentException("A shape needs at least one dimension.", nameof(dims));
        long count = 1;
        foreach (int d in dims)
        {
            if (d < 1)
                throw new ArgumentException(
                    $"Every dimension must be at least 1, but the shape is {Format(dims)}.", nameof(dims));
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException(
                    $"The shape {Format(dims)} has more elements than an array can hold ({Array.MaxLength}).",
                    nameof(dims));
        }
        _dims = dims.ToArray();
        ElementCount = (int)count;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>Product of the dimensions: the number of elements a tensor of this shape holds.</summary>
    public int ElementCount { get; }

    /// <summary>Size of dimension <paramref name="index"/>.</summary>
    public int this[int index] => Dims[index];

    /// <inheritdoc/>
    public int Count => Rank;

    /// <summary>The dimensions as a span (no copy).</summary>
    public ReadOnlySpan<int> AsSpan() => Dims;

    private int[] Dims => _dims ?? [];

    /// <summary>The dimensions as a span (no copy).</summary>
    public static implicit operator ReadOnlySpan<int>(TensorShape shape) => shape.Dims;

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(TensorShape other) => Dims.AsSpan().SequenceEqual(other.Dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int d in Dims)
            hash.Add(d);
        return hash.ToHashCode();
    }

    /// <summary>True when both shapes have the same dimensions.</summary>
    public static bool operator ==(TensorShape left, TensorShape right) => left.Equals(right);

    /// <summary>True when the shapes differ.</summary>
    public static bool operator !=(TensorShape left, TensorShape right) => !left.Equals(right);

    /// <summary>The shape as the seeds print it, for example <c>(2, 3, 4, 4)</c>.</summary>
    public override string ToString() => Format(Dims);

    internal static string Format(ReadOnlySpan<int> dims) =>
        dims.Length == 1 ? $"({dims[0]},)" : "(" + string.Join(", ", dims.ToArray()) + ")";
}
