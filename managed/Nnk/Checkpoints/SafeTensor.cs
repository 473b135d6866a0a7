using System.Collections.ObjectModel;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Nnk;

/// <summary>
/// One tensor of a safetensors file: element type, shape and the elements as raw little-endian
/// bytes in row-major order. Immutable: it owns a copy of its bytes. The shape may be empty (a
/// scalar, one element) and may hold zeros (no elements), as the format allows.
/// </summary>
public sealed class SafeTensor
{
    private readonly byte[] _data;

    /// <summary>A tensor from raw bytes, which are copied.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">Dimensions, outermost first, each at least 0; empty for a scalar.</param>
    /// <param name="data">The elements, little-endian, row-major: element count times the dtype's size bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException">A dimension is negative, or the byte count is not what the shape and dtype need.</exception>
    public SafeTensor(SafeTensorsDType dtype, ReadOnlySpan<int> shape, ReadOnlySpan<byte> data)
        : this(dtype, shape.ToArray(), data.ToArray())
    {
    }

    // Takes ownership of both arrays.
    private SafeTensor(SafeTensorsDType dtype, int[] shape, byte[] data)
    {
        string name = SafeTensorsDTypes.Name(dtype);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Every dimension must be at least 0, but the shape is {Format(shape)}.", nameof(shape));
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException($"The shape {Format(shape)} has more elements than an array can hold.", nameof(shape));
        }
        long bytes = count * SafeTensorsDTypes.Size(dtype);
        if (data.Length != bytes)
            throw new ArgumentException(
                $"A {name} tensor of shape {Format(shape)} needs {bytes} bytes, but {data.Length} were given.", nameof(data));
        DType = dtype;
        Shape = Array.AsReadOnly(shape);
        ElementCount = (int)count;
        _data = data;
    }

    /// <summary>A tensor that takes ownership of <paramref name="shape"/> and <paramref name="data"/>, with the checks of the public constructor.</summary>
    internal static SafeTensor Wrap(SafeTensorsDType dtype, int[] shape, byte[] data) => new(dtype, shape, data);

    /// <summary>Element type.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public ReadOnlyCollection<int> Shape { get; }

    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public int ElementCount { get; }

    /// <summary>The elements as raw little-endian bytes, row-major (no copy).</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>A tensor holding a copy of <paramref name="values"/>.</summary>
    /// <typeparam name="TElement"><see cref="float"/>, <see cref="double"/>, <see cref="long"/> or <see cref="ulong"/>.</typeparam>
    /// <param name="values">The elements in row-major order.</param>
    /// <param name="shape">Dimensions whose product is the number of values; empty for a scalar.</param>
    /// <exception cref="ArgumentException">The shape does not hold exactly <paramref name="values"/>.Length elements.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="TElement"/> is not one of the four supported types.</exception>
    public static SafeTensor From<TElement>(ReadOnlySpan<TElement> values, ReadOnlySpan<int> shape) where TElement : unmanaged
    {
        SafeTensorsDType dtype = SafeTensorsDTypes.Of<TElement>();
        SafeTensorsDTypes.RequireLittleEndian();
        return Wrap(dtype, shape.ToArray(), MemoryMarshal.AsBytes(values).ToArray());
    }

    /// <summary>A one-dimensional tensor holding a copy of <paramref name="values"/>.</summary>
    /// <typeparam name="TElement"><see cref="float"/>, <see cref="double"/>, <see cref="long"/> or <see cref="ulong"/>.</typeparam>
    /// <exception cref="NotSupportedException"><typeparamref name="TElement"/> is not one of the four supported types.</exception>
    public static SafeTensor From<TElement>(ReadOnlySpan<TElement> values) where TElement : unmanaged =>
        From(values, [values.Length]);

    /// <summary>A scalar (shape empty) holding <paramref name="value"/>.</summary>
    /// <typeparam name="TElement"><see cref="float"/>, <see cref="double"/>, <see cref="long"/> or <see cref="ulong"/>.</typeparam>
    /// <exception cref="NotSupportedException"><typeparamref name="TElement"/> is not one of the four supported types.</exception>
    public static SafeTensor Scalar<TElement>(TElement value) where TElement : unmanaged =>
        From(new ReadOnlySpan<TElement>(in value), []);

    /// <summary>A copy of <paramref name="tensor"/>: its shape, and F32 or F64 elements.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="tensor"/> is null.</exception>
    public static SafeTensor From<T>(Tensor<T> tensor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return From<T>(tensor.Span, tensor.Shape);
    }

    /// <summary>The elements as a new array.</summary>
    /// <typeparam name="TElement">The CLR type of <see cref="DType"/>: float for F32, double for F64, long for I64, ulong for U64.</typeparam>
    /// <exception cref="InvalidOperationException"><typeparamref name="TElement"/> is not the type of <see cref="DType"/>.</exception>
    public TElement[] ToArray<TElement>() where TElement : unmanaged => Elements<TElement>().ToArray();

    /// <summary>Copies the elements into <paramref name="destination"/>, which must hold exactly <see cref="ElementCount"/>.</summary>
    /// <typeparam name="TElement">The CLR type of <see cref="DType"/>.</typeparam>
    /// <exception cref="InvalidOperationException"><typeparamref name="TElement"/> is not the type of <see cref="DType"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has another length.</exception>
    public void CopyTo<TElement>(Span<TElement> destination) where TElement : unmanaged
    {
        ReadOnlySpan<TElement> elements = Elements<TElement>();
        if (destination.Length != elements.Length)
            throw new ArgumentException(
                $"The tensor holds {elements.Length} elements but the destination has room for {destination.Length}.", nameof(destination));
        elements.CopyTo(destination);
    }

    /// <summary>A new <see cref="Tensor{T}"/> with this shape and a copy of the elements.</summary>
    /// <typeparam name="T">float for an F32 tensor, double for an F64 one.</typeparam>
    /// <exception cref="InvalidOperationException">The dtype is not <typeparamref name="T"/>'s, or the shape is empty or holds
    /// a zero, which <see cref="Tensor{T}"/> cannot represent.</exception>
    public Tensor<T> ToTensor<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> elements = Elements<T>();
        if (Shape.Count == 0 || Shape.Contains(0))
            throw new InvalidOperationException(
                $"A Tensor<{typeof(T).Name}> needs at least one dimension and no zero ones, but this tensor's shape is {Format(Shape)}.");
        return Tensor<T>.FromArray(elements, Shape.ToArray());
    }

    /// <summary>Data type and shape, for example <c>F32 (20, 1, 3, 3)</c>.</summary>
    public override string ToString() => $"{SafeTensorsDTypes.Name(DType)} {Format(Shape)}";

    /// <summary>A shape as the safetensors header writes it, for example <c>[20, 1, 3, 3]</c>.</summary>
    internal static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    private ReadOnlySpan<TElement> Elements<TElement>() where TElement : unmanaged
    {
        SafeTensorsDType wanted = SafeTensorsDTypes.Of<TElement>();
        if (wanted != DType)
            throw new InvalidOperationException(
                $"The tensor holds {SafeTensorsDTypes.Name(DType)} elements; they cannot be read as {typeof(TElement).Name} " +
                $"({SafeTensorsDTypes.Name(wanted)}).");
        SafeTensorsDTypes.RequireLittleEndian();
        return MemoryMarshal.Cast<byte, TElement>(_data);
    }
}
