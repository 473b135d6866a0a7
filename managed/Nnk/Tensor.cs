using System.Numerics;
using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>
/// A dense, row-major array of <typeparamref name="T"/> (float or double) with a shape: the
/// value every nnk operation takes and returns. Images are NCHW. The tensor owns its buffer;
/// <see cref="Span"/> gives direct access without copying.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // The elements are _data[_offset .. _offset + Length): a large tensor this class allocates
    // starts on a 64-byte boundary (AlignedMemory); a small one, or one wrapping a caller's
    // array, at 0.
    private readonly T[] _data;
    private readonly int _offset;

    static Tensor()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Tensor<{typeof(T).Name}> is not supported: use float or double.");
    }

    /// <summary>
    /// Creates a zero-filled tensor of the given shape. From <see cref="AlignedBytes"/> bytes on,
    /// its first element sits on a 64-byte boundary (see <see cref="AlignedMemory"/>).
    /// </summary>
    public Tensor(ReadOnlySpan<int> shape)
    {
        Shape = new TensorShape(shape);
        if ((long)Length * Unsafe.SizeOf<T>() >= AlignedBytes)
        {
            ArraySegment<T> storage = AlignedMemory.AllocateSegment<T>(Length);
            _data = storage.Array!;
            _offset = storage.Offset;
        }
        else
        {
            _data = new T[Length];
        }
    }

    /// <summary>
    /// The size from which a tensor's buffer is 64-byte aligned: the large object heap's
    /// threshold, above which .NET keeps arrays in place and collects them only with the oldest
    /// generation anyway, so an aligned (pinned) array costs nothing more. Smaller tensors take
    /// ordinary arrays, which the garbage collector may move.
    /// </summary>
    public const int AlignedBytes = 85_000;

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">The array length is not the shape's element count.</exception>
    public Tensor(T[] data, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        Shape = new TensorShape(shape);
        if (data.Length != Shape.ElementCount)
            throw new ArgumentException(
                $"The data has {data.Length} elements but the shape {Shape} needs {Shape.ElementCount}.",
                nameof(data));
        _data = data;
    }

    private Tensor(T[] data, int offset, TensorShape shape)
    {
        _data = data;
        _offset = offset;
        Shape = shape;
    }

    /// <summary>The dimensions, outermost first.</summary>
    public TensorShape Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Shape.ElementCount;

    /// <summary>The elements in row-major order (no copy).</summary>
    public Span<T> Span => _data.AsSpan(_offset, Length);

    /// <summary>The elements in row-major order, as memory that can be stored (no copy).</summary>
    public Memory<T> Memory => _data.AsMemory(_offset, Length);

    /// <summary>Element at a full multi-dimensional index.</summary>
    public ref T this[params ReadOnlySpan<int> index] => ref _data[_offset + FlatIndex(index)];

    /// <summary>A zero-filled tensor.</summary>
    public static Tensor<T> Zeros(ReadOnlySpan<int> shape) => new(shape);

    /// <summary>A tensor filled with one.</summary>
    public static Tensor<T> Ones(ReadOnlySpan<int> shape) => Full(shape, T.One);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor<T> Full(ReadOnlySpan<int> shape, T value)
    {
        var t = new Tensor<T>(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor<T> FromArray(ReadOnlySpan<T> values, ReadOnlySpan<int> shape)
    {
        var t = new Tensor<T>(shape);
        if (values.Length != t.Length)
            throw new ArgumentException(
                $"{values.Length} values were given but the shape {t.Shape} needs {t.Length}.", nameof(values));
        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>
    /// Standard normal samples (mean 0, variance 1) from a generator seeded with
    /// <paramref name="seed"/>: the same seed gives the same tensor on every machine.
    /// </summary>
    public static Tensor<T> RandN(ReadOnlySpan<int> shape, int seed)
    {
        var t = new Tensor<T>(shape);
        new NormalRandom(seed).Fill(t.Span);
        return t;
    }

    /// <summary>
    /// <paramref name="start"/> to <paramref name="stop"/> inclusive in evenly spaced steps laid
    /// out in row-major order, as numpy's <c>np.linspace(start, stop, num=prod(shape)).reshape(shape)</c>.
    /// </summary>
    public static Tensor<T> Linspace(double start, double stop, ReadOnlySpan<int> shape)
    {
        var t = new Tensor<T>(shape);
        Span<T> s = t.Span;
        int n = s.Length;
        double step = n > 1 ? (stop - start) / (n - 1) : 0.0;
        for (int i = 0; i < n; i++)
            s[i] = T.CreateChecked(start + i * step);
        if (n > 1)
            s[n - 1] = T.CreateChecked(stop);
        return t;
    }

    /// <summary>A deep copy.</summary>
    public Tensor<T> Clone()
    {
        var copy = new Tensor<T>(Shape.AsSpan());
        Span.CopyTo(copy.Span);
        return copy;
    }

    /// <summary>The same elements seen with another shape of equal element count (shares the buffer).</summary>
    public Tensor<T> Reshape(ReadOnlySpan<int> shape)
    {
        var reshaped = new TensorShape(shape);
        if (reshaped.ElementCount != Length)
            throw new ArgumentException(
                $"The tensor has {Length} elements but the shape {reshaped} needs {reshaped.ElementCount}.",
                nameof(shape));
        return new Tensor<T>(_data, _offset, reshaped);
    }

    /// <summary>The elements converted to <typeparamref name="TOther"/>.</summary>
    public Tensor<TOther> Cast<TOther>() where TOther : unmanaged, IFloatingPointIeee754<TOther>
    {
        var result = new Tensor<TOther>(Shape);
        Span<TOther> dst = result.Span;
        ReadOnlySpan<T> src = Span;
        for (int i = 0; i < src.Length; i++)
            dst[i] = TOther.CreateChecked(src[i]);
        return result;
    }

    /// <summary>Shape and element type, for example <c>Tensor&lt;Single&gt;(2, 4, 8, 8)</c>.</summary>
    public override string ToString() => $"Tensor<{typeof(T).Name}>{Shape}";

    private int FlatIndex(ReadOnlySpan<int> index)
    {
        if (index.Length != Shape.Rank)
            throw new ArgumentException(
                $"The index has {index.Length} components but the tensor {Shape} has rank {Shape.Rank}.",
                nameof(index));
        int flat = 0;
        for (int d = 0; d < index.Length; d++)
        {
            if ((uint)index[d] >= (uint)Shape[d])
                throw new IndexOutOfRangeException(
                    $"Index {index[d]} is outside dimension {d} of size {Shape[d]} in a tensor of shape {Shape}.");
            flat = flat * Shape[d] + index[d];
        }
        return flat;
    }
}
